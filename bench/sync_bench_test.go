package bench

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	ghcollector "github.com/crossteam/crossteam/collectors/github"
	"github.com/crossteam/crossteam/config"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	"github.com/crossteam/crossteam/sim"
	"github.com/crossteam/crossteam/store"
)

// BenchmarkGitHubFullSync runs the GitHub collector in-process against the
// fake (4 repositories × 1000 items) into a fresh store: the loop to
// profile (-cpuprofile) when the harness's full sync is slow.
func BenchmarkGitHubFullSync(b *testing.B) {
	p := sim.Large()
	p.Repos, p.ItemsPerRepo, p.JiraProjects = 4, 1000, 0
	p.Now = time.Now().UTC().Truncate(time.Second)
	w, err := sim.Generate(p)
	if err != nil {
		b.Fatal(err)
	}
	w.Clock.Set(time.Now().UTC())
	gh := fakegithub.NewGitHub(w.Org, fakegithub.GitHubOptions{Tokens: []string{w.GitHubToken}, RateLimit: 10_000_000})
	srv := httptest.NewServer(gh)
	defer srv.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	events := 0
	for _, r := range w.Repos {
		events += len(w.Org.Events(r))
	}
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		tok := filepath.Join(dir, "tok")
		if err := writeFile(tok, w.GitHubToken); err != nil {
			b.Fatal(err)
		}
		cfg, err := config.Parse([]byte(w.Config(sim.ConfigOptions{GitHubURL: srv.URL + "/", TokenFile: tok, StorePath: filepath.Join(dir, "s.db")})))
		if err != nil {
			b.Fatal(err)
		}
		st, err := store.Open(context.Background(), cfg.Store.Path, logger)
		if err != nil {
			b.Fatal(err)
		}
		c, err := ghcollector.New(ghcollector.Options{Config: cfg, Target: cfg.Sources.GitHub[0], Store: st, Logger: logger})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := c.Sync(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "issue_events/s")
}

func writeFile(path, s string) error {
	return os.WriteFile(path, []byte(s+"\n"), 0o600)
}
