package fakeapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// EndpointUnknown is the endpoint of a request no route matched (404).
const EndpointUnknown = "unknown"

// Request is one entry of the request log.
type Request struct {
	ID          int64
	Time        time.Time // Org clock when the request arrived (after injected latency)
	Method      string
	Path        string // as received, including any /api/v3 prefix
	Query       string // raw query
	Endpoint    string // an Endpoint* constant
	Repo        string // "owner/name" for repository endpoints, when known
	Token       string // the token presented ("" for none)
	Conditional bool   // If-None-Match was sent
	Status      int
	Cost        bool   // counted against the primary rate limit
	Points      int    // GitHub GraphQL: the query's cost in points (counted against the graphql limit)
	Fault       string // injected fault: "", "spike", "secondary", "5xx", "truncate", "malformed", "notfound", "broken"
}

// ErrNotFound is wrapped by mutator errors about unknown repositories,
// issues, milestones, comments or teams.
var ErrNotFound = errors.New("not found")

// Marshal encodes v like GitHub and Jira (no HTML escaping, no trailing newline).
func Marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("fakeapi: encoding %T: %v", v, err))
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// ManualClock is a settable clock for deterministic tests and simulations:
// assign its Now method to Org.Now.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock stopped at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
