package review

import (
	"fmt"

	"github.com/crossteam/crossteam/engine"
)

// WinAgreementKept: a pair kept its working agreement this week.
const WinAgreementKept = "agreement_kept"

// agreementWins lists the pairs that kept the pickup side of their working
// agreement this week: at least MinPickups pickups in the week, and the
// share within the agreed target (the exact counters' increase between the
// week's two boundary snapshots, as the boards compute it) at or above the
// objective. Both teams are acknowledged.
func agreementWins(w *Window) []Win {
	start, end := w.Snaps[PreviousWeeks], w.Snaps[len(w.Snaps)-1]
	before := map[engine.PairKey]*engine.PairStats{}
	for i := range start.Pairs {
		before[start.Pairs[i].PairKey] = &start.Pairs[i]
	}
	var out []Win
	for i := range end.Pairs {
		p := &end.Pairs[i]
		a := p.Agreement
		if a == nil {
			continue
		}
		picked, within := p.Pickup.Count, p.PickupsWithin
		if b := before[p.PairKey]; b != nil {
			picked, within = picked-b.Pickup.Count, within-b.PickupsWithin
		}
		if picked < MinPickups || float64(within) < a.Pickup.Ratio*float64(picked) {
			continue
		}
		clock := "calendar"
		if a.Pickup.Working {
			clock = "working"
		}
		out = append(out, Win{Kind: WinAgreementKept, Title: p.From + " → " + p.To + " (" + p.Source + ")",
			Teams: []TeamShare{{Team: p.From}, {Team: p.To}},
			Detail: fmt.Sprintf("agreement kept: %d of %d handoffs picked up within %s (%s time), %.0f%% agreed",
				within, picked, a.Pickup.Target, clock, 100*a.Pickup.Ratio)})
	}
	return out
}
