package collectors

import (
	"context"
	"io"
	"net/http"
	"time"
)

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
