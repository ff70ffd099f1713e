package sim

import (
	"testing"
	"time"
)

func TestCalendar(t *testing.T) {
	berlin, err := newCalendar(0) // Europe/Berlin, Mon-Fri 09:00-17:00
	if err != nil {
		t.Fatal(err)
	}
	loc := berlin.loc
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, loc) } // Nov 2026: 20th is a Friday
	for _, tc := range []struct {
		name  string
		from  time.Time
		d     time.Duration
		want  time.Time
		works time.Duration // between(from, want)
	}{
		{"inside the day", at(18, 10, 0), 3 * time.Hour, at(18, 13, 0), 3 * time.Hour},
		{"Friday evening waits for Monday", at(20, 16, 0), 2 * time.Hour, at(23, 10, 0), 2 * time.Hour},
		{"Saturday starts Monday 09:00", at(21, 12, 0), 30 * time.Minute, at(23, 9, 30), 30 * time.Minute},
		{"before hours starts at 09:00", at(19, 6, 0), time.Hour, at(19, 10, 0), time.Hour},
		{"two working days", at(18, 9, 0), 16 * time.Hour, at(19, 17, 0), 16 * time.Hour},
	} {
		got := berlin.workAfter(tc.from, tc.d)
		if !got.Equal(tc.want) {
			t.Errorf("%s: workAfter = %s, want %s", tc.name, got.In(loc), tc.want)
		}
		if w := berlin.between(tc.from, tc.want); w != tc.works {
			t.Errorf("%s: between = %s, want %s", tc.name, w, tc.works)
		}
	}
	// A whole week holds five working days.
	if w := berlin.between(at(16, 0, 0), at(23, 0, 0)); w != 40*time.Hour {
		t.Errorf("week: %s, want 40h", w)
	}
}

func TestParamsValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(p *Params)
		ok   bool
	}{
		{"small", func(p *Params) {}, true},
		{"zero fields take defaults", func(p *Params) { *p = Params{Seed: 3} }, true},
		{"one team", func(p *Params) { p.Teams = []string{"solo"} }, false},
		{"repeated team", func(p *Params) { p.Teams = []string{"a", "b", "a"} }, false},
		{"too many members", func(p *Params) { p.MembersPerTeam = 99 }, false},
		{"months", func(p *Params) { p.Months = 61 }, false},
		{"negative stalled", func(p *Params) { p.StalledNow = -1 }, false},
		{"PR share", func(p *Params) { p.PRShare = 1.5 }, false},
	} {
		p := Small()
		tc.edit(&p)
		_, err := Generate(p)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
