package review

import (
	"reflect"
	"testing"
	"time"

	"github.com/crossteam/crossteam/engine"
)

func TestAgreementWins(t *testing.T) {
	ag := &engine.Agreement{Key: "*->*", Pickup: engine.Objective{Ratio: 0.75, Target: 8 * time.Hour, Working: true}}
	pair := func(from, to string, picked, within uint64, a *engine.Agreement) engine.PairStats {
		p := engine.PairStats{PairKey: engine.PairKey{Source: "github", From: from, To: to}, Agreement: a, PickupsWithin: within}
		p.Pickup.Count = picked
		return p
	}
	snaps := make([]*engine.Snapshot, PreviousWeeks+2)
	for i := range snaps {
		snaps[i] = &engine.Snapshot{}
	}
	snaps[PreviousWeeks].Pairs = []engine.PairStats{
		pair("design", "backend", 10, 2, ag),
		pair("backend", "qa", 5, 5, ag),
		pair("qa", "design", 0, 0, nil),
	}
	snaps[len(snaps)-1].Pairs = []engine.PairStats{
		pair("design", "backend", 14, 5, ag), // week: 3 of 4 within = 75%: kept (at the objective)
		pair("backend", "qa", 9, 7, ag),      // week: 2 of 4 = 50%: missed
		pair("qa", "design", 6, 6, nil),      // no agreement
		pair("web", "qa", 1, 1, ag),          // new pair, one pickup: below MinPickups
	}
	got := agreementWins(&Window{Snaps: snaps})
	want := []Win{{Kind: WinAgreementKept, Title: "design → backend (github)",
		Teams:  []TeamShare{{Team: "design"}, {Team: "backend"}},
		Detail: "agreement kept: 3 of 4 handoffs picked up within 8h0m0s (working time), 75% agreed"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wins = %+v\nwant %+v", got, want)
	}
}
