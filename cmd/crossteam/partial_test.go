package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/fakeapi"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
)

// TestServePartialFailure: one GitHub repository answers 404 forever and
// one Jira project does not exist (Jira answers 400 for it), each in its own
// target, beside a healthy GitHub target and a Jira target whose other
// project is fine. Every healthy part keeps syncing and exporting;
// crossteam_source_up is 0 only for the targets holding the broken part,
// and the log names the repository and the project.
func TestServePartialFailure(t *testing.T) {
	org := fakegithub.NewOrg()
	clock := fakeapi.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	org.Now = clock.Now
	for _, r := range []string{"acme/web", "acme/gone"} {
		if err := org.AddRepo(r); err != nil {
			t.Fatal(err)
		}
	}
	is, err := org.AddIssue("acme/web", fakegithub.Issue{Title: "Checkout", User: "alice", Labels: []string{"team:design"}})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	for _, ev := range []fakegithub.Event{
		{Issue: is.Number, Type: "unlabeled", Actor: "alice", Label: "team:design"},
		{Issue: is.Number, Type: "labeled", Actor: "alice", Label: "team:backend"},
	} {
		if _, err := org.AddEvent("acme/web", ev); err != nil {
			t.Fatal(err)
		}
	}
	gh := fakegithub.NewGitHub(org, fakegithub.GitHubOptions{Tokens: []string{serveToken},
		Faults: fakeapi.Faults{NotFoundRepos: []string{"acme/gone"}}})
	ghSrv := httptest.NewServer(gh)
	defer ghSrv.Close()
	jira := fakeJiraSite(t)

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	jiraTokenFile := filepath.Join(dir, "jira_token")
	for f, v := range map[string]string{tokenFile: serveToken, jiraTokenFile: jiraServeToken} {
		if err := os.WriteFile(f, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := `
teams:
  design: {members: [alice, acc-alice], markers: {github_labels: ["team:design"], jira_statuses: [{name: In Design}]}}
  backend: {members: [bob, acc-bob], markers: {github_labels: ["team:backend"], jira_statuses: [{name: In Progress}]}}
sources:
  github:
    - {name: web, base_url: "` + ghSrv.URL + `/", repos: [acme/web], token_file: ` + tokenFile + `}
    - {name: gone, base_url: "` + ghSrv.URL + `/", repos: [acme/gone], token_file: ` + tokenFile + `}
  jira:
    - {name: jira-ok, url: "` + jira.URL + `", email: ` + jiraServeEmail + `, token_file: ` + jiraTokenFile + `, projects: [A]}
    - {name: jira-partly, url: "` + jira.URL + `", email: ` + jiraServeEmail + `, token_file: ` + jiraTokenFile + `, projects: [A, NOPE]}
store:
  path: ` + filepath.Join(dir, "crossteam.db") + `
sync:
  interval: 1h
`
	cfgPath := filepath.Join(dir, "crossteam.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	logs := &syncBuffer{}
	stop := startServe(t, cfgPath, addr, logs)
	defer stop()

	// The targets sync concurrently and each publishes its health when it
	// is done: wait until all four have (the handoffs alone can come from
	// jira-partly's project A before jira-ok has finished).
	up := []string{
		`crossteam_source_up{source="github",target="web"} 1`,
		`crossteam_source_up{source="github",target="gone"} 0`,
		`crossteam_source_up{source="jira",target="jira-ok"} 1`,
		`crossteam_source_up{source="jira",target="jira-partly"} 0`,
	}
	var metrics string
	waitFor(t, "every target synced once", func() bool {
		_, metrics = get(t, "http://"+addr+"/metrics")
		for _, u := range up {
			if !strings.Contains(metrics, u) {
				return false
			}
		}
		return strings.Count(metrics, "crossteam_sync_duration_seconds{") == 4 &&
			strings.Contains(metrics, `crossteam_handoffs_total{from_team="design",source="github",to_team="backend"} 1`) &&
			strings.Contains(metrics, `crossteam_handoffs_total{from_team="design",source="jira",to_team="backend"} 1`)
	})
	for _, want := range append(up, `crossteam_api_requests_total{code="404",endpoint="/repos/{owner}/{repo}/issues",source="github",target="gone"} `) {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, want := range []string{"acme/gone", "NOPE"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not name %s:\n%s", want, logs.String())
		}
	}
}
