package resilience

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestTimeoutTransport: a server that never answers, and one that stalls
// in the middle of its body, both fail within the deadline with
// context.DeadlineExceeded; a prompt answer is read whole.
func TestTimeoutTransport(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/stall":
			w.Write([]byte(`[{"id":1},`))
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			w.Write([]byte(`[]`))
		}
	}))
	defer srv.Close()
	c := &http.Client{Transport: TimeoutTransport(nil, 200*time.Millisecond)}
	for _, path := range []string{"/hang", "/stall"} {
		start := time.Now()
		resp, err := c.Get(srv.URL + path)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: err = %v, want the deadline", path, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v", path, d)
		}
	}
	resp, err := c.Get(srv.URL + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "[]" {
		t.Errorf("prompt answer: %q, %v", b, err)
	}
}
