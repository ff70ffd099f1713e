// Package sim is crossteam's simulated organisation: a deterministic,
// seeded generator of teams, GitHub repositories and Jira Cloud projects
// with months of realistic history, served by the one fake-API package
// (fakeapi) that the collectors' tests use. `crossteam demo`, the
// end-to-end tests and the benchmarks all run on it.
//
// Generate plans every item's story up front — who opened it, which teams
// it passed through, when each team picked it up and finished — draws the
// delays from long-tailed (log-normal) distributions in the receiving team's
// working hours (so work waits over nights and weekends), and then writes the
// history into a fakegithub.Org and a fakejira.Site through their public
// mutators in time order, the way GitHub and Jira assign ids. In Jira each
// team has a waiting ("Ready for X") and an active ("In X") status; issues
// also sit in Blocked or To Do, which map to no team. Besides the served
// organisation, a World knows its ground truth:
//
//   - Handoffs: every handoff it created (item, teams, start, pickup, done,
//     stalled now), as the engine's rules must recover them through the API;
//   - Dataset: the model.Dataset its own history means (built from the
//     generator's records, never from the API), i.e. what the collectors
//     must store;
//   - Config: the crossteam configuration for the organisation (teams,
//     members, GitHub teams, label and Jira status markers, calendars,
//     milestone settings with merge_sources, signals).
//
// Sizes: Small (the demo, generated in about 25 ms) and Large (benchmarks:
// 100,000 GitHub items with about a million issue events and 50,000 Jira
// issues with about 500,000 changelog histories and 226,000 comments,
// generated in about 10 s;
// see bench's BenchmarkGenerate). Generation is linear in the history size.
// Params.HistoryDepth deepens every item's history without adding items:
// extra collected events (bot comments and stale-label changes on GitHub,
// service-desk and integration comments on Jira, within the 20 comments
// Cloud's search embeds) by accounts in no team, so no handoff, milestone
// or record changes; the benchmark's xlarge size is Large with it.
//
// Realism: items flow between teams along a pipeline (design, frontend,
// backend, qa, sre by default) with bounces back, pull requests ask other
// teams' GitHub teams (or members) for review, joint milestones are closed
// on time, late, or are open and at risk, members, GitHub-team-only
// contractors, bots and outsiders comment, and noise events (subscribed,
// mentioned, referenced) are sprinkled in. In Jira a receiving team
// sometimes picks a handoff up with a comment, other teams and the service
// desk and integration accounts (in no team) comment, and about 3% of issues
// get an integration burst of more comments than Cloud's search embeds (20).
// A handful of handoffs are stalled right now (Params.StalledNow); every
// other handoff open at Now had activity by its receiving team in the last
// 60 hours, so the stalled set is exactly the planned one under any stall
// threshold of 72h or more.
//
// Live mode: stories are planned beyond Now; World.Advance(to) applies the
// planned events up to an instant (planning more items when needed), so a
// running demo keeps receiving new events. The demo advances the world to
// the wall clock every second, so its history ends when it starts and goes
// on in real time; Params.LivePace sets how much happens after Now (items
// arrive LivePace times as often as during the history, around the clock,
// each story at its own pace in the teams' working hours) and keeps the
// designated stalled handoffs stalled.
package sim
