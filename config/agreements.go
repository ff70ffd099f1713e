package config

import (
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/common/model"
)

// Agreement is a working agreement between two teams: what share of the
// handoffs from one to the other the receiving team picks up (and,
// optionally, finishes) within a target time, evaluated over a window.
// Agreements are keyed "from->to" like handoffs.pairs; either side may be
// "*" and the most specific key applies (from->to, from->*, *->to, *->*).
type Agreement struct {
	// Pickup: the share of handoffs picked up within the target. Required.
	Pickup *Objective `yaml:"pickup"`
	// Cycle: the share of handoffs done within the target. Optional.
	Cycle *Objective `yaml:"cycle,omitempty"`
	// Window the objectives are evaluated over (the error budget's period);
	// default 28d. The shipped rules evaluate 28 days.
	Window model.Duration `yaml:"window"`
	// NotifySender copies the sending team when the budget burns (the
	// receiving team is always told). Default true.
	NotifySender bool `yaml:"notify_sender"`
}

// Objective is one side of an agreement: Ratio of handoffs within Within,
// measured on Clock.
type Objective struct {
	// Ratio in (0, 1], e.g. 0.9 for 90%.
	Ratio float64 `yaml:"objective"`
	// Within is the target time, e.g. 8h.
	Within model.Duration `yaml:"within"`
	// Clock is "working" (the receiving team's working calendar; calendar
	// time for teams without one) or "calendar". Default working.
	Clock string `yaml:"clock"`
}

// DefaultAgreementWindow is an agreement's default window.
const DefaultAgreementWindow = model.Duration(28 * 24 * time.Hour)

// DefaultAgreements apply when the file has no agreements key: every pair
// is expected to pick up 90% of its handoffs within 2 calendar days over
// 28 days — the threshold the slow-pickup alert used before agreements.
// `agreements: {}` turns them off.
var DefaultAgreements = map[string]Agreement{
	"*->*": {Pickup: &Objective{Ratio: 0.9, Within: model.Duration(48 * time.Hour), Clock: ClockCalendar}, Window: DefaultAgreementWindow, NotifySender: true},
}

// UnmarshalYAML implements yaml.Unmarshaler: defaults before decoding.
func (a *Agreement) UnmarshalYAML(unmarshal func(any) error) error {
	*a = Agreement{Window: DefaultAgreementWindow, NotifySender: true}
	type plain Agreement
	return unmarshal((*plain)(a))
}

// UnmarshalYAML implements yaml.Unmarshaler: defaults before decoding.
func (o *Objective) UnmarshalYAML(unmarshal func(any) error) error {
	*o = Objective{Clock: ClockWorking}
	type plain Objective
	return unmarshal((*plain)(o))
}

// AgreementOf returns the agreement that applies to a pair and the key it
// was configured under, or false when none does.
func (c *Config) AgreementOf(from, to string) (Agreement, string, bool) {
	for _, k := range []pairKey{{from, to}, {from, "*"}, {"*", to}, {"*", "*"}} {
		if a, ok := c.agreements[k]; ok {
			return a, k.from + "->" + k.to, true
		}
	}
	return Agreement{}, "", false
}

// validateAgreements checks every agreement with its field path and
// resolves them for AgreementOf. No agreements key means DefaultAgreements.
func (c *Config) validateAgreements(e *errs) {
	src := c.Agreements
	if src == nil {
		src = DefaultAgreements
	}
	c.agreements = map[pairKey]Agreement{}
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := fmt.Sprintf("agreements[%q]", k)
		from, to, ok := c.pairKeyOf(e, p, k)
		if from == "" {
			continue
		}
		bad := !ok
		a := src[k]
		if a.Pickup == nil {
			e.add(p+".pickup", "must be set (objective and within)")
			bad = true
		}
		if a.Window <= 0 {
			e.add(p+".window", "must be greater than 0")
			bad = true
		}
		for _, o := range []struct {
			name string
			obj  *Objective
		}{{"pickup", a.Pickup}, {"cycle", a.Cycle}} {
			if o.obj == nil {
				continue
			}
			op := p + "." + o.name
			if !(o.obj.Ratio > 0 && o.obj.Ratio <= 1) {
				e.add(op+".objective", "%v must be in (0, 1], e.g. 0.9 for 90%%", o.obj.Ratio)
				bad = true
			}
			if o.obj.Within <= 0 {
				e.add(op+".within", "must be a duration greater than 0, e.g. 8h")
				bad = true
			} else if a.Window > 0 && o.obj.Within > a.Window {
				e.add(op+".within", "%s is longer than the window %s", o.obj.Within, a.Window)
				bad = true
			}
			if o.obj.Clock != ClockWorking && o.obj.Clock != ClockCalendar {
				e.add(op+".clock", "unknown clock %q (want working or calendar)", o.obj.Clock)
				bad = true
			}
		}
		if !bad {
			c.agreements[pairKey{from, to}] = a
		}
	}
}
