package exposition

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestHealthTransportCountsCodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "4999")
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	h := NewHealth()
	c := &http.Client{Transport: h.Transport("github", "acme", nil)}
	for _, p := range []string{"/a", "/b", "/missing"} {
		resp, err := c.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if _, err := c.Get("http://127.0.0.1:1/unreachable"); err == nil {
		t.Fatal("expected a transport error")
	}
	want := `
# HELP crossteam_api_requests_total API requests sent to the target, by HTTP status code (0 for transport errors).
# TYPE crossteam_api_requests_total counter
crossteam_api_requests_total{code="0",source="github",target="acme"} 1
crossteam_api_requests_total{code="200",source="github",target="acme"} 2
crossteam_api_requests_total{code="404",source="github",target="acme"} 1
# HELP crossteam_api_rate_limit_remaining API requests left in the current rate-limit window, as the source last reported.
# TYPE crossteam_api_rate_limit_remaining gauge
crossteam_api_rate_limit_remaining{source="github",target="acme"} 4999
`
	if err := testutil.CollectAndCompare(h, strings.NewReader(want), "crossteam_api_requests_total", "crossteam_api_rate_limit_remaining"); err != nil {
		t.Error(err)
	}
	problems, err := testutil.CollectAndLint(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(h); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

func TestSyncDoneReportsChanges(t *testing.T) {
	h := NewHealth()
	now := time.Unix(1000, 0)
	e1, e2 := errors.New("500 from GET /repos/acme/web/issues"), errors.New("404 from GET /repos/acme/web/issues")
	steps := []struct {
		err  error
		want bool
	}{{e1, true}, {e1, false}, {e1, false}, {e2, true}, {nil, true}, {nil, false}, {e2, true}}
	for i, s := range steps {
		if got := h.SyncDone("github", "acme", time.Second, s.err, now); got != s.want {
			t.Errorf("step %d (%v): changed = %v, want %v", i, s.err, got, s.want)
		}
	}
}

// TestHealthRateLimitPerResource: GitHub reports the REST ("core") and
// GraphQL budgets on alternate answers; the gauge is the lower of those
// whose window is still running, not whichever answered last.
func TestHealthRateLimitPerResource(t *testing.T) {
	type answer struct {
		resource, remaining string
		reset               time.Time
	}
	future, past := time.Now().Add(time.Hour), time.Now().Add(-time.Minute)
	var next answer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Resource", next.resource)
		w.Header().Set("X-RateLimit-Remaining", next.remaining)
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(next.reset.Unix(), 10))
	}))
	defer srv.Close()
	h := NewHealth()
	c := &http.Client{Transport: h.Transport("github", "acme", nil)}
	for _, tc := range []struct {
		a    answer
		want string
	}{
		{answer{"core", "4000", future}, "4000"},
		{answer{"graphql", "150", future}, "150"},
		{answer{"core", "3999", future}, "150"},  // not the last answer's
		{answer{"graphql", "90", past}, "90"},    // (a late answer of an ended window)
		{answer{"core", "3998", future}, "3998"}, // the graphql window is over
	} {
		next = tc.a
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := "# HELP crossteam_api_rate_limit_remaining API requests left in the current rate-limit window, as the source last reported.\n" +
			"# TYPE crossteam_api_rate_limit_remaining gauge\n" +
			`crossteam_api_rate_limit_remaining{source="github",target="acme"} ` + tc.want + "\n"
		if err := testutil.CollectAndCompare(h, strings.NewReader(want), "crossteam_api_rate_limit_remaining"); err != nil {
			t.Errorf("after %+v: %v", tc.a, err)
		}
	}
}
