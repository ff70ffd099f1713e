package engine

import (
	"strings"
	"testing"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
)

// TestAgreementCounts: pickups and cycles within a pair's agreement are
// counted exactly, on the objective's clock. Times from Monday 00:00 UTC.
func TestAgreementCounts(t *testing.T) {
	I := model.SourceGitHub
	swap := func(key string) *evb {
		return gh(key).add("0s", "alice", L, "team:design").
			add("1h", "alice", UL, "team:design").add("1h", "alice", L, "team:backend")
	}
	items := []model.Item{item(I, "acme/web#1", "alice", "0s"), item(I, "acme/web#2", "alice", "0s"), item(I, "acme/web#3", "alice", "0s"), item(I, "acme/web#4", "alice", "0s")}
	events := []*evb{
		swap("acme/web#1").add("3h", "bob", CM, "").add("10h", "bob", CL, ""), // pickup 2h (within, the boundary), cycle 9h (miss)
		swap("acme/web#2").add("4h", "bob", CM, "").add("5h", "bob", CL, ""),  // pickup 3h (miss), cycle 4h (within)
		swap("acme/web#3"), // waiting: counts in neither
		// Picked up at Mon 11:00: 10h of calendar time, 2h of working time
		// (working hours start 09:00).
		swap("acme/web#4").add("11h", "bob", CM, ""),
	}
	cases := []struct {
		name, extra          string
		pickups, within      uint64
		cycles, cyclesWithin uint64
		agreement            bool
	}{
		{"calendar objectives", `
agreements:
  "design->backend":
    pickup: {objective: 0.9, within: 2h, clock: calendar}
    cycle: {objective: 0.5, within: 5h, clock: calendar}
`, 3, 1, 2, 1, true},
		{"working pickup clock", `
calendar: {timezone: UTC, working_days: [mon, tue, wed, thu, fri], working_hours: {start: "09:00", end: "17:00"}}
agreements:
  "*->backend":
    pickup: {objective: 0.9, within: 2h}
`, 3, 3, 2, 0, true}, // before 09:00 no working time passes: #1 and #2 within too
		{"no agreement for the pair", `
agreements:
  "backend->design":
    pickup: {objective: 0.9, within: 2h}
`, 3, 0, 2, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := mustConfig(t, c.extra)
			snap := Compute(dataset(items, events...), cfg, at("20h"))
			if len(snap.Pairs) != 1 {
				t.Fatalf("pairs = %+v, want design->backend only", snap.Pairs)
			}
			p := snap.Pairs[0]
			if p.Pickup.Count != c.pickups || p.PickupsWithin != c.within || p.Cycle.Count != c.cycles || p.CyclesWithin != c.cyclesWithin || (p.Agreement != nil) != c.agreement {
				t.Errorf("pickups %d within %d, cycles %d within %d, agreement %+v; want %d %d %d %d agreement=%v",
					p.Pickup.Count, p.PickupsWithin, p.Cycle.Count, p.CyclesWithin, p.Agreement, c.pickups, c.within, c.cycles, c.cyclesWithin, c.agreement)
			}
		})
	}
}

// TestFlowTime: a done handoff's time splits into waiting, active and
// blocked. design->backend at 1h; blocked 2h-4h (waiting); backend picks
// it up at 5h; blocked again from 6h; closed at 8h, still blocked.
// waiting = 4h - 2h blocked = 2h; active = 3h - 2h blocked = 1h;
// blocked = 4h; together the 7h cycle time.
func TestFlowTime(t *testing.T) {
	I := model.SourceGitHub
	items := []model.Item{item(I, "acme/web#1", "alice", "0s")}
	ev := gh("acme/web#1").add("0s", "alice", L, "team:design").
		add("1h", "alice", UL, "team:design").add("1h", "alice", L, "team:backend").
		add("2h", "alice", L, "Blocked").add("4h", "alice", UL, "blocked").
		add("5h", "bob", CM, "").
		add("6h", "bob", L, "blocked").
		add("8h", "bob", CL, "")
	for _, c := range []struct {
		name, extra                      string
		waiting, active, blocked, cycles float64
	}{
		{"default blocked label", "", 2 * 3600, 3600, 4 * 3600, 7 * 3600},
		{"no blocked markers", "flow: {blocked_labels: [], blocked_statuses: []}\n", 4 * 3600, 3 * 3600, 0, 7 * 3600},
	} {
		t.Run(c.name, func(t *testing.T) {
			snap := Compute(dataset(items, ev), mustConfig(t, c.extra), at("20h"))
			p := snap.Pairs[0]
			if p.Waiting.Sum != c.waiting || p.Active.Sum != c.active || p.Blocked.Sum != c.blocked || p.Cycle.Sum != c.cycles ||
				p.Waiting.Count != 1 || p.Blocked.Count != 1 {
				t.Errorf("waiting %v active %v blocked %v (cycle %v); want %v %v %v (%v)", p.Waiting.Sum, p.Active.Sum, p.Blocked.Sum, p.Cycle.Sum,
					c.waiting, c.active, c.blocked, c.cycles)
			}
		})
	}
}

// TestFlowTimeTeamBlockedStatus: a team's own Jira status marked
// blocked: true keeps the team owning the item and counts as blocked.
// design -> backend at 1h (Ready for Dev, waiting); In Dev at 2h (pickup);
// "Dev Blocked" (backend's, blocked) 3h to 5h; Done at 6h.
func TestFlowTimeTeamBlockedStatus(t *testing.T) {
	J := model.SourceJira
	items := []model.Item{item(J, "P-1", "alice", "0s")}
	ev := jira("P-1").
		status("0s", "alice", "", "Design Review").
		status("1h", "alice", "Design Review", "Ready for Dev").
		status("2h", "bob", "Ready for Dev", "In Dev").
		status("3h", "bob", "In Dev", "Dev Blocked").
		status("5h", "bob", "Dev Blocked", "In Dev").
		add("6h", "bob", CL, "")
	teams := strings.Replace(testTeams, `{name: "In Dev"}]`, `{name: "In Dev"}, {name: "Dev Blocked", blocked: true}]`, 1)
	cfg, err := config.Parse([]byte(teams))
	if err != nil {
		t.Fatal(err)
	}
	snap := Compute(dataset(items, ev), cfg, at("10h"))
	if len(snap.Pairs) != 1 {
		t.Fatalf("pairs = %+v, want design->backend only (a blocked status of backend keeps it backend's)", snap.Pairs)
	}
	p := snap.Pairs[0]
	if p.Waiting.Sum != 3600 || p.Active.Sum != 2*3600 || p.Blocked.Sum != 2*3600 {
		t.Errorf("waiting %v active %v blocked %v; want 1h, 2h, 2h", p.Waiting.Sum, p.Active.Sum, p.Blocked.Sum)
	}
}
