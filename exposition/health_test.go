package exposition

import (
	"errors"
	"net/http"
	"net/http/httptest"
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
# HELP crossteam_api_requests_total ` + help("api_requests_total") + `
# TYPE crossteam_api_requests_total counter
crossteam_api_requests_total{code="0",endpoint="other",source="github",target="acme"} 1
crossteam_api_requests_total{code="200",endpoint="other",source="github",target="acme"} 2
crossteam_api_requests_total{code="404",endpoint="other",source="github",target="acme"} 1
# HELP crossteam_api_rate_limit_remaining ` + help("api_rate_limit_remaining") + `
# TYPE crossteam_api_rate_limit_remaining gauge
crossteam_api_rate_limit_remaining{resource="default",source="github",target="acme"} 4999
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

// TestLinkTypesMissing: one series per missing link type of a target; a
// later load that finds them all drops the series.
func TestLinkTypesMissing(t *testing.T) {
	h := NewHealth()
	h.SetLinkTypesMissing("jira", "acme-jira", []string{"Depends", "Blocks"})
	want := `
# HELP crossteam_jira_link_types_missing 1 per link type in dependencies.jira_link_types that the Jira target does not have (GET /issueLinkType): its dependencies are not collected; the target keeps syncing.
# TYPE crossteam_jira_link_types_missing gauge
crossteam_jira_link_types_missing{link_type="Blocks",source="jira",target="acme-jira"} 1
crossteam_jira_link_types_missing{link_type="Depends",source="jira",target="acme-jira"} 1
`
	if err := testutil.CollectAndCompare(h, strings.NewReader(want), "crossteam_jira_link_types_missing"); err != nil {
		t.Error(err)
	}
	h.SetLinkTypesMissing("jira", "acme-jira", nil)
	if n := testutil.CollectAndCount(h, "crossteam_jira_link_types_missing"); n != 0 {
		t.Errorf("%d series after the types were found, want 0", n)
	}
}

// TestCommentsDeferred: one series per Jira target once its collector
// reported, with the last count (0 included).
func TestCommentsDeferred(t *testing.T) {
	h := NewHealth()
	if n := testutil.CollectAndCount(h, "crossteam_jira_comments_deferred"); n != 0 {
		t.Fatalf("%d series before any report, want 0", n)
	}
	h.SetCommentsDeferred("jira", "acme-jira", 7)
	h.SetCommentsDeferred("jira", "acme-jira", 3)
	h.SetCommentsDeferred("jira", "other", 0)
	want := `
# HELP crossteam_jira_comments_deferred Jira issues whose comments beyond the 20 Cloud's search embeds were not fetched, because under the current configuration they can change no metric (engine CommentJudge); a reload that makes them matter fetches them on the next sync.
# TYPE crossteam_jira_comments_deferred gauge
crossteam_jira_comments_deferred{source="jira",target="acme-jira"} 3
crossteam_jira_comments_deferred{source="jira",target="other"} 0
`
	if err := testutil.CollectAndCompare(h, strings.NewReader(want), "crossteam_jira_comments_deferred"); err != nil {
		t.Error(err)
	}
}
