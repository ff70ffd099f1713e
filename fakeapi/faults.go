package fakeapi

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Faults are the misbehaviours and limits of the fake API. The zero value is
// a well-behaved GitHub (issue page cap 100, no events horizon). Set them
// with GitHub.SetFaults at any time; random draws come from an RNG seeded
// with Seed each time faults are set, so a serial request sequence sees the
// same faults on every run.
type Faults struct {
	// Latency is added to every request. With probability SpikeRate a
	// request waits SpikeLatency (default 500ms) more.
	Latency      time.Duration
	SpikeRate    float64
	SpikeLatency time.Duration

	// ServerErrorRate is the fraction of requests answered 502 or 503
	// (alternately) with GitHub-like bodies. They cost no quota.
	ServerErrorRate float64

	// SecondaryRate and TooManyRate are the fractions of requests that
	// start a secondary rate limit episode for the requesting token,
	// answered 403 (SecondaryRate) or 429 (TooManyRate) with "You have
	// exceeded a secondary rate limit..." and Retry-After. Every request
	// of that token during the episode gets the same answer. An episode
	// lasts RetryAfter (default 60s; negative: 60s and no Retry-After
	// header, as GitHub sometimes does) on the Org clock.
	SecondaryRate float64
	TooManyRate   float64
	RetryAfter    time.Duration

	// TruncateRate is the fraction of 200 answers whose JSON body is cut
	// in half; MalformedRate the fraction whose body is not valid JSON.
	// Both cost quota like the 200 they replace.
	TruncateRate  float64
	MalformedRate float64

	// EventsHorizon is the deepest page of GET /repos/{o}/{r}/issues/events
	// served; deeper pages answer 422 "pagination is limited". 0 = none.
	EventsHorizon int
	// PageCap is the highest page= served by GET /repos/{o}/{r}/issues;
	// deeper page= requests answer 422 and the Link next of page PageCap
	// uses an after= cursor. 0 = GitHub's 100; negative = no cap.
	PageCap int

	// NotFoundRepos answer 404 on every endpoint; BrokenRepos answer 500.
	// Entries are "owner/name", case-insensitive.
	NotFoundRepos []string
	BrokenRepos   []string

	// NearLimit (Jira only) sends X-RateLimit-NearLimit: true on every
	// answer, as Jira does when less than 20% of the budget remains.
	NearLimit bool

	// Seed seeds the fault RNG.
	Seed uint64
}

// PageCapValue is PageCap with its default (100) and -1 (no cap) applied.
func (f Faults) PageCapValue() int {
	switch {
	case f.PageCap == 0:
		return 100
	case f.PageCap < 0:
		return int(^uint(0) >> 1)
	}
	return f.PageCap
}

// RetryAfterValue is the Retry-After of an episode and whether the header
// is sent (RetryAfter < 0: not sent).
func (f Faults) RetryAfterValue() (d time.Duration, header bool) {
	switch {
	case f.RetryAfter == 0:
		return 60 * time.Second, true
	case f.RetryAfter < 0:
		return 60 * time.Second, false
	}
	return f.RetryAfter, true
}

func (f Faults) spikeLatency() time.Duration {
	if f.SpikeLatency == 0 {
		return 500 * time.Millisecond
	}
	return f.SpikeLatency
}

// RepoIn reports whether fullName is in list, case-insensitively.
func RepoIn(list []string, fullName string) bool {
	for _, r := range list {
		if strings.EqualFold(r, fullName) {
			return true
		}
	}
	return false
}

// faultKeys maps each ParseFaults key to a short description.
var faultKeys = map[string]string{
	"latency":      "duration added to every request",
	"spike":        "fraction of requests with a latency spike",
	"spikelatency": "duration of a latency spike",
	"5xx":          "fraction of requests answered 502/503",
	"secondary":    "fraction of requests starting a 403 secondary rate limit episode",
	"429":          "fraction of requests starting a 429 secondary rate limit episode",
	"retryafter":   "duration of a secondary rate limit episode (Retry-After)",
	"truncate":     "fraction of 200 bodies cut in half",
	"malformed":    "fraction of 200 bodies made invalid JSON",
	"horizon":      "deepest page of the repository issue events list",
	"pagecap":      "highest page= of the issues list before cursor pagination",
	"notfound":     "repositories (owner/name, '+'-separated) answering 404",
	"broken":       "repositories (owner/name, '+'-separated) answering 500",
	"seed":         "seed of the fault RNG",
	"nearlimit":    "Jira only: true sends X-RateLimit-NearLimit: true on every answer",
}

// FaultKeys returns the keys ParseFaults understands, with a description.
func FaultKeys() map[string]string {
	out := make(map[string]string, len(faultKeys))
	for k, v := range faultKeys {
		out[k] = v
	}
	return out
}

// ParseFaults parses a comma-separated key=value list such as
// "5xx=0.05,latency=20ms,secondary=0.01,429=0.02,truncate=0.01,malformed=0.01,horizon=3".
// Fractions are in [0,1], durations use time.ParseDuration syntax, repo
// lists separate "owner/name" entries with '+' (keys may repeat). An empty
// spec or "none" gives the zero Faults. Errors name the offending key.
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "none" {
		return f, nil
	}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		if !ok {
			return Faults{}, fmt.Errorf("fakeapi: fault %q: want key=value", key)
		}
		if _, known := faultKeys[key]; !known {
			keys := make([]string, 0, len(faultKeys))
			for k := range faultKeys {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return Faults{}, fmt.Errorf("fakeapi: unknown fault key %q (known: %s)", key, strings.Join(keys, ", "))
		}
		frac := func(dst *float64) error {
			v, err := strconv.ParseFloat(val, 64)
			if err != nil || v < 0 || v > 1 {
				return fmt.Errorf("fakeapi: fault %q: %q is not a fraction between 0 and 1", key, val)
			}
			*dst = v
			return nil
		}
		dur := func(dst *time.Duration, allowNeg bool) error {
			v, err := time.ParseDuration(val)
			if err != nil || (v < 0 && !allowNeg) {
				return fmt.Errorf("fakeapi: fault %q: %q is not a duration like 20ms or 2s", key, val)
			}
			*dst = v
			return nil
		}
		integer := func(dst *int, allowNeg bool) error {
			v, err := strconv.Atoi(val)
			if err != nil || (v < 0 && !allowNeg) {
				return fmt.Errorf("fakeapi: fault %q: %q is not a whole number", key, val)
			}
			*dst = v
			return nil
		}
		repos := func(dst *[]string) error {
			for _, r := range strings.Split(val, "+") {
				r = strings.TrimSpace(r)
				o, n, ok := strings.Cut(r, "/")
				if !ok || o == "" || n == "" || strings.Contains(n, "/") {
					return fmt.Errorf("fakeapi: fault %q: %q is not owner/name", key, r)
				}
				*dst = append(*dst, r)
			}
			return nil
		}
		var err error
		switch key {
		case "latency":
			err = dur(&f.Latency, false)
		case "spike":
			err = frac(&f.SpikeRate)
		case "spikelatency":
			err = dur(&f.SpikeLatency, false)
		case "5xx":
			err = frac(&f.ServerErrorRate)
		case "secondary":
			err = frac(&f.SecondaryRate)
		case "429":
			err = frac(&f.TooManyRate)
		case "retryafter":
			err = dur(&f.RetryAfter, true)
		case "truncate":
			err = frac(&f.TruncateRate)
		case "malformed":
			err = frac(&f.MalformedRate)
		case "horizon":
			err = integer(&f.EventsHorizon, false)
		case "pagecap":
			err = integer(&f.PageCap, true)
		case "notfound":
			err = repos(&f.NotFoundRepos)
		case "broken":
			err = repos(&f.BrokenRepos)
		case "nearlimit":
			v, perr := strconv.ParseBool(val)
			if perr != nil {
				err = fmt.Errorf("fakeapi: fault %q: %q is not true or false", key, val)
			}
			f.NearLimit = v
		case "seed":
			var v uint64
			v, err = strconv.ParseUint(val, 10, 64)
			if err != nil {
				err = fmt.Errorf("fakeapi: fault %q: %q is not a whole number", key, val)
			}
			f.Seed = v
		}
		if err != nil {
			return Faults{}, err
		}
	}
	return f, nil
}

// String renders f in ParseFaults syntax (only non-zero knobs; "none" for
// the zero value).
func (f Faults) String() string {
	var parts []string
	add := func(k, v string) { parts = append(parts, k+"="+v) }
	fl := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	if f.Latency != 0 {
		add("latency", f.Latency.String())
	}
	if f.SpikeRate != 0 {
		add("spike", fl(f.SpikeRate))
	}
	if f.SpikeLatency != 0 {
		add("spikelatency", f.SpikeLatency.String())
	}
	if f.ServerErrorRate != 0 {
		add("5xx", fl(f.ServerErrorRate))
	}
	if f.SecondaryRate != 0 {
		add("secondary", fl(f.SecondaryRate))
	}
	if f.TooManyRate != 0 {
		add("429", fl(f.TooManyRate))
	}
	if f.RetryAfter != 0 {
		add("retryafter", f.RetryAfter.String())
	}
	if f.TruncateRate != 0 {
		add("truncate", fl(f.TruncateRate))
	}
	if f.MalformedRate != 0 {
		add("malformed", fl(f.MalformedRate))
	}
	if f.EventsHorizon != 0 {
		add("horizon", strconv.Itoa(f.EventsHorizon))
	}
	if f.PageCap != 0 {
		add("pagecap", strconv.Itoa(f.PageCap))
	}
	if len(f.NotFoundRepos) > 0 {
		add("notfound", strings.Join(f.NotFoundRepos, "+"))
	}
	if len(f.BrokenRepos) > 0 {
		add("broken", strings.Join(f.BrokenRepos, "+"))
	}
	if f.NearLimit {
		add("nearlimit", "true")
	}
	if f.Seed != 0 {
		add("seed", strconv.FormatUint(f.Seed, 10))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// Delay waits the injected latency of one request (Latency, plus
// SpikeLatency when spikeDraw < SpikeRate), or until ctx ends. fault is
// "spike" when a spike was drawn; ok is false when ctx ended first.
func (f Faults) Delay(ctx context.Context, spikeDraw float64) (fault string, ok bool) {
	d := f.Latency
	if spikeDraw < f.SpikeRate {
		d += f.spikeLatency()
		fault = "spike"
	}
	if d <= 0 {
		return fault, true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return fault, true
	case <-ctx.Done():
		return fault, false
	}
}
