// Package resilience is the HTTP resilience both collectors share: waits
// that honour the context, Retry-After parsing, capped exponential backoff
// with jitter, a deadline per attempt, and the scrubber that stands between
// every upstream body and every error, so a secret an upstream echoes
// (a proxy or WAF repeating the Authorization header) never reaches a log.
//
// The collectors keep their own retry policies (which answers GitHub and
// Jira mean "wait"), built from these pieces.
package resilience

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SleepCtx waits d or until ctx is done.
func SleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RetryAfter parses a Retry-After value: delay seconds or an HTTP date
// (relative to now).
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// Exponential is base doubled for every attempt after the first (attempt
// 1 is base), capped at limit.
func Exponential(attempt int, base, limit time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// HalfJitter is a random duration in [d/2, d] ("equal jitter"): clients
// failing together do not retry together, and none retries much sooner
// than d.
func HalfJitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// AddJitter is d plus a random part of up to frac of d.
func AddJitter(d time.Duration, frac float64) time.Duration {
	return d + rand.N(time.Duration(float64(d)*frac)+1)
}

// Drain reads what is left of a body that will not be used (at most 1
// MiB, so the connection can be reused) and closes it.
func Drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
}

// RequestTimeout bounds one HTTP attempt to GitHub or Jira, from sending
// the request to reading the last byte of the answer. Rate-limit waits and
// retries happen above it, so they are not cut short; a hung API becomes a
// transport error that the collector's retries and the Syncer's backoff
// handle, instead of a target that never syncs again.
const RequestTimeout = 60 * time.Second

// TimeoutTransport gives every request through next its own deadline of d
// (covering the body: the deadline is released when the body is closed).
func TimeoutTransport(next http.RoundTripper, d time.Duration) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &timeoutTransport{next: next, d: d}
}

type timeoutTransport struct {
	next http.RoundTripper
	d    time.Duration
}

func (t *timeoutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), t.d)
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
