package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/exposition"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
	"github.com/crossteam/crossteam/shard"
	"github.com/crossteam/crossteam/sim"
	"github.com/crossteam/crossteam/store"
)

// simServed is a simulated world served by the fake GitHub and Jira on
// loopback, with its tokens in files: Config renders a configuration of it
// with the store at storePath.
type simServed struct {
	w              *sim.World
	ghURL, jiraURL string
	tok, jtok      string
}

func serveSim(t *testing.T, p sim.Params) *simServed {
	t.Helper()
	w, err := sim.Generate(p)
	if err != nil {
		t.Fatal(err)
	}
	ghSrv := httptest.NewServer(fakegithub.NewGitHub(w.Org, fakegithub.GitHubOptions{Tokens: []string{w.GitHubToken}}))
	t.Cleanup(ghSrv.Close)
	jiraSrv := httptest.NewServer(fakejira.NewAPI(w.JiraSite(), w.JiraOptions()))
	t.Cleanup(jiraSrv.Close)
	w.SetJiraURL(jiraSrv.URL)
	dir := t.TempDir()
	s := &simServed{w: w, ghURL: ghSrv.URL, jiraURL: jiraSrv.URL, tok: filepath.Join(dir, "token"), jtok: filepath.Join(dir, "jira-token")}
	if err := os.WriteFile(s.tok, []byte(w.GitHubToken), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.jtok, []byte(w.JiraToken()), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// Config is the world's configuration with the store at storePath.
func (s *simServed) Config(t *testing.T, storePath string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(s.w.Config(sim.ConfigOptions{GitHubURL: s.ghURL + "/", TokenFile: s.tok,
		JiraURL: s.jiraURL, JiraTokenFile: s.jtok, StorePath: storePath})))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestTargetLogsNameTargetOnce: the collectors' log lines carry source and
// target once each (newTargets used to add them a second time).
func TestTargetLogsNameTargetOnce(t *testing.T) {
	p := sim.Small()
	p.Repos, p.ItemsPerRepo, p.JiraProjects, p.JiraIssuesPerProject = 1, 10, 1, 10
	srv := serveSim(t, p)
	cfg := srv.Config(t, filepath.Join(t.TempDir(), "s.db"))
	w := srv.w
	st, err := store.Open(context.Background(), cfg.Store.Path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	targets, err := newTargets(cfg, st, exposition.NewHealth(), logger, w.Clock.Now, shard.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if err := tg.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	lines := 0
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.Contains(l, "source=") {
			continue
		}
		lines++
		if strings.Count(l, " source=") != 1 || strings.Count(l, " target=") != 1 {
			t.Errorf("attributes repeated: %s", l)
		}
	}
	if lines == 0 {
		t.Fatalf("no collector log line with source=:\n%s", logs.String())
	}
}
