package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	ghcollector "github.com/crossteam/crossteam/collectors/github"
	jiracollector "github.com/crossteam/crossteam/collectors/jira"
	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/fakeapi"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/sim"
	"github.com/crossteam/crossteam/store"
)

// childArgsEnv makes the test binary run crossteam's main instead of the
// tests, so the crash test can SIGKILL a real exporter process.
const childArgsEnv = "CROSSTEAM_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childArgsEnv); args != "" {
		os.Exit(run(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// crashWorld is the simulator's world sized so that a sync spans many pages
// of both APIs: GitHub repositories with issues, pull requests (reviews),
// GitHub teams (team members) and a Jira site whose users carry identities.
type crashWorld struct {
	w       *sim.World
	gh      *fakegithub.GitHub
	jira    *fakejira.API
	ghURL   string
	jiraURL string
	dir     string
	// interval is sync.interval of the generated configurations.
	interval string
	// comment, when set, is appended to the generated configuration (a
	// changed file, so that a reload is not skipped as unchanged).
	comment string
}

func newCrashWorld(t *testing.T, items, jiraIssues int) *crashWorld {
	t.Helper()
	p := sim.Small()
	// The exporter child runs on the real clock; a world ending now keeps
	// every item inside sync.since for it and for the reference run alike.
	p.Now = time.Now().UTC().Truncate(time.Minute)
	p.ItemsPerRepo = items
	p.JiraIssuesPerProject = jiraIssues
	w, err := sim.Generate(p)
	if err != nil {
		t.Fatal(err)
	}
	cw := &crashWorld{w: w, dir: t.TempDir(), interval: "1h"}
	cw.gh = fakegithub.NewGitHub(w.Org, fakegithub.GitHubOptions{Tokens: []string{w.GitHubToken}})
	srv := httptest.NewServer(cw.gh)
	t.Cleanup(srv.Close)
	cw.ghURL = srv.URL + "/"
	cw.jira = fakejira.NewAPI(w.JiraSite(), w.JiraOptions())
	jsrv := httptest.NewServer(cw.jira)
	t.Cleanup(jsrv.Close)
	cw.jiraURL = jsrv.URL
	w.SetJiraURL(jsrv.URL)
	for f, v := range map[string]string{"token": w.GitHubToken, "jira-token": w.JiraToken()} {
		if err := os.WriteFile(filepath.Join(cw.dir, f), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cw
}

// config writes the world's configuration for a store file and returns its
// path and the parsed configuration.
func (cw *crashWorld) config(t *testing.T, dbPath string) (string, *config.Config) {
	t.Helper()
	text := cw.w.Config(sim.ConfigOptions{GitHubURL: cw.ghURL, TokenFile: filepath.Join(cw.dir, "token"),
		JiraURL: cw.jiraURL, JiraTokenFile: filepath.Join(cw.dir, "jira-token"), StorePath: dbPath, SyncInterval: cw.interval})
	if cw.comment != "" {
		text += "# " + cw.comment + "\n"
	}
	path := filepath.Join(cw.dir, filepath.Base(dbPath)+".yml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return path, cfg
}

// requests is the number of requests both fake APIs answered.
func (cw *crashWorld) requests() int { return cw.gh.Count(nil) + cw.jira.Count(nil) }

func (cw *crashWorld) setFaults(f fakeapi.Faults) {
	cw.gh.SetFaults(f)
	cw.jira.SetFaults(f)
}

func (cw *crashWorld) resetRequests() {
	cw.gh.ResetRequests()
	cw.jira.ResetRequests()
}

// syncToEnd syncs every configured target in-process until a sync of each
// succeeded.
func syncToEnd(t *testing.T, cfg *config.Config, dbPath string) *store.Store {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, dbPath, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := exposition.NewHealth()
	gc, err := ghcollector.New(ghcollector.Options{Config: cfg, Target: cfg.Sources.GitHub[0], Store: st,
		Transport: h.Transport("github", cfg.Sources.GitHub[0].Name, nil), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	jc, err := jiracollector.New(jiracollector.Options{Config: cfg, Target: cfg.Sources.Jira[0], Store: st,
		Transport: h.Transport("jira", cfg.Sources.Jira[0].Name, nil), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []interface{ Sync(context.Context) error }{gc, jc} {
		for i := 0; ; i++ {
			if err := c.Sync(ctx); err == nil {
				break
			} else if i == 5 {
				t.Fatalf("sync never completed: %v", err)
			}
		}
	}
	return st
}

func sortedDataset(t *testing.T, st *store.Store) *model.Dataset {
	t.Helper()
	ds, err := st.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Same-instant events of one item may be stored in a different order
	// when a page is re-fetched after a crash; compare them by id.
	sort.SliceStable(ds.Events, func(i, j int) bool {
		a, b := ds.Events[i], ds.Events[j]
		if a.Source != b.Source || a.ItemKey != b.ItemKey || !a.At.Equal(b.At) {
			return false
		}
		return a.ID < b.ID
	})
	return ds
}

func paid(g *fakegithub.GitHub) int {
	return g.Count(func(r fakeapi.Request) bool { return r.Cost })
}

// startChild starts the exporter as a child process (the test binary
// running main, see TestMain).
func startChild(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childArgsEnv+"="+strings.Join(args, "\x1f"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A test that fails halfway leaves no exporter behind (after Wait,
	// Kill is a no-op).
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// TestCrashRecovery kills a real exporter process (SIGKILL) at seeded
// random points of its sync of a GitHub and a Jira target, restarts it
// each time, lets the restarted exporter finish the sync, and checks: the
// SQLite file is sound after every kill; the final store (items, events,
// milestones, team members, identities) equals a run without kills; a
// further sync changes nothing and pays nothing; and the kills cost at
// most a bounded number of re-fetched pages.
// CROSSTEAM_CRASH_KILLS sets the number of kills (default 8; make crash
// runs 40).
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns exporter processes")
	}
	kills := 8
	if v := os.Getenv("CROSSTEAM_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CROSSTEAM_CRASH_KILLS=%q: want a positive number", v)
		}
		kills = n
	}
	cw := newCrashWorld(t, max(100, 12*kills), max(150, 25*kills))
	dir := cw.dir

	// Reference: one uninterrupted sync.
	_, refCfg := cw.config(t, filepath.Join(dir, "ref.db"))
	want := sortedDataset(t, syncToEnd(t, refCfg, filepath.Join(dir, "ref.db")))
	refPaid, refJira := paid(cw.gh), cw.jira.Count(nil)
	if len(want.Events) < 1000 || len(want.Members) == 0 || len(want.Identities) == 0 {
		t.Fatalf("reference run stored %d events, %d members, %d identities; the world is too small to crash mid-sync",
			len(want.Events), len(want.Members), len(want.Identities))
	}
	var jiraItems int
	for _, it := range want.Items {
		if it.Source == model.SourceJira {
			jiraItems++
		}
	}
	if jiraItems == 0 {
		t.Fatal("reference run stored no Jira item")
	}
	// Each request waits a little, so that a sync takes a few seconds
	// and kills land in the middle of it.
	cw.setFaults(fakeapi.Faults{Latency: 10 * time.Millisecond})
	cw.resetRequests()

	dbPath := filepath.Join(dir, "crash.db")
	cfgPath, cfg := cw.config(t, dbPath)
	rng := rand.New(rand.NewPCG(20261125, uint64(kills)))
	args := []string{"serve", "--config.file=" + cfgPath, "--web.listen-address=127.0.0.1:0", "--log.level=error"}
	midSync := 0
	for k := 0; k < kills; k++ {
		cmd := startChild(t, args...)
		// Kill after 2 to 8 more answered requests (of either API): inside
		// the sync, at a different page each time. If the sync finishes
		// first (the APIs go quiet), kill it anyway and count that.
		before := cw.requests()
		n := 2 + rng.IntN(7)
		last, lastChange := before, time.Now()
		for {
			cur := cw.requests()
			if cur >= before+n {
				midSync++
				break
			}
			if cur != last {
				last, lastChange = cur, time.Now()
			}
			if cur > before && time.Since(lastChange) > 500*time.Millisecond {
				break
			}
			if time.Since(lastChange) > 20*time.Second {
				t.Fatalf("kill %d: the exporter sent no request for 20 s", k)
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(10)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		st, err := store.Open(context.Background(), dbPath, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("kill %d: store does not open: %v", k, err)
		}
		if err := st.IntegrityCheck(context.Background()); err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		st.Close()
	}
	killedJira := cw.jira.Count(nil)

	// The restarted exporter finishes the sync: both targets up.
	cw.setFaults(fakeapi.Faults{})
	addr := freeAddr(t)
	cmd := startChild(t, "serve", "--config.file="+cfgPath, "--web.listen-address="+addr, "--log.level=error")
	func() {
		defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
		deadline := time.Now().Add(60 * time.Second)
		for {
			_, m := get(t, "http://"+addr+"/metrics")
			if strings.Contains(m, `crossteam_source_up{source="github",target="`+sim.GitHubTarget+`"} 1`) &&
				strings.Contains(m, `crossteam_source_up{source="jira",target="`+sim.JiraTarget+`"} 1`) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the restarted exporter did not finish a sync of both targets in 60 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	if cmd.ProcessState == nil || !cmd.ProcessState.Exited() {
		t.Errorf("the restarted exporter did not exit on SIGINT: %v", cmd.ProcessState)
	}
	crashPaid := paid(cw.gh)

	st, err := store.Open(context.Background(), dbPath, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	got := sortedDataset(t, st)
	st.Close()
	if !reflect.DeepEqual(got.Items, want.Items) {
		t.Errorf("items differ after %d kills: %d vs %d", kills, len(got.Items), len(want.Items))
	}
	if !reflect.DeepEqual(got.Events, want.Events) {
		t.Errorf("events differ after %d kills: %d vs %d stored", kills, len(got.Events), len(want.Events))
	}
	if !reflect.DeepEqual(got.Milestones, want.Milestones) {
		t.Errorf("milestones differ after %d kills", kills)
	}
	if !reflect.DeepEqual(got.Members, want.Members) {
		t.Errorf("team members differ after %d kills: %d vs %d\n got %+v\nwant %+v", kills, len(got.Members), len(want.Members), got.Members, want.Members)
	}
	if !reflect.DeepEqual(got.Identities, want.Identities) {
		t.Errorf("identities differ after %d kills: %d vs %d", kills, len(got.Identities), len(want.Identities))
	}
	// Metrics are a pure function of the store: the same snapshot.
	asOf := cw.w.Now.Add(24 * time.Hour)
	if a, b := engine.Compute(got, cfg, asOf), engine.Compute(want, cfg, asOf); !reflect.DeepEqual(a.Pairs, b.Pairs) || a.StalledTotal != b.StalledTotal {
		t.Errorf("snapshots differ after %d kills: pairs %+v vs %+v", kills, a.Pairs, b.Pairs)
	}

	// Nothing is left half-done: one more sync is all 304s.
	cw.resetRequests()
	syncToEnd(t, cfg, dbPath)
	if p := paid(cw.gh); p != 0 {
		t.Errorf("a sync after recovery paid %d requests, want 0 (everything was stored)", p)
	}
	// Each kill loses at most the one page in flight (the collector walks
	// sequentially and every page is stored with its cursors, including an
	// events walk's progress). With GraphQL history a page in flight is an
	// issues page and the GraphQL query of its timelines, stored together,
	// so kills may cost at most two paid requests each. Before walks
	// resumed, the REST path measured +3.7 per kill.
	t.Logf("%d kills (%d mid-sync), %d events, %d members, %d identities, %d Jira items: GitHub %d paid requests vs %d without kills (+%.1f per kill); Jira %d requests during the kills vs %d for a whole sync",
		kills, midSync, len(want.Events), len(want.Members), len(want.Identities), jiraItems, crashPaid, refPaid, float64(crashPaid-refPaid)/float64(kills), killedJira, refJira)
	if midSync < kills/2 {
		t.Errorf("only %d of %d kills hit a sync in progress", midSync, kills)
	}
	if crashPaid > refPaid+2*kills {
		t.Errorf("%d kills cost %d paid requests, more than %d (reference) + 2 per kill", kills, crashPaid, refPaid)
	}
}
