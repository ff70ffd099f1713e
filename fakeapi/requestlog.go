package fakeapi

import (
	"strconv"
	"sync"
)

// RequestLog is the request log of a fake API (GitHub, Jira), embedded in
// its handler: every answered request, oldest first, at most Max entries
// (when full, the older half is dropped, so a long simulation keeps its
// recent history).
type RequestLog struct {
	Max   int
	logMu sync.Mutex
	log   []Request
}

// Record logs one answered request.
func (l *RequestLog) Record(rec Request) {
	l.logMu.Lock()
	defer l.logMu.Unlock()
	if len(l.log) >= l.Max {
		l.log = append(l.log[:0:0], l.log[len(l.log)/2:]...)
	}
	l.log = append(l.log, rec)
}

// Requests returns a copy of the request log, oldest first.
func (l *RequestLog) Requests() []Request {
	l.logMu.Lock()
	defer l.logMu.Unlock()
	return append([]Request(nil), l.log...)
}

// ResetRequests clears the request log.
func (l *RequestLog) ResetRequests() {
	l.logMu.Lock()
	l.log = nil
	l.logMu.Unlock()
}

// Count returns the number of logged requests for which match is true
// (all of them when match is nil).
func (l *RequestLog) Count(match func(Request) bool) int {
	l.logMu.Lock()
	defer l.logMu.Unlock()
	n := 0
	for _, r := range l.log {
		if match == nil || match(r) {
			n++
		}
	}
	return n
}

// CountByEndpoint returns the number of logged requests per endpoint and
// status, keyed "endpoint status", e.g. "issues 304" or
// "jira_search_jql 200".
func (l *RequestLog) CountByEndpoint() map[string]int {
	l.logMu.Lock()
	defer l.logMu.Unlock()
	out := map[string]int{}
	for _, r := range l.log {
		out[r.Endpoint+" "+strconv.Itoa(r.Status)]++
	}
	return out
}
