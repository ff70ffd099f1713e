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
//
// One rateTransport serves every repository a Sync runs at once, so a
// wait is everybody's: a spent budget holds every request of its
// resource until the reset, and a secondary limit (which GitHub counts
// for the token, REST and GraphQL together) holds every request until
// its Retry-After has passed, not only the one that met it ("continuing
// to make requests while you are rate limited may result in the banning
// of your integration").
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
	// hold: no request is sent before it (a secondary limit's wait).
	hold time.Time
	// Requests in flight per budget, and a channel closed (and replaced)
	// whenever one comes back: with several repositories at once the
	// last requests of a budget must not all be sent on one Remaining
	// (each is admitted only while Remaining exceeds those in flight).
	inflight, gqlInflight int
	returned              chan struct{}
	// answered: an answer came back since the budget became unknown (the
	// start, a reset passed); until then one request at a time learns it.
	answered, gqlAnswered bool
}

// spent records a budget as spent until reset (a GraphQL RATE_LIMITED
// answer, which may not say so in its headers), so that every request
// of that resource waits for the reset.
func (t *rateTransport) spent(graphql bool, reset time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if graphql {
		t.gqlRemaining, t.gqlReset = 0, reset
	} else {
		t.remaining, t.reset = 0, reset
	}
}

// holdFor holds every request for d from now (a later hold wins).
func (t *rateTransport) holdFor(d time.Duration) {
	until := t.now().Add(d)
	t.mu.Lock()
	if until.After(t.hold) {
		t.hold = until
	}
	t.mu.Unlock()
}

// waitHold sleeps until the current hold has passed. The first waiter to
// wake clears the hold it waited for (the clock of tests moves only by
// sleeps); a later hold set meanwhile is waited for in turn.
func (t *rateTransport) waitHold(ctx context.Context) error {
	for {
		t.mu.Lock()
		h := t.hold
		t.mu.Unlock()
		if h.IsZero() {
			return nil
		}
		if d := h.Sub(t.now()); d > 0 {
			if err := t.sleep(ctx, d); err != nil {
				return err
			}
		}
		t.mu.Lock()
		if t.hold.Equal(h) {
			t.hold = time.Time{}
		}
		t.mu.Unlock()
	}
}

func (t *rateTransport) rate() (remaining int, reset time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.remaining, t.reset
}

func (t *rateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	rateWaits, serverRetries := 0, 0
	for {
		if err := t.admit(ctx, isGraphQLRequest(r)); err != nil {
			return nil, err
		}
		req := r.Clone(ctx)
		if r.GetBody != nil { // a POST (GraphQL) resent after a wait needs its body again
			b, err := r.GetBody()
			if err != nil {
				t.release(isGraphQLRequest(r))
				return nil, err
			}
			req.Body = b
		}
		resp, err := t.next.RoundTrip(req)
		if err != nil {
			t.release(isGraphQLRequest(r))
			return nil, err
		}
		t.observe(resp, isGraphQLRequest(r))
		t.release(isGraphQLRequest(r))
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
		switch {
		case kind == "rate" && wait > 0:
			t.holdFor(wait) // waited for at the top, by every request
		case wait > 0:
			if err := t.sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
	}
}

// admit returns when a request of the budget (graphql or core) may be
// sent, counted in flight: never during a hold, never before the reset
// when the budget is known to be spent, never while the requests in flight would spend
// what Remaining says is left (it waits for one of them to come back: a
// 304 costs nothing, so their answers may leave some), and only one
// while the budget is unknown (an endpoint that sends no rate headers
// is learned from that one answer too).
func (t *rateTransport) admit(ctx context.Context, graphql bool) error {
	for {
		if err := t.waitHold(ctx); err != nil { // every wait ends here: a hold set meanwhile counts
			return err
		}
		t.mu.Lock()
		rem, reset, inflight, answered := &t.remaining, t.reset, &t.inflight, &t.answered
		if graphql {
			rem, reset, inflight, answered = &t.gqlRemaining, t.gqlReset, &t.gqlInflight, &t.gqlAnswered
		}
		switch {
		case *rem == 0 && !reset.IsZero():
			t.mu.Unlock()
			if d := reset.Add(resetMargin).Sub(t.now()); d > 0 {
				if err := t.sleep(ctx, d); err != nil {
					return err
				}
			}
			t.mu.Lock()
			if *rem == 0 { // past the reset: unknown until the next answer
				*rem, *answered = -1, false
			}
			t.mu.Unlock()
		case (*rem > 0 && *inflight >= *rem) || (!*answered && *inflight > 0):
			if t.returned == nil {
				t.returned = make(chan struct{})
			}
			ch := t.returned
			t.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		default:
			*inflight++
			t.mu.Unlock()
			return nil
		}
	}
}

// release counts a request of admit's as answered (observe has read its
// headers) and wakes the requests waiting for one.
func (t *rateTransport) release(graphql bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if graphql {
		t.gqlInflight--
		t.gqlAnswered = true
	} else {
		t.inflight--
		t.answered = true
	}
	if t.returned != nil {
		close(t.returned)
		t.returned = nil
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
	defer t.mu.Unlock()
	cur, curReset := &t.remaining, &t.reset
	if graphql {
		cur, curReset = &t.gqlRemaining, &t.gqlReset
	}
	// Answers of requests sent at once come back in any order: within a
	// window Remaining only goes down, so the lowest is the truth, and an
	// answer from a window already over says nothing.
	switch r := time.Unix(reset, 0); {
	case r.Before(*curReset):
	case r.Equal(*curReset) && *cur >= 0:
		*cur = min(*cur, rem)
	default:
		*cur, *curReset = rem, r
	}
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
