package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/fakeapi"
	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
)

const (
	jiraServeEmail = "bot@example.com"
	jiraServeToken = "jira-serve-token-0123456789"
)

// fakeJiraSite serves a Jira Cloud site where A-1 moves from design's
// status to backend's.
func fakeJiraSite(t *testing.T) *httptest.Server {
	t.Helper()
	clock := fakeapi.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s := fakejira.NewSite()
	s.Now = clock.Now
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.AddProject(fakejira.Project{Key: "A"}))
	must(s.AddStatus(fakejira.Status{Name: "In Design", Category: fakejira.CategoryIndeterminate}))
	must(s.CreateIssue(fakejira.Issue{Project: "A", Summary: "Checkout flow", Reporter: "acc-alice"}))
	clock.Advance(time.Hour)
	must(s.Transition("A-1", "In Design", "acc-alice", time.Time{}))
	clock.Advance(2 * time.Hour)
	must(s.Transition("A-1", "In Progress", "acc-bob", time.Time{}))
	srv := httptest.NewServer(fakejira.NewAPI(s, fakejira.Options{Users: map[string]string{jiraServeEmail: jiraServeToken}}))
	t.Cleanup(srv.Close)
	return srv
}

// TestServeJira runs serve with a GitHub target, a healthy Jira Cloud site
// and a misconfigured one (a Cloud site declared as datacenter): the
// healthy targets sync and export, the broken one is down without stopping
// them, and its error tells the user what to set.
func TestServeJira(t *testing.T) {
	gh := fakeOrg(t)
	jira := fakeJiraSite(t)
	dir := t.TempDir()
	cfgPath := writeServeConfig(t, dir, gh.URL)
	tokenFile := filepath.Join(dir, "jira_token")
	if err := os.WriteFile(tokenFile, []byte(jiraServeToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(cfg), "    markers: {github_labels: [\"team:design\"]}",
		"    markers: {github_labels: [\"team:design\"], jira_statuses: [{name: In Design}]}", 1)
	text = strings.Replace(text, "    markers: {github_labels: [\"team:backend\"]}",
		"    markers: {github_labels: [\"team:backend\"], jira_statuses: [{name: In Progress}]}", 1)
	text = strings.Replace(text, "store:", `  jira:
    - name: jira-ok
      url: `+jira.URL+`
      deployment: cloud
      email: `+jiraServeEmail+`
      token_file: `+tokenFile+`
      projects: [A]
    - name: jira-broken
      url: `+jira.URL+`
      deployment: datacenter
      email: `+jiraServeEmail+`
      token_file: `+tokenFile+`
      projects: [A]
store:`, 1)
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	logs := &syncBuffer{}
	stop := startServe(t, cfgPath, addr, logs)
	defer stop()

	var metrics string
	waitFor(t, "both sources in /metrics", func() bool {
		_, metrics = get(t, base+"/metrics")
		return strings.Contains(metrics, `crossteam_handoffs_total{from_team="design",source="jira",to_team="backend"} 1`) &&
			strings.Contains(metrics, `crossteam_handoffs_total{from_team="design",source="github",to_team="backend"} 1`) &&
			strings.Contains(metrics, `crossteam_source_up{source="jira",target="jira-broken"} 0`) &&
			// source_up is 0 before a target's first sync too: wait for
			// the broken target's answer itself.
			strings.Contains(metrics, `crossteam_api_requests_total{code="410",endpoint="/rest/api/2/search",source="jira",target="jira-broken"} 1`) &&
			// The handoff series appear once a page is stored, before the
			// sync is done and source_up set: wait for both (1 in 6 runs
			// with -race failed without this).
			strings.Contains(metrics, `crossteam_source_up{source="jira",target="jira-ok"} 1`) &&
			strings.Contains(metrics, `crossteam_source_up{source="github",target="acme"} 1`)
	})
	for _, want := range []string{
		`crossteam_source_up{source="jira",target="jira-ok"} 1`,
		`crossteam_source_up{source="github",target="acme"} 1`,
		// field, status, issueLinkType, one search page, one bulkfetch:
		// 3 + ceil(1/100) + ceil(1/1000).
		`crossteam_api_requests_total{code="200",endpoint="/rest/api/3/field",source="jira",target="jira-ok"} 1`,
		`crossteam_api_requests_total{code="200",endpoint="/rest/api/3/status",source="jira",target="jira-ok"} 1`,
		`crossteam_api_requests_total{code="200",endpoint="/rest/api/3/issueLinkType",source="jira",target="jira-ok"} 1`,
		`crossteam_api_requests_total{code="200",endpoint="/rest/api/3/search/jql",source="jira",target="jira-ok"} 1`,
		`crossteam_api_requests_total{code="200",endpoint="/rest/api/3/changelog/bulkfetch",source="jira",target="jira-ok"} 1`,
		// A Data Center target pointed at Cloud: the removed search answers 410.
		`crossteam_api_requests_total{code="410",endpoint="/rest/api/2/search",source="jira",target="jira-broken"} 1`,
		`crossteam_api_request_duration_seconds_count{endpoint="/rest/api/3/search/jql",source="jira",target="jira-ok"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	waitFor(t, "the broken target's error in the log", func() bool {
		return strings.Contains(logs.String(), "set `deployment: cloud`")
	})
	if strings.Contains(logs.String(), jiraServeToken) {
		t.Error("the Jira token appears in the log")
	}
}
