package github

import (
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/fakeapi"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	"github.com/crossteam/crossteam/model"
)

// bulk adds n issues to acme/docs, each handed design -> backend and
// commented on by a backend member, so a sync spans several pages of every
// list.
func (e *env) bulk(n int) {
	ck := checker(e.t)
	for i := 0; i < n; i++ {
		is, err := e.org.AddIssue("acme/docs", fakegithub.Issue{Title: fmt.Sprintf("Doc %d", i), User: "alice", Labels: []string{"team:design"}, CreatedAt: at(time.Duration(i) * time.Minute)})
		ck(is, err)
		ck(e.org.AddEvent("acme/docs", fakegithub.Event{Issue: is.Number, Type: fakegithub.EventUnlabeled, Actor: "alice", Label: "team:design", CreatedAt: at(time.Duration(i)*time.Minute + time.Hour)}))
		ck(e.org.AddEvent("acme/docs", fakegithub.Event{Issue: is.Number, Type: fakegithub.EventLabeled, Actor: "alice", Label: "team:backend", CreatedAt: at(time.Duration(i)*time.Minute + time.Hour)}))
		ck(e.org.AddComment("acme/docs", fakegithub.Comment{Issue: is.Number, User: "bill", Body: "ok", CreatedAt: at(time.Duration(i)*time.Minute + 2*time.Hour)}))
	}
	e.clock.Set(at(30 * time.Hour))
}

// canonical sorts a dataset's same-instant events by id, so that datasets
// whose pages were stored in a different order compare equal.
func canonical(ds *model.Dataset) *model.Dataset {
	sort.SliceStable(ds.Events, func(i, j int) bool {
		a, b := ds.Events[i], ds.Events[j]
		if a.Source != b.Source || a.ItemKey != b.ItemKey || !a.At.Equal(b.At) {
			return false
		}
		return a.ID < b.ID
	})
	return ds
}

// syncUntilDone syncs until a sync succeeds, at most attempts times (each
// sync already retries transient faults itself; a sync that gives up leaves
// its pages stored and the next one resumes).
func (e *env) syncUntilDone(attempts int) (failed int) {
	e.t.Helper()
	for i := 0; i < attempts; i++ {
		if err := e.sync(); err == nil {
			return failed
		}
		failed++
	}
	e.t.Fatalf("no sync completed in %d attempts", attempts)
	return failed
}

// TestFaultsReachTheFaultFreeState: under each fault the fake can inject,
// syncing until a sync succeeds ends with exactly the store a fault-free
// sync produces, waits stay within their caps, and no goroutine is left
// behind.
func TestFaultsReachTheFaultFreeState(t *testing.T) {
	ref := newEnv(t, fakegithub.GitHubOptions{})
	ref.scenario()
	ref.bulk(250)
	ref.mustSync()
	want := canonical(ref.load())
	if len(want.Events) < 1000 {
		t.Fatalf("reference has %d events; too few pages to exercise faults", len(want.Events))
	}
	goroutines := runtime.NumGoroutine()

	cases := []struct {
		name   string
		faults fakeapi.Faults
		fault  string // the Request.Fault the run must have seen
	}{
		{"5% 5xx", fakeapi.Faults{ServerErrorRate: 0.05}, "5xx"},
		{"20% 5xx", fakeapi.Faults{ServerErrorRate: 0.20}, "5xx"},
		{"secondary limits 403 with Retry-After", fakeapi.Faults{SecondaryRate: 0.05, RetryAfter: 30 * time.Second}, "secondary"},
		{"secondary limits 403 without Retry-After", fakeapi.Faults{SecondaryRate: 0.05, RetryAfter: -1}, "secondary"},
		{"429 with Retry-After", fakeapi.Faults{TooManyRate: 0.05, RetryAfter: 10 * time.Second}, "secondary"},
		{"truncated pages", fakeapi.Faults{TruncateRate: 0.1}, "truncate"},
		{"malformed pages", fakeapi.Faults{MalformedRate: 0.1}, "malformed"},
		{"latency spikes", fakeapi.Faults{SpikeRate: 0.1, SpikeLatency: 20 * time.Millisecond}, "spike"},
		{"everything at once", fakeapi.Faults{ServerErrorRate: 0.1, SecondaryRate: 0.03, TooManyRate: 0.03, RetryAfter: 5 * time.Second, TruncateRate: 0.03, MalformedRate: 0.03, SpikeRate: 0.05, SpikeLatency: 5 * time.Millisecond}, "5xx"},
	}
	for _, mode := range []string{config.GraphQLOff, config.GraphQLAuto} {
		for i, tc := range cases {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				tc.faults.Seed = uint64(100 + i)
				e := newEnv(t, fakegithub.GitHubOptions{Faults: tc.faults})
				e.target.GraphQL = mode
				if mode != config.GraphQLOff {
					// The GraphQL path makes a tenth of the REST path's
					// requests: smaller queries give the faults more to hit.
					e.gqlItems = 5
				}
				e.scenario()
				e.bulk(250)
				failed := e.syncUntilDone(40)
				got := canonical(e.load())
				if !reflect.DeepEqual(got.Items, want.Items) || !reflect.DeepEqual(got.Events, want.Events) ||
					!reflect.DeepEqual(got.Milestones, want.Milestones) || !reflect.DeepEqual(got.Members, want.Members) {
					t.Errorf("store differs from the fault-free run: %d items %d events vs %d %d", len(got.Items), len(got.Events), len(want.Items), len(want.Events))
				}
				seen := e.gh.Count(func(r fakeapi.Request) bool { return r.Fault == tc.fault })
				if seen == 0 {
					t.Errorf("no %q fault was injected; the case tests nothing", tc.fault)
				}
				for _, d := range e.sleeps {
					if d > time.Hour+2*time.Second {
						t.Errorf("waited %v in one go", d)
					}
				}
				t.Logf("%d requests, %d with fault %q, %d failed syncs before success, %d waits", len(e.gh.Requests()), seen, tc.fault, failed, len(e.sleeps))
			})
		}
	}
	// Retries and waits leave nothing running: allow the HTTP servers'
	// connections a moment to close.
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > goroutines+4 && time.Now().Before(deadline) {
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines+4 {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after the fault runs, %d before:\n%s", n, goroutines, buf[:runtime.Stack(buf, true)])
	}
}

// TestRepeatedCursorPage: a server whose next link points at the page just
// served (a cursor that does not advance) must not make the collector loop:
// the sync fails with an error naming the repository, after a bounded number
// of requests.
func TestRepeatedCursorPage(t *testing.T) {
	e := newEnv(t, fakegithub.GitHubOptions{})
	e.scenario()
	requests := 0
	e.wrap = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/repos/acme/docs/issues" {
			return false
		}
		requests++
		if requests > 50 {
			http.Error(w, "loop", http.StatusTeapot)
			return true
		}
		self := "http://" + r.Host + r.URL.RequestURI()
		w.Header().Set("Link", "<"+self+">; rel=\"next\"")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`[]`))
		return true
	}
	err := e.sync()
	if err == nil || !strings.Contains(err.Error(), "acme/docs") {
		t.Fatalf("err = %v, want an error naming acme/docs", err)
	}
	if requests > 3 {
		t.Errorf("%d requests to a page that repeats itself, want at most 3", requests)
	}
	if got := len(e.load().Items); got != 5 {
		t.Errorf("other repositories: %d items, want 5", got)
	}
}
