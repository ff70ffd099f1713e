package collectors

import "github.com/crossteam/crossteam/resilience"

// RequestTimeout and TimeoutTransport live in the resilience package with
// the rest of the HTTP resilience; these names stay for existing callers.
const RequestTimeout = resilience.RequestTimeout

// TimeoutTransport gives every request through next its own deadline.
var TimeoutTransport = resilience.TimeoutTransport
