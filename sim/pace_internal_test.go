package sim

import (
	"testing"
	"time"
)

func TestBaseTime(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	g := &gen{p: Params{Now: now, LivePace: 10}, w: &World{Start: now.Add(-100 * time.Hour)}}
	for _, tc := range []struct {
		x    float64
		want time.Time
	}{
		{0, now.Add(-100 * time.Hour)},
		{50.5, now.Add(-49*time.Hour - 30*time.Minute)},
		{100, now},
		// After Now, 10 items an hour instead of one.
		{105, now.Add(30 * time.Minute)},
		{120, now.Add(2 * time.Hour)},
	} {
		if got := g.baseTime(tc.x, time.Hour); !got.Equal(tc.want) {
			t.Errorf("LivePace 10: baseTime(%g) = %s, want %s", tc.x, got, tc.want)
		}
	}
	g.p.LivePace = 0
	if got, want := g.baseTime(120, time.Hour), now.Add(20*time.Hour); !got.Equal(want) {
		t.Errorf("LivePace 0: baseTime(120) = %s, want %s", got, want)
	}
}
