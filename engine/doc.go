// Package engine derives crossteam's domain figures from stored events.
//
// It is pure: Compute(dataset, config, asOf) reads no clock, no network and
// no globals, and ignores everything after asOf, so the live exporter
// (asOf = now, incrementally through State), backfill (many asOf instants)
// and tests (tables) all run the same code. The rules live in handoffs.go; this comment records every
// decision where DESIGN.md left room, and handoffs_test.go has a table test
// for each.
//
// # Ownership
//
//   - The owning team at an instant follows ownership.precedence (default
//     marker, then assignee; "author" can be added). Marker: the newest active
//     ownership marker of any kind — a GitHub team label, a Jira status mapped
//     to a team, the Jira team field, a Jira component. Adding a second team
//     label hands the item to that team even before the first label is
//     removed. Assignee: the most recently assigned assignee who is a member
//     of a team. Unknown actors and unmapped values belong to no team.
//   - Membership: an actor is a team's member when the configuration names
//     its stored id (GitHub login, Jira account id or Data Center user name),
//     a GitHub team expansion stored for it, or one of its stored identity
//     facts (model.Identity: a Data Center user key, checked first, then the
//     email the API exposed). Collectors store ids and facts, never teams,
//     so adding a member by email re-derives their history.
//   - All events of one instant are applied before ownership is decided, so a
//     label swap (unlabeled A and labeled B in the same second, in any order)
//     is one handoff A->B.
//   - Current values that no stored event changed (labels, assignees,
//     components, milestones on the item record; the "from" of the first
//     status or team-field change) are taken as present since creation: the
//     source's history horizon may have cut the events that set them.
//
// # Handoffs
//
//   - Ownership handoff: the owner changes from team A to team B, A != B.
//     A is the last team that owned the item, so A -> (no owner) -> B is a
//     handoff A->B at the instant B became owner. No handoff starts while the
//     item is closed (ownership is still tracked, so reopening and relabelling
//     starts from the right team). Reopening alone starts no handoff.
//   - Review handoff: a pull request whose author is in team A requests review
//     from team B (a GitHub team listed in B's github_teams, or a member of
//     B), A != B. A second request to B while one is open is the same handoff.
//     Authors in no team start no review handoffs.
//   - Pickup: the first event by a member of B at an instant after the
//     handoff started (the events that create a handoff never pick it up,
//     even when a member of B made them: moving work into your own queue is
//     not starting it). In Jira, the item being in an active (waiting: false)
//     status of B is also a pickup, including landing directly in one; a
//     status change by anyone counts.
//   - Done: an ownership handoff is done when ownership leaves B (to another
//     team, or to no team when B's marker/assignee is removed); any handoff is
//     done when the item closes or merges; a review handoff is done when a
//     member of B approves, or when the request to B is removed (withdrawn;
//     its cycle time is still observed). An activity by B in the same instant
//     as the done event picks up the handoff at that instant.
//   - Pickup time = pickup - start, observed when picked up. Cycle time =
//     done - start, observed when done. Both are also measured in the working
//     time of B's calendar (team calendar, else the top-level calendar, else
//     calendar time).
//   - Stalled: open, and the time since the later of the start and B's last
//     activity exceeds the pair's stall_after, measured on handoffs.stall_clock
//     (working time by default, which is calendar time for teams without a
//     calendar). Open handoffs are "waiting" until picked up and
//     "in_progress" after.
//   - Bounce: an ownership handoff B->A whose previous ownership handoff on
//     the item was A->B (within handoffs.bounce.window when set). It is
//     counted on the pair of the original handoff, A->B, so
//     bounces/handoffs of a pair is the share of its handoffs that came back.
//
// # Working agreements
//
//   - A pair's agreement is the most specific of agreements["from->to"],
//     ["from->*"], ["*->to"], ["*->*"] (config.AgreementOf); without the
//     agreements key every pair gets the default *->* (90% picked up
//     within 48 calendar hours over 28 days).
//   - PickupsWithin counts the pair's pickups whose pickup time is at most
//     the pickup target, measured on the objective's clock (working: the
//     receiving team's calendar, as PickupWorking; calendar: as Pickup). Its
//     denominator is the pickup histogram's count, so attainment over a
//     window is increase(within) / increase(count), exact, not a bucket
//     estimate. A target met exactly counts as within.
//   - CyclesWithin is the same for handoff cycle times against the cycle
//     target, counted only when the agreement has a cycle objective.
//   - Handoffs not yet picked up (done) count in neither numerator nor
//     denominator until they are; the stalled-handoff alert covers them.
//   - Only pairs with at least one handoff have figures, so agreements add
//     series per pair that ever had a handoff, not per pair of teams.
//
// # Flow time
//
//   - An item is blocked while it carries a GitHub label in
//     flow.blocked_labels or is in a Jira status in flow.blocked_statuses
//     (defaults: blocked, Blocked; case-insensitive) or in a team's own Jira
//     status marked blocked: true (the team keeps owning it); labels and statuses on
//     the item record that no event changed count from creation, like
//     every current value.
//   - A done handoff's cycle time splits into waiting (start to pickup, or
//     to done when never picked up), active (pickup to done) and blocked
//     (the blocked part of either, taken out of them), observed in
//     calendar time when the handoff is done. Waiting + active + blocked =
//     the cycle time, so flow efficiency over a window is the increase of
//     the active sum over the increase of the three sums.
//
// # Items, milestones and signals
//
//   - Item cycle time: creation to the last close, observed for items closed
//     at asOf, grouped by the number of teams that owned or acted on the item
//     (the author's team counts); items no team touched are left out.
//   - Milestone membership at asOf comes from milestoned/demilestoned events
//     (fix versions for Jira, and epics as model.JiraEpicPrefix+key values
//     shown under the epic's summary). The collector stores both; the engine
//     counts fix versions only with milestones.jira_fix_versions and epics
//     only with milestones.jira_epics, so flipping either needs no re-fetch.
//     Milestones group by title (per repository when
//     milestones.github_by_title is off; across sources with merge_sources).
//     A group is joint when at least min_teams teams owned or acted on its
//     items. It is completed when all its milestone records are closed; the
//     completion instant is the last close, the due date the earliest due
//     date; on_time is "true" when completed at or before the due date,
//     "false" after, "none" without a due date. Open joint milestones are
//     exported first (by due date), then those completed within
//     keep_completed, capped at max_exported; the completed counter counts
//     all of them.
//   - Signals: open items matching a signal (a watched GitHub label active at
//     asOf, or the collector's JQL tag), by owning team ("none" when no team
//     owns the item), with the age of the oldest; with
//     Options.KeepSignalItems also the open items themselves (the weekly
//     review lists what opened and closed between two instants).
//
// # Records: decisions, post-mortem actions, dependencies
//
// records.go; deriveRecords is per item and instant-free, evaluate runs at
// asOf over the derived records (integer unix seconds throughout).
//
//   - A record is an item matching a signal of kind decision or postmortem
//     at asOf (as for signals: a watched label active, or the JQL tag).
//   - Team of a record: its owning team at asOf while open; once decided or
//     closed, the team that owned it just before (closing often moves a Jira
//     item to a status no team maps). "none" when no team owned it.
//     Teams: every team that owned or acted on it (the author's counts).
//   - Decision: decided while closed, in one of decided_statuses, or
//     carrying one of decided_labels; Decided is the start of the current
//     decided span (reopening makes it open again). Its date is the revisit
//     date: Jira: jira_date_field (default duedate, from date_set events);
//     GitHub: the newest label "<date_label_prefix>YYYY-MM-DD" (default
//     revisit:), else the due date of its milestone in its repository. A
//     date is met during its day (UTC). State: open; revisit_due when
//     decided and asOf is after the revisit date; decided otherwise.
//   - Time to decide: created -> first decided instant, observed once under
//     the team of that instant, so the histogram never goes back when a
//     decision is reopened. Post-mortem action: done when closed; overdue
//     when open after its due date (same date rules, label prefix due:);
//     time to close: created -> first close.
//   - A date label or field value that does not parse is ignored (the
//     record is kept and counted) and counted in InvalidDates.
//   - Lists: decisions revisit due, open, or decided within keep_decided
//     (default 14d): revisit due first, then by the instant decided (or
//     opened while open), newest first, then signal, source, key; overdue
//     actions longest overdue first, then signal, source, key; each capped
//     per signal at max_exported.
//   - Dependency: a blocked_by_added event on item X naming item Y (same
//     source) opens a dependency X blocked by Y until blocked_by_removed, or
//     either item closes. A link added while either item is closed blocks
//     nothing. Only dependencies whose two items are owned by two different
//     teams count: at asOf while open, just before the end once resolved
//     (the time to resolve is then observed under that pair). The list: the
//     oldest open first, then source, blocked key, blocking key; capped at
//     dependencies.max_exported. An edge whose blocking item is not stored
//     (not synced yet, or in another shard) is left out.
//
// # Cut comments
//
// Jira Cloud's search embeds the oldest 20 comments of an issue and their
// total; the rest costs one request per issue. The collector asks
// CommentJudge.CutCommentsMatter (comments.go) whether the comments not
// embedded can change a figure, and fetches them only then; it stores the
// item's comment list as incomplete, and asks again when the
// configuration, the stored members or identity facts change, or the
// issue changes. What is known: every other event of the item, and that
// each missing comment was written at or after cut (the instant of the
// last embedded one), by an actor not known.
//
// A comment is used in exactly two ways (group in handoffs.go; nothing in
// records, milestones, signals, flow time or bounces reads its kind):
//
//   - its actor's team B, if any, picks up every handoff to B open at its
//     instant that is not picked up yet (those done in that instant too)
//     and is their last activity (the stall clock, Handoff.LastActivity),
//     at every later asOf;
//   - B joins the item's touched teams (owned or acted on), which the item
//     cycle time's teams label (teamsBucket: 1, 2, 3, 4+), the joint
//     milestones' per-team items and team count, and the records' teams
//     read.
//
// It changes no owner, no marker, no close state, no blocked span, and no
// handoff starts or ends because of it (the Jira active-status pickup is
// applied in the group that sets the status or starts the handoff). So the
// cut comments cannot matter, at any asOf, when no team has a member that
// a Jira actor can be (a jira id or an email; a plain-string member is
// both), or when all of these hold, with C those commenter teams:
//
//  1. every handoff to a team in C is done strictly before cut (one done
//     at cut can still be picked up at cut; one picked up before cut but
//     done later still has its last activity, and its stall at an instant
//     before done, moved);
//  2. either the teams touched by the events at or before cut include all
//     of C, or none of the touched-team readers applies: the item is not
//     closed at cut, now or by a close after cut, and has no close instant
//     on its record, unless 4 or more teams touched it by cut (the label
//     is 4+ either way); it is in no milestone at cut or now and gets none
//     after cut; and, when some signal is a decision or post-mortem
//     signal, no such signal names it (JQL) or watches a label it carries
//     or ever carried.
//
// Anything else fetches. The stored events then differ from a fetch of
// everything (so do crossteam_store_events and Snapshot.Events, which
// count them, and the latest stored instant), but no derived figure does;
// sim's TestDeferredCommentsChangeNoFigure holds the exposition
// byte-identical to a full fetch at several instants, and after a team
// mapping change to a full fetch under the new mapping.
//
// # Sharding
//
// With --shard=i/n each exporter holds the items of its repositories and
// projects only (package shard), and computes with Options.Sharded. Every
// item, with all its events, lives in one shard, so per-pair counters,
// histograms and open/stalled gauges, item cycle time, unmapped statuses
// and signal counts sum across shards; oldest-waiting and oldest-signal
// ages take the max; stalled items are the union (each shard caps its own
// list). Milestone groups are exported by every shard that has their items
// or records, whatever their team count and completion age: items and
// per-team items sum; a group's teams are those with a non-zero sum and it
// is joint at min_teams of them; its due date is the earliest; it is
// completed when every shard exporting it says so, at the latest of their
// completion instants. crossteam_joint_milestones_completed_total is then
// per shard and does not sum (a group spanning shards is counted by each);
// the boards count small wins from the milestone gauges instead.
//
// # Incremental computation
//
// A computation is split in two (state.go). Derive, per item and
// independent of the instant: replaying an item's events gives its done
// handoffs' observations (pickup, cycle and flow times, on both clocks,
// and whether they met the agreement), its open handoffs, its milestone
// values and touched teams, its signals and owner, its item cycle time and
// its unmapped status. Evaluate, per instant: idle times, stalls, the
// oldest waiting handoff and signal ages, from the open handoffs only.
//
// engine.State keeps every item's derived contribution and their sums.
// State.Update(item, events) replaces one item's contribution (subtract
// the old, add the new); State.Snapshot(asOf) evaluates. The syncer keeps
// one State, streams only the items a sync changed into it, and rebuilds
// it (streaming the store item by item) on start-up, on a configuration
// reload and when the stored team members or identity facts change, since
// those decide every item's teams. Milestone records are few and replaced
// on every recomputation (SetMilestones): milestone grouping, which
// depends on epic summaries, happens at evaluation.
//
// Sums are exact integers: counts, and histogram sums as whole seconds
// plus nanoseconds, so adding and removing contributions in any order gives
// the same figures; map iteration never shows (pairs, signals, milestones
// sorted; stalled handoffs in a total order, ties by kind, receiving team,
// sending team, start; signal items by source and key). Engine.Compute
// runs the same code with the derivation cut at asOf, and
// TestIncrementalMatchesScratch holds the incremental exposition
// byte-identical to it over random simulated histories, syncs and reloads.
//
// A State derives everything stored; a Snapshot before some stored instant
// (a source's clock ahead of ours) returns ErrBeforeHorizon, and the syncer
// then computes that snapshot from scratch (NewStateAsOf), so the figures
// stay a pure function of (stored events, configuration, asOf).
//
// # Performance
//
// One pass over an item's events, which the store returns grouped by item
// and ordered by time; per-item replay state is reused between items;
// working time is O(1 + holidays in range) per interval. A sync that
// touched k items costs k derivations and one evaluation over the open
// handoffs. See BenchmarkCompute, BenchmarkStateBuild and
// BenchmarkStateUpdate1pct, and syncer's BenchmarkRecompute.
package engine
