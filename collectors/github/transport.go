package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/resilience"
)

// tokenTransport sets "Authorization: Bearer <token>" on every request,
// reading the token at request time so a rotated token_file is picked up.
type tokenTransport struct {
	src  *config.SecretSource
	next http.RoundTripper
}

func (t *tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := t.src.Value()
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+tok)
	return t.next.RoundTrip(r2)
}

// Retry limits.
const (
	maxRateRetries   = 5                // secondary/primary rate-limit waits per request
	maxServerRetries = 3                // retries of a transient 5xx per request
	backoffBase      = time.Second      // first 5xx backoff
	backoffCap       = 30 * time.Second // longest 5xx backoff
	defaultSecondary = time.Minute      // secondary limit without Retry-After
	resetMargin      = time.Second      // wait this long past X-RateLimit-Reset
)

// errRateLimited is wrapped by the error returned when a rate limit persists
// after the bounded number of waits.
var errRateLimited = errors.New("rate limited")

// rateTransport sits below go-github (so go-github never records a rate
// limit and never refuses requests on its own clock): it waits out
// secondary limits (403/429 with Retry-After or the secondary message),
// primary exhaustion (X-RateLimit-Remaining: 0, until X-RateLimit-Reset) and
// retries transient 5xx with capped exponential backoff and jitter. It never
// sends a request before a known reset when the budget is spent.
type rateTransport struct {
	next  http.RoundTripper
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu        sync.Mutex
	remaining int       // last X-RateLimit-Remaining of the core (REST) budget; -1 unknown
	reset     time.Time // last X-RateLimit-Reset of the core budget
	// The GraphQL point budget is GitHub's other resource: its own
	// remaining and reset, held back the same way.
	gqlRemaining int
	gqlReset     time.Time
}

func (t *rateTransport) rate() (remaining int, reset time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.remaining, t.reset
}

// rateOf is the budget state of the resource r spends.
func (t *rateTransport) rateOf(r *http.Request) (remaining int, reset time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if isGraphQLRequest(r) {
		return t.gqlRemaining, t.gqlReset
	}
	return t.remaining, t.reset
}

func (t *rateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	rateWaits, serverRetries := 0, 0
	for {
		// Never send before the reset when the budget is known to be spent.
		if rem, reset := t.rateOf(r); rem == 0 && !reset.IsZero() {
			if d := reset.Add(resetMargin).Sub(t.now()); d > 0 {
				if err := t.sleep(ctx, d); err != nil {
					return nil, err
				}
			}
			t.mu.Lock()
			if isGraphQLRequest(r) {
				t.gqlRemaining = -1
			} else {
				t.remaining = -1
			}
			t.mu.Unlock()
		}
		req := r.Clone(ctx)
		if r.GetBody != nil { // a POST (GraphQL) resent after a wait needs its body again
			b, err := r.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = b
		}
		resp, err := t.next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		t.observe(resp, isGraphQLRequest(r))
		wait, kind := t.classify(resp)
		switch kind {
		case "":
			return resp, nil
		case "rate":
			rateWaits++
			if rateWaits > maxRateRetries {
				return resp, nil // go-github turns it into an error
			}
		case "server":
			serverRetries++
			if serverRetries > maxServerRetries {
				return resp, nil
			}
			wait = resilience.HalfJitter(resilience.Exponential(serverRetries, backoffBase, backoffCap))
		}
		resilience.Drain(resp)
		if wait > 0 {
			if err := t.sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
	}
}

// observe records the rate-limit headers of a response, by the resource
// it names (X-RateLimit-Resource; by the request's kind when absent).
func (t *rateTransport) observe(resp *http.Response, graphql bool) {
	rem, err1 := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
	reset, err2 := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	if res := resp.Header.Get("X-RateLimit-Resource"); res != "" {
		graphql = res == "graphql"
	}
	t.mu.Lock()
	if graphql {
		t.gqlRemaining, t.gqlReset = rem, time.Unix(reset, 0)
	} else {
		t.remaining, t.reset = rem, time.Unix(reset, 0)
	}
	t.mu.Unlock()
}

// classify says whether resp must be retried: kind "rate" with the wait, or
// "server" (backoff computed by the caller), or "" for a final answer.
func (t *rateTransport) classify(resp *http.Response) (time.Duration, string) {
	switch resp.StatusCode {
	case http.StatusForbidden, http.StatusTooManyRequests:
		if d, ok := resilience.RetryAfter(resp.Header.Get("Retry-After"), t.now()); ok {
			return d, "rate"
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			// Primary exhaustion: the pre-send check waits until reset.
			return 0, "rate"
		}
		if resp.StatusCode == http.StatusTooManyRequests || isSecondaryBody(resp) {
			return defaultSecondary, "rate"
		}
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return 0, "server"
	}
	return 0, ""
}

// isSecondaryBody peeks at a 403 body for GitHub's secondary-limit message,
// leaving the body readable.
func isSecondaryBody(resp *http.Response) bool {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	s := string(b)
	return strings.Contains(s, "secondary rate limit") || strings.Contains(s, "abuse")
}
