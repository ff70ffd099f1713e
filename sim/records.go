package sim

// Records in the simulated organisation (engine/records.go): per GitHub
// repository and per Jira project (planJiraRecords) one decision record,
// one post-mortem action and one cross-team dependency, planned with the
// initial history so their
// figures are known exactly (World.Records). Their labels (RecordLabels)
// are ones the random stories never use, so no other item is a record;
// each record item is owned by one team from its creation and only that
// team acts on it, so it adds no handoff to the ground truth.
//
// For repository k of R, with teams T = k mod n and U = (k+1) mod n:
//   - decision: opened Now-(20+5k)d by T; k mod 3 = 0: closed 2 days later
//     with a revisit label 10 days after opening (revisit due at Now);
//     1: closed 3 days later, revisit Now+30d (decided); 2: open;
//   - post-mortem action: opened Now-15d by U, due Now-5d; k even: open
//     (overdue), k odd: closed 4 days later;
//   - dependency: T's issue (opened Now-12d) is blocked from Now-10d by U's
//     issue in repository k+1 (opened Now-13d); k even: that issue closes
//     at Now-4d (resolved after 6 days), k odd: still open.

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	"github.com/crossteam/crossteam/model"
)

// Record signals and labels of the generated configuration.
const (
	DecisionSignal   = "adr"
	PostmortemSignal = "pm_action"
	DecisionLabel    = "adr"
	PostmortemLabel  = "pm-action"
	// DecisionsExported is the adr signal's max_exported: one fewer than
	// the demo lists at its start, so crossteam_records_unexported shows
	// something (as the stalled cap does for stalled handoffs).
	DecisionsExported = 2
	// InvalidRevisitLabel is on the open GitHub decisions: a date label
	// that does not parse (crossteam_record_dates_invalid).
	InvalidRevisitLabel = "revisit:after-the-launch"
	// MissingLinkType is configured in dependencies.jira_link_types but
	// absent from the simulated site (crossteam_jira_link_types_missing).
	MissingLinkType = "Depends"
)

// opBlockedBy: the GitHub item is blocked by value (an item key) from
// o.at; opJiraLink: the Jira issue is blocked by value (a "Blocks" link).
const (
	opBlockedBy opKind = 200 + iota
	opJiraLink
)

// recordPlan is one designed record.
type recordPlan struct {
	source   string
	kind     string // "decision", "postmortem", "dependency"
	it       *itemPlan
	team     int
	closed   int64 // decided / closed; 0 none
	date     int64 // revisit / due date, end of day; 0 none
	blocking *itemPlan
	bTeam    int
	added    int64
	invalid  bool // carries a date label that does not parse
}

func endOfDayUnix(t time.Time) int64 {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 23, 59, 59, 0, time.UTC).Unix()
}

// planRecords plans the record items (initial planning only).
func (g *gen) planRecords() {
	n, R := len(g.teams), len(g.repos)
	if n < 2 || R == 0 {
		return
	}
	now := g.p.Now
	newIssue := func(rp *repoPlan, team int, created time.Time, title string) (*itemPlan, *story) {
		it := &itemPlan{source: model.SourceGitHub, repo: rp, kind: model.KindIssue, title: title, created: created.Unix()}
		it.number = rp.nextNumber
		rp.nextNumber++
		it.key = rp.full + "#" + strconv.Itoa(it.number)
		s := &story{g: g, it: it, r: g.itemRand(9, rp.idx, it.number), first: len(g.pending), assigned: map[string]bool{}}
		return it, s
	}
	open := func(s *story, author string, labels ...string) {
		s.it.author = author
		s.last = s.it.created
		s.push(s.it.created, op{kind: opCreate, actor: author})
		for _, l := range labels {
			s.same(op{kind: opEvent, typ: fakegithub.EventLabeled, actor: author, value: l})
		}
	}
	for k, rp := range g.repos {
		T, U := k%n, (k+1)%n
		tm, um := g.teams[T].Members, g.teams[U].Members
		// Decision.
		created := now.Add(-time.Duration(20+5*k) * day)
		it, s := newIssue(rp, T, created, "Decision: "+titleObjects[k%len(titleObjects)]+" ownership")
		open(s, tm[0].Login, DecisionLabel, g.teams[T].Labels[0])
		rec := &recordPlan{source: model.SourceGitHub, kind: "decision", it: it, team: T}
		if k%3 == 2 {
			s.same(op{kind: opEvent, typ: fakegithub.EventLabeled, actor: tm[0].Login, value: InvalidRevisitLabel})
			rec.invalid = true
		}
		switch k % 3 {
		case 0, 1:
			after, revisit := 2*day, created.Add(10*day)
			if k%3 == 1 {
				after, revisit = 3*day, now.Add(30*day)
			}
			at := created.Add(after)
			label := "revisit:" + revisit.UTC().Format("2006-01-02")
			s.event(at, fakegithub.EventLabeled, tm[1%len(tm)].Login, label)
			s.same(op{kind: opEvent, typ: fakegithub.EventClosed, actor: tm[1%len(tm)].Login})
			rec.closed, rec.date = s.last, endOfDayUnix(revisit)
		}
		g.records = append(g.records, rec)

		// Post-mortem action.
		created = now.Add(-15 * day)
		due := now.Add(-5 * day)
		it, s = newIssue(rp, U, created, "Post-mortem: "+titleObjects[(k+3)%len(titleObjects)])
		open(s, um[0].Login, PostmortemLabel, g.teams[U].Labels[0], "due:"+due.UTC().Format("2006-01-02"))
		rec = &recordPlan{source: model.SourceGitHub, kind: "postmortem", it: it, team: U, date: endOfDayUnix(due)}
		if k%2 == 1 {
			rec.closed = s.event(created.Add(4*day), fakegithub.EventClosed, um[1%len(um)].Login, "")
		}
		g.records = append(g.records, rec)
	}
	// Dependencies, once every repository has its records numbered.
	for k, rp := range g.repos {
		T, U := k%n, (k+1)%n
		next := g.repos[(k+1)%R]
		blocked, bs := newIssue(rp, T, now.Add(-12*day), "Blocked: "+titleObjects[(k+5)%len(titleObjects)])
		open(bs, g.teams[T].Members[0].Login, g.teams[T].Labels[0])
		blocking, xs := newIssue(next, U, now.Add(-13*day), "Blocking: "+titleObjects[(k+7)%len(titleObjects)])
		open(xs, g.teams[U].Members[0].Login, g.teams[U].Labels[0])
		added := bs.emit(now.Add(-10*day), op{kind: opBlockedBy, value: blocking.key})
		rec := &recordPlan{source: model.SourceGitHub, kind: "dependency", it: blocked, team: T, blocking: blocking, bTeam: U, added: added}
		if k%2 == 0 {
			rec.closed = xs.event(now.Add(-4*day), fakegithub.EventClosed, g.teams[U].Members[0].Login, "")
		}
		g.records = append(g.records, rec)
		// Blocked and blocking items are linked by pointer for the op.
		g.blockers[blocking.key] = blocking
	}
	g.planJiraRecords()
}

// planJiraRecords: per Jira project j, with T = (j+2) mod n and U =
// (j+3) mod n: a decision opened Now-(18+4j)d in T's active status with a
// due date (the revisit date: 8 days after opening for j even, Now+20d
// for j odd), moved to Done 2 days later; a post-mortem action opened
// Now-14d in U's active status, due Now-6d, done 5 days later for j odd;
// and T's issue (opened Now-12d) blocked from Now-9d by U's (opened
// Now-13d), which is done at Now-3d for j even.
func (g *gen) planJiraRecords() {
	j := g.jira
	if j == nil {
		return
	}
	n, now := len(g.teams), g.p.Now
	newIssue := func(jp *jiraProject, created time.Time, title, reporter, status string, due time.Time, labels ...string) *story {
		it := &itemPlan{source: model.SourceJira, kind: model.KindJiraIssue, title: title, created: created.Unix(), project: jp}
		it.number = jp.nextNumber()
		it.key = jp.key + "-" + strconv.Itoa(it.number)
		it.author, it.jStatus0, it.jLabels0, it.jDue0 = reporter, status, labels, due
		s := &story{g: g, it: it, r: g.itemRand(10, jp.idx, it.number), first: len(g.pending), assigned: map[string]bool{}}
		s.last = it.created
		s.push(it.created, op{kind: opJiraCreate, actor: reporter})
		return s
	}
	day0 := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	for k, jp := range j.projects {
		T, U := (k+2)%n, (k+3)%n
		tAcc, uAcc := g.teams[T].Members[0].AccountID, g.teams[U].Members[0].AccountID
		_, tActive := jiraStatuses(g.teams[T].Name)
		_, uActive := jiraStatuses(g.teams[U].Name)

		created := now.Add(-time.Duration(18+4*k) * day)
		revisit := created.Add(8 * day)
		if k%2 == 1 {
			revisit = now.Add(20 * day)
		}
		s := newIssue(jp, created, "Decision: "+titleObjects[(k+9)%len(titleObjects)]+" API contract", tAcc, tActive, day0(revisit), DecisionLabel)
		closed := s.jiraOp(created.Add(2*day), opJiraTransition, tAcc, jiraDone)
		g.records = append(g.records, &recordPlan{source: model.SourceJira, kind: "decision", it: s.it, team: T, closed: closed, date: endOfDayUnix(revisit)})

		created = now.Add(-14 * day)
		due := now.Add(-6 * day)
		s = newIssue(jp, created, "Post-mortem: "+titleObjects[(k+11)%len(titleObjects)], uAcc, uActive, day0(due), PostmortemLabel)
		rec := &recordPlan{source: model.SourceJira, kind: "postmortem", it: s.it, team: U, date: endOfDayUnix(due)}
		if k%2 == 1 {
			rec.closed = s.jiraOp(created.Add(5*day), opJiraTransition, uAcc, jiraDone)
		}
		g.records = append(g.records, rec)

		xs := newIssue(jp, now.Add(-13*day), "Blocking: "+titleObjects[(k+13)%len(titleObjects)], uAcc, uActive, time.Time{})
		bs := newIssue(jp, now.Add(-12*day), "Blocked: "+titleObjects[(k+14)%len(titleObjects)], tAcc, tActive, time.Time{})
		g.blockers[xs.it.key] = xs.it
		added := bs.emit(now.Add(-9*day), op{kind: opJiraLink, actor: tAcc, value: xs.it.key})
		rec = &recordPlan{source: model.SourceJira, kind: "dependency", it: bs.it, team: T, blocking: xs.it, bTeam: U, added: added}
		if k%2 == 0 {
			rec.closed = xs.jiraOp(now.Add(-3*day), opJiraTransition, uAcc, jiraDone)
		}
		g.records = append(g.records, rec)
	}
}

// applyJiraLink applies an opJiraLink: a "Blocks" link, recorded by Jira
// as a Link item in both issues' changelogs; the collector stores the
// blocked issue's one.
func (g *gen) applyJiraLink(o *op, at time.Time, record func(model.Event)) error {
	it, b := o.it, g.blockers[o.value]
	site := g.jira.site
	if _, err := site.Link("Blocks", b.key, it.key, o.actor, at); err != nil {
		return err
	}
	hs := site.Histories(it.key)
	if len(hs) == 0 {
		return fmt.Errorf("link %s blocked by %s recorded no history", it.key, b.key)
	}
	for _, x := range []*itemPlan{it, b} {
		if o.at > x.updated {
			x.updated = o.at
		}
	}
	record(model.Event{Source: model.SourceJira, ID: hs[len(hs)-1].ID + "/link/+" + b.key, ItemKey: it.key, At: at,
		Actor: o.actor, Kind: model.EventBlockedByAdded, Value: b.key})
	return nil
}

// applyBlockedBy applies an opBlockedBy: the fake records the dependency
// and moves both issues' updated_at, the collector stores it at the
// blocked issue's updated_at (its last change: nothing follows it).
func (g *gen) applyBlockedBy(o *op, record func(model.Event)) error {
	it, b := o.it, g.blockers[o.value]
	if err := g.w.Org.AddBlockedBy(it.repo.full, it.number, b.repo.full, b.number, unix(o.at)); err != nil {
		return err
	}
	for _, x := range []*itemPlan{it, b} {
		if o.at > x.updated {
			x.updated = o.at
		}
	}
	record(model.Event{Source: model.SourceGitHub, ID: "dep:" + it.key + ":+" + b.key + "@" + strconv.FormatInt(o.at, 10),
		ItemKey: it.key, At: unix(o.at), Kind: model.EventBlockedByAdded, Value: b.key})
	return nil
}

// RecordTruth are the record figures the engine must derive at an
// instant, for the GitHub source and the record signals above.
type RecordTruth struct {
	// Decisions by team and state (open, decided, revisit_due).
	Decisions map[string]map[string]int
	// DecideSeconds: opened -> decided, by team.
	DecideSeconds map[string][]int64
	// ActionsOpen / ActionsOverdue by team; CloseSeconds by team.
	ActionsOpen, ActionsOverdue map[string]int
	CloseSeconds                map[string][]int64
	// Overdue: key -> seconds past the due date.
	Overdue map[string]int64
	// Dependencies by [blocked team, blocking team]: open, oldest open
	// age (s), resolved durations (s).
	DepsOpen     map[[2]string]int
	DepsOldest   map[[2]string]int64
	DepsResolved map[[2]string][]int64
	// OpenDependencies: blocked key -> blocking key, open at the instant.
	OpenDependencies map[string]string
	// DecisionsListed: decisions in the list before its cap (open,
	// revisit due, decided within 14 days); InvalidDates: records with a
	// date label that does not parse.
	DecisionsListed, InvalidDates int
}

// Records returns the record ground truth as of asOf.
func (w *World) Records(asOf time.Time) RecordTruth {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := asOf.Unix()
	rt := RecordTruth{Decisions: map[string]map[string]int{}, DecideSeconds: map[string][]int64{},
		ActionsOpen: map[string]int{}, ActionsOverdue: map[string]int{}, CloseSeconds: map[string][]int64{},
		Overdue: map[string]int64{}, DepsOpen: map[[2]string]int{}, DepsOldest: map[[2]string]int64{},
		DepsResolved: map[[2]string][]int64{}, OpenDependencies: map[string]string{}}
	for _, r := range w.g.records {
		if r.it.created > t {
			continue
		}
		team := w.g.teams[r.team].Name
		closed := r.closed != 0 && r.closed <= t
		if r.invalid {
			rt.InvalidDates++
		}
		switch r.kind {
		case "decision":
			if rt.Decisions[team] == nil {
				rt.Decisions[team] = map[string]int{"open": 0, "decided": 0, "revisit_due": 0}
			}
			switch {
			case !closed:
				rt.Decisions[team]["open"]++
				rt.DecisionsListed++
			case r.date != 0 && t > r.date:
				rt.Decisions[team]["revisit_due"]++
				rt.DecisionsListed++
			default:
				rt.Decisions[team]["decided"]++
				if t-r.closed <= int64(14*day/time.Second) {
					rt.DecisionsListed++
				}
			}
			if closed {
				rt.DecideSeconds[team] = append(rt.DecideSeconds[team], r.closed-r.it.created)
			}
		case "postmortem":
			if closed {
				rt.CloseSeconds[team] = append(rt.CloseSeconds[team], r.closed-r.it.created)
				rt.ActionsOpen[team] += 0
				rt.ActionsOverdue[team] += 0
				continue
			}
			rt.ActionsOpen[team]++
			rt.ActionsOverdue[team] += 0
			if r.date != 0 && t > r.date {
				rt.ActionsOverdue[team]++
				rt.Overdue[r.it.key] = t - r.date
			}
		case "dependency":
			if r.added > t {
				continue
			}
			pair := [2]string{team, w.g.teams[r.bTeam].Name}
			rt.DepsOpen[pair] += 0
			if closed {
				rt.DepsResolved[pair] = append(rt.DepsResolved[pair], r.closed-r.added)
				continue
			}
			rt.DepsOpen[pair]++
			rt.DepsOldest[pair] = max(rt.DepsOldest[pair], t-r.added)
			rt.OpenDependencies[r.it.key] = r.blocking.key
		}
	}
	for _, m := range []map[string][]int64{rt.DecideSeconds, rt.CloseSeconds} {
		for _, l := range m {
			sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		}
	}
	for _, l := range rt.DepsResolved {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	}
	return rt
}
