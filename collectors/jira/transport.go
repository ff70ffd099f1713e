package jira

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/resilience"
)

// authTransport authenticates with go-jira's transports: Basic email:token
// when an email is configured (Cloud API tokens; also Data Center user name
// and password, where an admin still allows it), else Bearer (Data Center
// personal access token). The token is read on every request so a rotated
// token_file is picked up.
type authTransport struct {
	email string
	src   *config.SecretSource
	next  http.RoundTripper
}

func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := t.src.Value()
	if err != nil {
		return nil, fmt.Errorf("token (%s): %w", t.src, err)
	}
	if t.email != "" {
		return (&gojira.BasicAuthTransport{Username: t.email, Password: tok, Transport: t.next}).RoundTrip(r)
	}
	return (&gojira.BearerAuthTransport{Token: tok, Transport: t.next}).RoundTrip(r)
}

// Retry and pacing limits of rateTransport.
const (
	maxRetries      = 6                      // waits per request before the 429/503 is returned
	defaultBackoff  = 5 * time.Second        // first wait when no Retry-After is sent (Atlassian's advice)
	maxWait         = 5 * time.Minute        // longest single wait
	nearLimitPacing = 500 * time.Millisecond // pause before each request while X-RateLimit-NearLimit is true
)

// rateTransport is the rate-limit handling go-jira lacks: 429 and 503 are
// retried after Retry-After (seconds or an HTTP date) plus up to 10% jitter,
// capped at maxWait, or with exponential backoff from backoff when the
// header is absent; while the last answer said X-RateLimit-NearLimit: true
// every request first waits `pacing`, so the sync slows down before Jira
// starts refusing. Waits honour the request context.
type rateTransport struct {
	next    http.RoundTripper
	sleep   func(ctx context.Context, d time.Duration) error
	backoff time.Duration
	pacing  time.Duration

	mu   sync.Mutex
	near bool
	// waits are the last waits (at most 1000), for tests.
	waits []time.Duration
}

func (t *rateTransport) nearLimit() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.near
}

func (t *rateTransport) wait(ctx context.Context, d time.Duration) error {
	t.mu.Lock()
	if len(t.waits) >= 1000 {
		t.waits = append(t.waits[:0], t.waits[500:]...)
	}
	t.waits = append(t.waits, d)
	t.mu.Unlock()
	return t.sleep(ctx, d)
}

func (t *rateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	for attempt := 0; ; attempt++ {
		if t.nearLimit() {
			if err := t.wait(ctx, t.pacing); err != nil {
				return nil, err
			}
		}
		r2 := r.Clone(ctx)
		if r.Body != nil && r.GetBody != nil {
			b, err := r.GetBody()
			if err != nil {
				return nil, err
			}
			r2.Body = b
		}
		resp, err := t.next.RoundTrip(r2)
		if err != nil {
			return nil, err
		}
		t.mu.Lock()
		t.near = strings.EqualFold(resp.Header.Get("X-RateLimit-NearLimit"), "true")
		t.mu.Unlock()
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
			return resp, nil
		}
		if attempt >= maxRetries {
			return resp, nil
		}
		d, ok := resilience.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if !ok {
			d = t.backoff << attempt
		}
		d = min(d, maxWait)
		d = resilience.AddJitter(d, 0.1) // so parallel clients do not return together
		resilience.Drain(resp)
		if err := t.wait(ctx, d); err != nil {
			return nil, err
		}
	}
}
