package exposition

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/crossteam/crossteam/catalogue"
	"github.com/crossteam/crossteam/fakeapi"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
)

// TestAPIMetricsFakes: requests through Health.Transport to the fake
// GitHub and Jira, counted by endpoint template and code, timed, and their
// rate-limit headers exported, with hand-computed values.
func TestAPIMetricsFakes(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC) // 1796299200
	clock := fakeapi.NewManualClock(t0)

	org := fakegithub.NewOrg()
	org.Now = clock.Now
	if err := org.AddRepo("acme/web"); err != nil {
		t.Fatal(err)
	}
	if _, err := org.AddIssue("acme/web", fakegithub.Issue{Number: 1, Title: "x", User: "ana", CreatedAt: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	fake := fakegithub.NewGitHub(org, fakegithub.GitHubOptions{Tokens: []string{"tok"}, RateLimit: 10})
	gh := httptest.NewServer(fake)
	defer gh.Close()

	site := fakejira.NewSite()
	site.Now = clock.Now
	if _, err := site.AddProject(fakejira.Project{Key: "CORE"}); err != nil {
		t.Fatal(err)
	}
	jira := httptest.NewServer(fakejira.NewAPI(site, fakejira.Options{Users: map[string]string{"bot@acme.example": "jtok"}, RateLimit: 50, RateWindow: 10 * time.Minute}))
	defer jira.Close()

	h := NewHealth()
	ghc := &http.Client{Transport: h.Transport("github", "gh", nil)}
	jc := &http.Client{Transport: h.Transport("jira", "jr", nil)}
	do := func(c *http.Client, url, auth, inm string, basic ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if len(basic) == 2 {
			req.SetBasicAuth(basic[0], basic[1])
		}
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("ETag")
	}
	// GitHub: 2 quota-costing 200s, a free 304, a costing 404, the free
	// /rate_limit, and a 401 without rate-limit headers.
	code, tag := do(ghc, gh.URL+"/repos/acme/web/issues", "Bearer tok", "")
	if code != 200 || tag == "" {
		t.Fatalf("issues: %d, ETag %q", code, tag)
	}
	for _, tc := range []struct {
		path, auth, inm string
		want            int
	}{
		{"/repos/acme/web/issues", "Bearer tok", tag, 304},
		{"/repos/acme/web/issues/1/events", "Bearer tok", "", 200},
		{"/repos/acme/nope/issues", "Bearer tok", "", 404},
		{"/rate_limit", "Bearer tok", "", 200},
		{"/repos/acme/web/issues", "Bearer wrong", "", 401},
	} {
		if code, _ := do(ghc, gh.URL+tc.path, tc.auth, tc.inm); code != tc.want {
			t.Fatalf("GET %s = %d, want %d", tc.path, code, tc.want)
		}
	}
	// Jira: 3 requests in a 50-request window opened at t0.
	for _, p := range []string{"/rest/api/3/myself", "/rest/api/3/search/jql?jql=project%3DCORE", "/rest/api/3/field"} {
		if code, _ := do(jc, jira.URL+p, "", "", "bot@acme.example", "jtok"); code != 200 {
			t.Fatalf("GET %s = %d", p, code)
		}
	}
	// A transport error counts as code 0 under its endpoint.
	if _, err := ghc.Get("http://127.0.0.1:1/repos/acme/web/milestones"); err == nil {
		t.Fatal("expected a transport error")
	}

	const (
		issues = "/repos/{owner}/{repo}/issues"
		events = "/repos/{owner}/{repo}/issues/{number}/events"
	)
	want := fmt.Sprintf(`
# HELP crossteam_api_requests_total %[1]s
# TYPE crossteam_api_requests_total counter
crossteam_api_requests_total{code="200",endpoint="%[2]s",source="github",target="gh"} 1
crossteam_api_requests_total{code="304",endpoint="%[2]s",source="github",target="gh"} 1
crossteam_api_requests_total{code="404",endpoint="%[2]s",source="github",target="gh"} 1
crossteam_api_requests_total{code="401",endpoint="%[2]s",source="github",target="gh"} 1
crossteam_api_requests_total{code="200",endpoint="%[3]s",source="github",target="gh"} 1
crossteam_api_requests_total{code="200",endpoint="/rate_limit",source="github",target="gh"} 1
crossteam_api_requests_total{code="0",endpoint="/repos/{owner}/{repo}/milestones",source="github",target="gh"} 1
crossteam_api_requests_total{code="200",endpoint="/rest/api/3/myself",source="jira",target="jr"} 1
crossteam_api_requests_total{code="200",endpoint="/rest/api/3/search/jql",source="jira",target="jr"} 1
crossteam_api_requests_total{code="200",endpoint="/rest/api/3/field",source="jira",target="jr"} 1
# HELP crossteam_api_rate_limit_remaining %[4]s
# TYPE crossteam_api_rate_limit_remaining gauge
crossteam_api_rate_limit_remaining{resource="core",source="github",target="gh"} 7
crossteam_api_rate_limit_remaining{resource="default",source="jira",target="jr"} 47
# HELP crossteam_api_rate_limit_limit %[5]s
# TYPE crossteam_api_rate_limit_limit gauge
crossteam_api_rate_limit_limit{resource="core",source="github",target="gh"} 10
crossteam_api_rate_limit_limit{resource="default",source="jira",target="jr"} 50
# HELP crossteam_api_rate_limit_reset_timestamp_seconds %[6]s
# TYPE crossteam_api_rate_limit_reset_timestamp_seconds gauge
crossteam_api_rate_limit_reset_timestamp_seconds{resource="core",source="github",target="gh"} 1796302800
crossteam_api_rate_limit_reset_timestamp_seconds{resource="default",source="jira",target="jr"} 1796299800
`, help("api_requests_total"), issues, events, help("api_rate_limit_remaining"), help("api_rate_limit_limit"), help("api_rate_limit_reset_timestamp_seconds"))
	// GitHub: 10 - 3 costing requests (two 200s and the 404; the 304 and
	// /rate_limit are free), reset 1h after the first request; Jira: 50 -
	// 3, reset 10 minutes after t0.
	if err := testutil.CollectAndCompare(h, strings.NewReader(want), "crossteam_api_requests_total",
		"crossteam_api_rate_limit_remaining", "crossteam_api_rate_limit_limit", "crossteam_api_rate_limit_reset_timestamp_seconds"); err != nil {
		t.Error(err)
	}
	// The fake agrees on the remaining budget.
	if r := fake.RateStatus("tok"); r.Remaining != 7 || r.Reset.Unix() != 1796302800 {
		t.Errorf("fake GitHub's rate status %+v, want 7 remaining, reset 1796302800", r)
	}
	// Every request and transport error is timed: 4 on issues, 1 each on
	// events, /rate_limit and milestones; 3 Jira requests.
	for _, tc := range []struct {
		source, endpoint string
		want             int
	}{{"github", issues, 4}, {"github", events, 1}, {"github", "/rate_limit", 1}, {"github", "/repos/{owner}/{repo}/milestones", 1},
		{"jira", "/rest/api/3/myself", 1}, {"jira", "/rest/api/3/search/jql", 1}, {"jira", "/rest/api/3/field", 1}} {
		target := map[string]string{"github": "gh", "jira": "jr"}[tc.source]
		if got := histogramCount(t, h, "crossteam_api_request_duration_seconds", map[string]string{"source": tc.source, "target": target, "endpoint": tc.endpoint}); got != uint64(tc.want) {
			t.Errorf("%s %s: %d timed requests, want %d", tc.source, tc.endpoint, got, tc.want)
		}
	}
	problems, err := testutil.CollectAndLint(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func help(name string) string {
	m, ok := catalogue.ByName(catalogue.Namespace + "_" + name)
	if !ok {
		panic(name + " is not in the catalogue")
	}
	return m.Help
}

// histogramCount is the sample count of the series of a histogram with
// exactly these labels.
func histogramCount(t *testing.T, c prometheus.Collector, name string, labels map[string]string) uint64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range fams {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return m.GetHistogram().GetSampleCount()
		}
	}
	return 0
}
