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

// TestTargetLogsNameTargetOnce: the collectors' log lines carry source and
// target once each (newTargets used to add them a second time).
func TestTargetLogsNameTargetOnce(t *testing.T) {
	p := sim.Small()
	p.Repos, p.ItemsPerRepo, p.JiraProjects, p.JiraIssuesPerProject = 1, 10, 1, 10
	w, err := sim.Generate(p)
	if err != nil {
		t.Fatal(err)
	}
	ghSrv := httptest.NewServer(fakegithub.NewGitHub(w.Org, fakegithub.GitHubOptions{Tokens: []string{w.GitHubToken}}))
	defer ghSrv.Close()
	jiraSrv := httptest.NewServer(fakejira.NewAPI(w.JiraSite(), w.JiraOptions()))
	defer jiraSrv.Close()
	w.SetJiraURL(jiraSrv.URL)
	dir := t.TempDir()
	tok, jtok := filepath.Join(dir, "token"), filepath.Join(dir, "jira-token")
	if err := os.WriteFile(tok, []byte(w.GitHubToken), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jtok, []byte(w.JiraToken()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(w.Config(sim.ConfigOptions{GitHubURL: ghSrv.URL + "/", TokenFile: tok,
		JiraURL: jiraSrv.URL, JiraTokenFile: jtok, StorePath: filepath.Join(dir, "s.db")})))
	if err != nil {
		t.Fatal(err)
	}
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
