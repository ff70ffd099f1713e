package config

import (
	"testing"
	"time"
)

func TestAgreementOf(t *testing.T) {
	const teams = "teams:\n  design: {}\n  backend: {}\n  qa: {}\n"
	cfg, err := Parse([]byte(teams + `
agreements:
  "design->backend": {pickup: {objective: 0.9, within: 8h}, cycle: {objective: 0.5, within: 5d, clock: calendar}}
  "*->qa": {pickup: {objective: 0.75, within: 1d}, window: 7d, notify_sender: false}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from, to, key string
		ratio         float64
		within        time.Duration
		clock         string
		window        time.Duration
		sender, cycle bool
	}{
		{"design", "backend", "design->backend", 0.9, 8 * time.Hour, ClockWorking, 28 * 24 * time.Hour, true, true},
		{"backend", "qa", "*->qa", 0.75, 24 * time.Hour, ClockWorking, 7 * 24 * time.Hour, false, false},
		{"backend", "design", "", 0, 0, "", 0, false, false},
	} {
		a, key, ok := cfg.AgreementOf(c.from, c.to)
		if key != c.key || ok != (c.key != "") {
			t.Errorf("%s->%s: key %q ok %v, want %q", c.from, c.to, key, ok, c.key)
			continue
		}
		if !ok {
			continue
		}
		if a.Pickup.Ratio != c.ratio || time.Duration(a.Pickup.Within) != c.within || a.Pickup.Clock != c.clock ||
			time.Duration(a.Window) != c.window || a.NotifySender != c.sender || (a.Cycle != nil) != c.cycle {
			t.Errorf("%s->%s: %+v pickup %+v", c.from, c.to, a, *a.Pickup)
		}
	}
	// No agreements key: the default reproduces the old slow-pickup
	// threshold for every pair; an empty map means none.
	def, err := Parse([]byte(teams))
	if err != nil {
		t.Fatal(err)
	}
	if a, key, ok := def.AgreementOf("qa", "design"); !ok || key != "*->*" || a.Pickup.Ratio != 0.9 || time.Duration(a.Pickup.Within) != 48*time.Hour || a.Pickup.Clock != ClockCalendar {
		t.Errorf("default agreement = %q %+v", key, a)
	}
	none, err := Parse([]byte(teams + "agreements: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := none.AgreementOf("qa", "design"); ok {
		t.Error("agreements: {} still has an agreement")
	}
}
