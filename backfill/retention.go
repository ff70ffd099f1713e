package backfill

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// RulesRetention is the history the shipped recording rules read: the
// faster-handoff wins compare the last 28 days with the 28 days before
// (dashboards/rules.go), so Prometheus must keep at least 56 days for them,
// and as long as its boards should look back beyond that.
const RulesRetention = 56 * 24 * time.Hour

// Retention is what a Prometheus server keeps, as its
// /api/v1/status/runtimeinfo reports it ("15d", "30d or 10GiB", "10GiB").
type Retention struct {
	Time time.Duration // 0 when only a size limit is set
	Size string        // "" when none is set
	Raw  string
}

// ParseRetention reads runtimeinfo's storageRetention.
func ParseRetention(s string) (Retention, error) {
	r := Retention{Raw: s}
	for _, part := range strings.Split(s, " or ") {
		part = strings.TrimSpace(part)
		if d, err := model.ParseDuration(part); err == nil {
			r.Time = time.Duration(d)
			continue
		}
		if part != "" && strings.IndexFunc(part, func(c rune) bool { return c < '0' || c > '9' }) > 0 && strings.HasSuffix(part, "B") {
			r.Size = part
			continue
		}
		return Retention{}, fmt.Errorf("storage retention %q: want a duration, a size or both joined by \" or \"", s)
	}
	return r, nil
}

// FetchRetention asks the Prometheus at base (http://host:9090) how long it
// keeps samples.
func FetchRetention(ctx context.Context, client *http.Client, base string) (Retention, error) {
	u, err := url.JoinPath(base, "/api/v1/status/runtimeinfo")
	if err != nil {
		return Retention{}, fmt.Errorf("prometheus %s: %w", base, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Retention{}, fmt.Errorf("prometheus %s: %w", base, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Retention{}, fmt.Errorf("prometheus %s: %w", base, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			StorageRetention string `json:"storageRetention"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return Retention{}, fmt.Errorf("prometheus %s: /api/v1/status/runtimeinfo: HTTP %d: %w", base, resp.StatusCode, err)
	}
	if body.Status != "success" {
		return Retention{}, fmt.Errorf("prometheus %s: /api/v1/status/runtimeinfo: HTTP %d: %s", base, resp.StatusCode, body.Error)
	}
	r, err := ParseRetention(body.Data.StorageRetention)
	if err != nil {
		return Retention{}, fmt.Errorf("prometheus %s: %w", base, err)
	}
	return r, nil
}

// CheckRetention says whether a Prometheus keeping r can hold a backfill
// from `from` to now: an error when it deletes the older samples at its
// next compaction (a retention shorter than the span), and warnings when
// only a size limit is known or the retention is shorter than the rules
// need.
func CheckRetention(r Retention, from, now time.Time) (warnings []string, err error) {
	span := now.Sub(from)
	days := func(d time.Duration) string {
		if d < 24*time.Hour {
			return model.Duration(d.Round(time.Minute)).String()
		}
		return fmt.Sprintf("%dd", d.Round(24*time.Hour)/(24*time.Hour))
	}
	if r.Time == 0 {
		if r.Size != "" {
			warnings = append(warnings, fmt.Sprintf("Prometheus keeps up to %s, not a set time: whether it holds the backfilled %s depends on how fast it fills", r.Size, days(span)))
		}
		return warnings, nil
	}
	if r.Time < span {
		return nil, fmt.Errorf("Prometheus keeps %s (storage retention %s) but the backfill starts %s ago: it would delete the older %s at its next compaction; start it with --storage.tsdb.retention.time=%s or more, or backfill from %s",
			days(r.Time), r.Raw, days(span), days(span-r.Time), days(span+24*time.Hour), now.Add(-r.Time).Format(time.RFC3339))
	}
	if r.Time < RulesRetention {
		warnings = append(warnings, fmt.Sprintf("Prometheus keeps %s; the recording rules read %s back (the faster-handoff wins compare two 28-day windows): keep --storage.tsdb.retention.time=%s or more", days(r.Time), days(RulesRetention), days(RulesRetention+4*24*time.Hour)))
	}
	return warnings, nil
}
