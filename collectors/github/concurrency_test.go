package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/fakeapi"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/sim"
	"github.com/crossteam/crossteam/store"
)

func intp(n int) *int { return &n }

// simWorld is a generated organisation of six repositories behind one
// fake GitHub, and the configuration of its GitHub target.
type simWorld struct {
	w   *sim.World
	gh  *fakegithub.GitHub
	cfg string
}

func newSimWorld(t *testing.T) *simWorld {
	t.Helper()
	p := sim.Small()
	p.Repos = 6
	w, err := sim.Generate(p)
	if err != nil {
		t.Fatal(err)
	}
	gh := fakegithub.NewGitHub(w.Org, fakegithub.GitHubOptions{Tokens: []string{w.GitHubToken}})
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte(w.GitHubToken), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := w.Config(sim.ConfigOptions{GitHubURL: srv.URL + "/", TokenFile: tok, StorePath: "unused"})
	return &simWorld{w: w, gh: gh, cfg: cfg}
}

// syncer is one store synced from the world at a concurrency.
type simSyncer struct {
	st *store.Store
	c  *Collector
}

func (sw *simWorld) syncer(t *testing.T, workers int, mode string) *simSyncer {
	t.Helper()
	cfg, err := config.Parse([]byte(sw.cfg))
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Sources.GitHub[0]
	g.Concurrency, g.GraphQL = intp(workers), mode
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := New(Options{Config: cfg, Target: g, Store: st, Now: sw.w.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &simSyncer{st: st, c: c}
}

// sortedDataset is the store's content in an order that does not depend
// on the order pages were written in.
func sortedDataset(t *testing.T, st *store.Store) *model.Dataset {
	t.Helper()
	ds, err := st.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(ds.Items, func(i, j int) bool { return ds.Items[i].Key < ds.Items[j].Key })
	sort.Slice(ds.Events, func(i, j int) bool {
		a, b := ds.Events[i], ds.Events[j]
		if a.ItemKey != b.ItemKey {
			return a.ItemKey < b.ItemKey
		}
		return a.ID < b.ID
	})
	sort.Slice(ds.Milestones, func(i, j int) bool { return ds.Milestones[i].Key < ds.Milestones[j].Key })
	sort.Slice(ds.Members, func(i, j int) bool {
		return fmt.Sprint(ds.Members[i]) < fmt.Sprint(ds.Members[j])
	})
	return ds
}

// endpointCounts is the requests of the log by endpoint and status, with
// the paid ones and the GraphQL points.
func endpointCounts(reqs []fakeapi.Request) map[string]int {
	m := map[string]int{}
	for _, r := range reqs {
		m[fmt.Sprintf("%s %d", r.Endpoint, r.Status)]++
		if r.Cost {
			m["paid"]++
		}
		m["points"] += r.Points
	}
	return m
}

func diffDatasets(t *testing.T, step string, got, want *model.Dataset) {
	t.Helper()
	if len(want.Events) < 1000 || len(want.Items) < 500 {
		t.Fatalf("%s: only %d items and %d events; the comparison proves little", step, len(want.Items), len(want.Events))
	}
	if reflect.DeepEqual(got, want) {
		return
	}
	if len(got.Items) != len(want.Items) || len(got.Events) != len(want.Events) {
		t.Errorf("%s: %d items %d events, want %d and %d", step, len(got.Items), len(got.Events), len(want.Items), len(want.Events))
	}
	for i := range min(len(got.Events), len(want.Events)) {
		if !reflect.DeepEqual(got.Events[i], want.Events[i]) {
			t.Errorf("%s: event %d = %+v, want %+v", step, i, got.Events[i], want.Events[i])
			break
		}
	}
	for i := range min(len(got.Items), len(want.Items)) {
		if !reflect.DeepEqual(got.Items[i], want.Items[i]) {
			t.Errorf("%s: item %d = %+v, want %+v", step, i, got.Items[i], want.Items[i])
			break
		}
	}
	if !reflect.DeepEqual(got.Milestones, want.Milestones) || !reflect.DeepEqual(got.Members, want.Members) || !reflect.DeepEqual(got.Identities, want.Identities) {
		t.Errorf("%s: milestones, members or identities differ", step)
	}
}

// TestConcurrentSyncStoresTheSame: over a six-repository organisation,
// syncing several repositories at once stores exactly what syncing one
// at a time stores, with the same requests (by endpoint and status), on
// the full sync, an incremental one and one in which nothing changed, on
// both history paths.
func TestConcurrentSyncStoresTheSame(t *testing.T) {
	for _, mode := range []string{config.GraphQLAuto, config.GraphQLOff} {
		t.Run(mode, func(t *testing.T) {
			sw := newSimWorld(t)
			workers := []int{1, config.DefaultGitHubConcurrency, 4}
			syncers := make([]*simSyncer, len(workers))
			for i, n := range workers {
				syncers[i] = sw.syncer(t, n, mode)
			}
			step := func(name string) []map[string]int {
				t.Helper()
				var counts []map[string]int
				for i, s := range syncers {
					sw.gh.ResetRequests()
					if err := s.c.Sync(context.Background()); err != nil {
						t.Fatalf("%s, concurrency %d: %v", name, workers[i], err)
					}
					counts = append(counts, endpointCounts(sw.gh.Requests()))
				}
				want := sortedDataset(t, syncers[0].st)
				for i := 1; i < len(syncers); i++ {
					diffDatasets(t, fmt.Sprintf("%s, concurrency %d", name, workers[i]), sortedDataset(t, syncers[i].st), want)
					if !reflect.DeepEqual(counts[i], counts[0]) {
						t.Errorf("%s, concurrency %d: requests %v, want %v (concurrency 1)", name, workers[i], counts[i], counts[0])
					}
				}
				return counts
			}
			full := step("full sync")
			t.Logf("full sync: %v", full[0])
			if err := sw.w.Advance(sw.w.Now.Add(3 * 24 * time.Hour)); err != nil {
				t.Fatal(err)
			}
			step("incremental sync")
			quiet := step("no-change sync")
			if quiet[0]["paid"] != 0 || quiet[0]["points"] != 0 || quiet[0][fakegithub.EndpointGraphQL+" 200"] != 0 {
				t.Errorf("no-change sync: %v; want no paid request and no GraphQL query", quiet[0])
			}
		})
	}
}

// TestRateLimitWaitHoldsEveryWorker: a secondary limit met by one
// repository's request holds the other repository's requests for the
// whole Retry-After, not only the request that met it.
func TestRateLimitWaitHoldsEveryWorker(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusForbidden} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			e := newEnv(t, fakegithub.GitHubOptions{})
			e.scenario()
			// The org's repository list comes first: both workers then
			// know the budget and send at once (while it is unknown, one
			// request at a time learns it).
			e.target.Orgs = []config.OrgPattern{{Org: "acme", Include: []string{"web", "api"}}}
			e.target.Concurrency = intp(2)

			var served atomic.Int64 // requests answered by the fake
			apiFirst := make(chan struct{})
			webSleeping := make(chan struct{})
			var once sync.Once
			limited, apiSeen := false, false
			var mu sync.Mutex
			e.wrap = func(w http.ResponseWriter, r *http.Request) bool {
				mu.Lock()
				first := !limited && r.URL.Path == "/repos/acme/web/issues"
				limited = limited || first
				apiFirstReq := !apiSeen && r.URL.Path == "/repos/acme/api/issues"
				apiSeen = apiSeen || apiFirstReq
				mu.Unlock()
				switch {
				case first:
					// acme/web's first request meets the limit...
					w.Header().Set("Retry-After", "60")
					if status == http.StatusForbidden {
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(status)
						w.Write([]byte(`{"message":"You have exceeded a secondary rate limit."}`))
					} else {
						w.WriteHeader(status)
					}
					close(apiFirst)
					return true
				case apiFirstReq:
					// ...while acme/api's is on its way; it is answered
					// once acme/web waits, so api's next request is sent
					// during the wait.
					<-apiFirst
					<-webSleeping
				}
				served.Add(1)
				return false
			}
			c := e.collector()
			var sleeps []time.Duration
			var servedAt []int64
			release := make(chan struct{})
			c.setSleep(func(ctx context.Context, d time.Duration) error {
				mu.Lock()
				sleeps = append(sleeps, d)
				servedAt = append(servedAt, served.Load())
				n := len(sleeps)
				mu.Unlock()
				once.Do(func() { close(webSleeping) })
				if n == 2 {
					close(release)
				}
				select {
				case <-release:
				case <-time.After(10 * time.Second):
					return errors.New("the other repository never waited")
				case <-ctx.Done():
					return ctx.Err()
				}
				return nil
			})
			if err := c.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			// Both wait the whole minute (the clock stands still while they
			// sleep): the one that met the limit and the other one, which
			// sent nothing meanwhile but its first request if that was
			// already on its way.
			if len(sleeps) != 2 || sleeps[0] != time.Minute || sleeps[1] != time.Minute {
				t.Fatalf("sleeps %v, want two of 1m", sleeps)
			}
			if n := servedAt[1] - servedAt[0]; n > 1 {
				t.Errorf("%d requests served between the two waits, want at most acme/api's first", n)
			}
			if got := len(e.load().Items); got != 5 {
				t.Errorf("items = %d, want 5", got)
			}
		})
	}
}

// TestConcurrentFailuresStayPerRepository: with any concurrency, a
// repository that fails is named and the others are stored; bad
// credentials stop every repository.
func TestConcurrentFailuresStayPerRepository(t *testing.T) {
	for _, workers := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("concurrency %d", workers), func(t *testing.T) {
			e := newEnv(t, fakegithub.GitHubOptions{})
			e.scenario()
			e.target.Orgs = nil
			e.target.Repos = []string{"acme/web", "acme/nope", "acme/api", "acme/docs"}
			e.target.Concurrency = intp(workers)
			err := e.sync()
			want := "github/acme: repo acme/nope: list issues: repository acme/nope not found (404)"
			if err == nil || err.Error() != want {
				t.Fatalf("err = %v, want %q", err, want)
			}
			if got := len(e.load().Items); got != 5 {
				t.Errorf("items = %d, want the 5 of the other repositories", got)
			}

			e = newEnv(t, fakegithub.GitHubOptions{})
			e.scenario()
			e.target.Orgs = nil
			e.target.Repos = []string{"acme/web", "acme/api", "acme/docs"}
			e.target.Concurrency = intp(workers)
			var teams atomic.Int64
			e.wrap = func(w http.ResponseWriter, r *http.Request) bool {
				if strings.Contains(r.URL.Path, "/teams/") {
					teams.Add(1)
				}
				if r.URL.Path == "/repos/acme/web/issues" {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusUnauthorized)
					w.Write([]byte(`{"message":"Bad credentials"}`))
					return true
				}
				return false
			}
			err = e.sync()
			if err == nil || !strings.Contains(err.Error(), "repo acme/web: list issues: bad credentials (401)") || strings.Contains(err.Error(), "context canceled") {
				t.Fatalf("err = %v", err)
			}
			if n := teams.Load(); n != 0 {
				t.Errorf("%d team requests after bad credentials", n)
			}
		})
	}
}

// TestInterruptedPipelinedWalk: the context ends after page 3 of a
// walk was fetched and before page 2 was written (the write overlaps
// the next fetch). Page 2 is not stored, no later page is, and the next
// sync stores everything an uninterrupted sync stores.
func TestInterruptedPipelinedWalk(t *testing.T) {
	e := newEnv(t, fakegithub.GitHubOptions{})
	e.scenario()
	for i := range 260 { // acme/web: 3 issues pages
		if _, err := e.org.AddIssue("acme/web", fakegithub.Issue{Title: fmt.Sprint("bulk ", i), User: "alice",
			Labels: []string{"team:design"}, CreatedAt: at(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	e.target.Orgs = nil
	e.target.Repos = []string{"acme/web"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fetched3 := make(chan struct{})
	c := e.collector()
	var stages []string
	var mu sync.Mutex
	c.hook = func(stage, repo string, n int) {
		mu.Lock()
		stages = append(stages, fmt.Sprint(stage, n))
		mu.Unlock()
		switch {
		case stage == "fetched" && n == 3:
			cancel()
			close(fetched3)
		case stage == "write" && n == 2:
			<-fetched3
		}
	}
	err := c.Sync(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the cancellation", err)
	}
	mu.Lock()
	// Page 3 was fetched, and no write after page 2's began (a write
	// overlaps the next fetch, so the order between them varies).
	sort.Strings(stages)
	if got := strings.Join(stages, " "); got != "fetched1 fetched2 fetched3 write1 write2" {
		t.Errorf("stages %q", got)
	}
	mu.Unlock()
	if got := len(e.load().Items); got != 100 {
		t.Errorf("%d items stored after the interruption, want page 1's 100", got)
	}
	e.mustSync()
	got := sortedDataset(t, e.st)

	ref := newEnv(t, fakegithub.GitHubOptions{})
	ref.org, ref.gh = e.org, e.gh // the same organisation and fake
	ref.srv, ref.clock = e.srv, e.clock
	ref.target = e.target
	ref.mustSync()
	want := sortedDataset(t, ref.st)
	if len(want.Items) != 263 {
		t.Fatalf("reference: %d items, want 263", len(want.Items))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after the resumed sync: %d items %d events, want %d and %d", len(got.Items), len(got.Events), len(want.Items), len(want.Events))
	}
}
