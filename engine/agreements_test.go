package engine

import (
	"testing"

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
