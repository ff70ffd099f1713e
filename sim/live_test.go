package sim_test

import (
	"testing"
	"time"

	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/sim"
)

// livePace is Small with the clock at an instant and a live pace.
func livePace(t *testing.T, pace float64) *sim.World {
	t.Helper()
	p := sim.Small()
	p.LivePace = pace
	return generate(t, p)
}

// TestLivePaceHistory: the pace changes nothing up to Now.
func TestLivePaceHistory(t *testing.T) {
	if a, b := livePace(t, 0), livePace(t, 600); a.Digest() != b.Digest() {
		t.Fatal("LivePace changed the history before Now")
	}
}

// TestLivePaceWallClock: events arrive at the instants the world is
// advanced to, never ahead of them, and each advance adds exactly the
// events planned since the previous one.
func TestLivePaceWallClock(t *testing.T) {
	w := livePace(t, 600)
	prev := w.Now
	seen := len(w.Dataset().Events)
	added := 0
	for _, step := range []time.Duration{time.Second, 10 * time.Second, time.Minute, 10 * time.Minute, time.Hour} {
		to := prev.Add(step)
		if err := w.Advance(to); err != nil {
			t.Fatal(err)
		}
		if got := w.Clock.Now(); !got.Equal(to) {
			t.Fatalf("clock at %s after Advance(%s)", got, to)
		}
		evs := w.Dataset().Events
		for _, e := range evs {
			if e.At.After(to) {
				t.Fatalf("event %s %s at %s applied when the clock is at %s", e.ItemKey, e.Kind, e.At, to)
			}
		}
		// The new events are exactly those after the previous clock.
		n := 0
		for _, e := range evs {
			if e.At.After(prev) {
				n++
			}
		}
		if n != len(evs)-seen {
			t.Fatalf("advance %s -> %s: %d events after %s, %d new", prev, to, n, prev, len(evs)-seen)
		}
		added += len(evs) - seen
		seen, prev = len(evs), to
	}
	if added == 0 {
		t.Fatal("no events arrived in 1h11m of wall-clock time at pace 600")
	}
	// A frozen clock adds nothing.
	if err := w.Advance(prev); err != nil {
		t.Fatal(err)
	}
	if n := len(w.Dataset().Events); n != seen {
		t.Fatalf("advancing to the clock added %d events", n-seen)
	}
	t.Logf("%d events in 1h11m at pace 600", added)
}

// TestLivePaceRate: after Now, items arrive LivePace times as often as in
// the history; the clock runs at its own rate.
func TestLivePaceRate(t *testing.T) {
	const week = 7 * 24 * time.Hour
	created := func(pace float64) (gh, jira int) {
		w := livePace(t, pace)
		if err := w.Advance(w.Now.Add(week)); err != nil {
			t.Fatal(err)
		}
		for _, it := range w.Dataset().Items {
			if !it.Created.After(w.Now) {
				continue
			}
			if it.Source == model.SourceJira {
				jira++
			} else {
				gh++
			}
		}
		return gh, jira
	}
	p := sim.Small()
	hist := p.Now.Sub(p.Now.AddDate(0, -p.Months, 0))
	// Expected: a week of items at pace x the history's rate:
	// repos*items/history per repo; Jira the same per project.
	const pace = 20
	wantGH := float64(week) / float64(hist) * float64(p.Repos*p.ItemsPerRepo) * pace
	wantJira := float64(week) / float64(hist) * float64(p.JiraProjects*p.JiraIssuesPerProject) * pace
	gh, jira := created(pace)
	// Live arrivals are not moved into working hours; a week holds the
	// mean rate within the uniform jitter of the last item per stream.
	for _, c := range []struct {
		name string
		got  int
		want float64
	}{{"github", gh, wantGH}, {"jira", jira, wantJira}} {
		if float64(c.got) < 0.95*c.want || float64(c.got) > 1.05*c.want {
			t.Errorf("%s: %d items created in a week at pace %d, want about %.0f", c.name, c.got, pace, c.want)
		}
	}
	gh1, _ := created(1)
	if float64(gh1) > 0.2*wantGH {
		t.Errorf("pace 1 created %d GitHub items in a week, pace %d %d", gh1, pace, gh)
	}
	t.Logf("a week at pace %d: %d GitHub items (about %.0f expected), %d Jira; at pace 1: %d GitHub", pace, gh, wantGH, jira, gh1)
}

// TestLivePaceStalledStay: with a live pace the designated stalled
// handoffs stay stalled (their idle time grows with the clock); without
// one they resolve within two weeks.
func TestLivePaceStalledStay(t *testing.T) {
	const later = 14 * 24 * time.Hour
	for _, tc := range []struct {
		pace       float64
		wantStayed bool
	}{{1, true}, {0, false}} {
		w := livePace(t, tc.pace)
		if err := w.Advance(w.Now.Add(later)); err != nil {
			t.Fatal(err)
		}
		asOf := w.Now.Add(later)
		design, stalled := 0, 0
		for _, h := range w.Handoffs(asOf) {
			if !h.StalledByDesign {
				continue
			}
			design++
			if h.Done.IsZero() && h.Stalled {
				stalled++
				if h.Idle < later {
					t.Errorf("pace %g: %s idle %s, want at least %s", tc.pace, h.ItemKey, h.Idle, later)
				}
			}
		}
		want := sim.Small().StalledNow + sim.Small().JiraStalledNow
		if design != want {
			t.Fatalf("pace %g: %d designated stalled handoffs, want %d", tc.pace, design, want)
		}
		if tc.wantStayed && stalled != want || !tc.wantStayed && stalled != 0 {
			t.Errorf("pace %g: %d of %d designated stalled handoffs still stalled after %s", tc.pace, stalled, want, later)
		}
	}
}
