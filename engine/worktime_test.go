package engine

import (
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
)

func TestWorkClock(t *testing.T) {
	mk := func(yaml string) *workClock {
		c, err := config.Parse([]byte("teams:\n  a:\n    calendar: " + yaml + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		return newWorkClock(c.Teams["a"].Calendar)
	}
	utc := mk(`{timezone: UTC, holidays: ["2026-03-09", "2026-03-14"]}`) // Mon holiday; Sat holiday (ignored)
	berlin := mk(`{timezone: Europe/Berlin, working_hours: {start: "08:00", end: "16:00"}}`)
	sixDays := mk(`{timezone: UTC, working_days: [mon, tue, wed, thu, fri, sat]}`)
	d := func(s string) time.Time {
		tt, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	cases := []struct {
		name string
		w    *workClock
		a, b string
		want time.Duration
	}{
		{"nil clock is calendar time", nil, "2026-03-06T16:00:00Z", "2026-03-10T11:00:00Z", 91 * time.Hour},
		{"same day inside hours", utc, "2026-03-03T10:00:00Z", "2026-03-03T12:30:00Z", 150 * time.Minute},
		{"same day before and after hours", utc, "2026-03-03T06:00:00Z", "2026-03-03T20:00:00Z", 8 * time.Hour},
		{"evening to next morning", utc, "2026-03-03T18:00:00Z", "2026-03-04T10:00:00Z", time.Hour},
		{"Friday evening to Monday morning", utc, "2026-03-13T18:00:00Z", "2026-03-16T09:30:00Z", 30 * time.Minute},
		{"Friday 16:00 to Tuesday 11:00 over a Monday holiday", utc, "2026-03-06T16:00:00Z", "2026-03-10T11:00:00Z", 3 * time.Hour},
		{"whole weekend", utc, "2026-03-07T00:00:00Z", "2026-03-09T00:00:00Z", 0},
		{"two full weeks minus one holiday", utc, "2026-03-02T00:00:00Z", "2026-03-16T00:00:00Z", 9 * 8 * time.Hour},
		{"long span: 10 weeks", utc, "2026-03-16T00:00:00Z", "2026-05-25T00:00:00Z", 50 * 8 * time.Hour},
		{"empty interval", utc, "2026-03-03T10:00:00Z", "2026-03-03T10:00:00Z", 0},
		{"reversed interval", utc, "2026-03-03T11:00:00Z", "2026-03-03T10:00:00Z", 0},
		// Berlin is UTC+1 in winter: 08:00-16:00 local is 07:00-15:00 UTC.
		{"time zone", berlin, "2026-03-03T06:00:00Z", "2026-03-03T08:00:00Z", time.Hour},
		// DST starts 2026-03-29 in Berlin: local hours still count 8h a day.
		{"across DST", berlin, "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z", 16 * time.Hour},
		{"six-day week", sixDays, "2026-03-06T00:00:00Z", "2026-03-09T00:00:00Z", 16 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.w.between(d(tc.a), d(tc.b)); got != tc.want {
				t.Errorf("between(%s, %s) = %s, want %s", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

// TestWorkClockMatchesWalk compares the arithmetic with a minute-by-minute
// walk over many intervals.
func TestWorkClockMatchesWalk(t *testing.T) {
	c, err := config.Parse([]byte("teams:\n  a:\n    calendar: {timezone: America/New_York, working_days: [mon, wed, thu, fri, sun], working_hours: {start: \"09:30\", end: \"17:15\"}, holidays: [\"2026-03-11\", \"2026-03-20\"]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cal := c.Teams["a"].Calendar
	w := newWorkClock(cal)
	walk := func(a, b time.Time) time.Duration {
		var n time.Duration
		for x := a; x.Before(b); x = x.Add(time.Minute) {
			l := x.In(cal.Location)
			mins := l.Hour()*60 + l.Minute()
			y, m, dd := l.Date()
			hol := false
			for _, h := range cal.Holidays {
				if h == time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Format("2006-01-02") {
					hol = true
				}
			}
			if cal.Days[l.Weekday()] && !hol && mins >= cal.StartMin && mins < cal.EndMin {
				n += time.Minute
			}
		}
		return n
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 60; i++ {
		a := start.Add(time.Duration(i*397) * time.Minute)
		b := a.Add(time.Duration(i*i*53+17) * time.Minute)
		if got, want := w.between(a, b), walk(a, b); got != want {
			t.Fatalf("between(%s, %s) = %s, walk = %s", a, b, got, want)
		}
	}
}
