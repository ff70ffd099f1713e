// Package fakeapi holds what the fake GitHub (fakeapi/github) and the fake
// Jira (fakeapi/jira) share: the fault knobs (Faults, ParseFaults: latency
// and spikes, 5xx, secondary-limit episodes with Retry-After, truncated or
// malformed bodies, pagination caps), the request log each handler embeds
// (RequestLog, Request), the manual clock tests and the simulator drive
// (ManualClock), GitHub- and Jira-style JSON encoding (Marshal) and the
// loopback server of `crossteam demo` and the benchmark harness
// (ServeLoopback). Each fake mirrors the collector of the same name.
package fakeapi
