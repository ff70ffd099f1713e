package github

import (
	"bytes"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/fakeapi"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	"github.com/crossteam/crossteam/model"
)

func TestNodeDatabaseID(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	next := func(prefix string, b ...byte) string { return prefix + "_" + base64.RawURLEncoding.EncodeToString(b) }
	for _, tc := range []struct {
		id   string
		want int64
		ok   bool
	}{
		{b64("012:LabeledEvent1207864265"), 1207864265, true}, // GitHub's legacy form
		{b64("12:LabeledEvent5000001"), 5000001, true},        // the fake's
		{b64("017:ClosedEvent"), 0, false},                    // no digits
		{b64("LabeledEvent12"), 0, false},                     // no "<len>:"
		// Next form: MessagePack [0, repo id, object id].
		{next("LE", 0x93, 0x00, 0xce, 0x00, 0x0f, 0x42, 0x40, 0xcf, 0, 0, 0, 0x02, 0x54, 0x0b, 0xe4, 0x00), 10000000000, true},
		{next("CE", 0x92, 0x00, 0xcd, 0x12, 0x34), 0x1234, true},
		{next("RRE", 0x92, 0x00, 0x2a), 42, true}, // positive fixint
		{next("LE", 0x80), 0, false},              // a map, not an array
		{next("LE", 0x92, 0x00, 0xcd, 0x12), 0, false},
		{"not base64 !", 0, false},
	} {
		got, ok := nodeDatabaseID(tc.id)
		if got != tc.want || ok != tc.ok {
			t.Errorf("nodeDatabaseID(%q) = %d, %v; want %d, %v", tc.id, got, ok, tc.want, tc.ok)
		}
	}
}

func TestGraphQLURL(t *testing.T) {
	for base, want := range map[string]string{
		"https://api.github.com/":           "https://api.github.com/graphql",
		"https://ghe.example.com/api/v3/":   "https://ghe.example.com/api/graphql",
		"https://ghe.example.com/api/v3":    "https://ghe.example.com/api/graphql",
		"http://127.0.0.1:8080/":            "http://127.0.0.1:8080/graphql",
		"https://proxy.example.com/github/": "https://proxy.example.com/github/graphql",
	} {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		if got := graphqlURL(u); got != want {
			t.Errorf("graphqlURL(%s) = %s, want %s", base, got, want)
		}
	}
}

// pathsEqual syncs the scenario through REST and through GraphQL and
// returns both datasets.
func pathsEqual(t *testing.T, setup func(e *env)) (rest, gql *env) {
	t.Helper()
	rest = newEnv(t, fakegithub.GitHubOptions{})
	rest.target.GraphQL = config.GraphQLOff
	gql = newEnv(t, fakegithub.GitHubOptions{})
	for _, e := range []*env{rest, gql} {
		e.scenario()
		if setup != nil {
			setup(e)
		}
		e.mustSync()
	}
	a, b := canonical(rest.load()), canonical(gql.load())
	if !reflect.DeepEqual(a.Items, b.Items) || !reflect.DeepEqual(a.Events, b.Events) || !reflect.DeepEqual(a.Milestones, b.Milestones) {
		t.Fatalf("the paths stored different data: REST %d items %d events, GraphQL %d items %d events", len(a.Items), len(a.Events), len(b.Items), len(b.Events))
	}
	return rest, gql
}

// TestGraphQLRequestCounts: on the scenario (2 repositories, 5 items, one
// review-requested PR), the GraphQL path spends per repository one issues
// page, one GraphQL query and one milestones page; the REST path also
// reads the events and comments feeds and a review list. A second sync
// is all 304s: no paid request, no GraphQL query.
func TestGraphQLRequestCounts(t *testing.T) {
	rest, gql := pathsEqual(t, nil)
	count := func(e *env, endpoint string) int {
		return e.gh.Count(func(r fakeapi.Request) bool { return r.Endpoint == endpoint && r.Cost })
	}
	if n := gql.gh.Count(func(r fakeapi.Request) bool { return r.Endpoint == fakegithub.EndpointGraphQL }); n != 2 {
		t.Errorf("GraphQL queries = %d, want 2 (one per repository)", n)
	}
	for _, ep := range []string{fakegithub.EndpointRepoEvents, fakegithub.EndpointComments, fakegithub.EndpointReviews} {
		if n := count(gql, ep); n != 0 {
			t.Errorf("GraphQL path: %d paid %s requests", n, ep)
		}
		if n := count(rest, ep); n == 0 {
			t.Errorf("REST path: no %s request", ep)
		}
	}
	if n := count(gql, fakegithub.EndpointIssues); n != 3 {
		t.Errorf("GraphQL path: %d paid issues pages, want 3 (web, api, docs)", n)
	}
	points := 0
	for _, r := range gql.gh.Requests() {
		points += r.Points
	}
	if points != 2 {
		t.Errorf("points = %d, want 2", points)
	}

	for _, e := range []*env{rest, gql} {
		e.gh.ResetRequests()
		e.mustSync()
		if n := e.gh.Count(func(r fakeapi.Request) bool { return r.Cost || r.Endpoint == fakegithub.EndpointGraphQL }); n != 0 {
			t.Errorf("%s: no-change sync made %d paid or GraphQL requests", e.target.GraphQLMode(), n)
		}
	}

	// One new comment on web#1: one issues page, one query of one item.
	for _, e := range []*env{rest, gql} {
		e.clock.Advance(time.Hour)
		checker(t)(e.org.AddComment("acme/web", fakegithub.Comment{Issue: 1, User: "bob", Body: "more"}))
		e.gh.ResetRequests()
		e.mustSync()
	}
	if n := gql.gh.Count(func(r fakeapi.Request) bool { return r.Cost && r.Endpoint != fakegithub.EndpointOrgRepos }); n != 2 {
		t.Errorf("one change: GraphQL path %d paid requests (issues page + query), want 2: %v", n, gql.gh.CountByEndpoint())
	}
	a, b := canonical(rest.load()), canonical(gql.load())
	if !reflect.DeepEqual(a.Events, b.Events) {
		t.Errorf("after the change the paths differ: %d vs %d events", len(a.Events), len(b.Events))
	}
}

// TestGraphQLLongTimeline: an item with more timeline entries than a page
// is continued alone, after the batch, and every event is stored.
func TestGraphQLLongTimeline(t *testing.T) {
	_, gql := pathsEqual(t, func(e *env) {
		for i := 0; i < 130; i++ {
			checker(t)(e.org.AddComment("acme/web", fakegithub.Comment{Issue: 1, User: "bob", Body: "x", CreatedAt: at(13*time.Hour + time.Duration(i)*time.Minute)}))
		}
		e.clock.Set(at(48 * time.Hour))
	})
	n := gql.gh.Count(func(r fakeapi.Request) bool { return r.Endpoint == fakegithub.EndpointGraphQL })
	if n != 3 {
		t.Errorf("GraphQL queries = %d, want 3 (two batches, one continuation of web#1)", n)
	}
	comments := find(gql.load(), func(ev model.Event) bool { return ev.Kind == model.EventCommented && ev.ItemKey == "acme/web#1" })
	if len(comments) != 131 {
		t.Errorf("web#1 comments = %d, want 131", len(comments))
	}
}

// TestGraphQLFallback: a GitHub without /graphql (404) syncs through REST
// under auto, with one log line; under on the sync fails naming the
// repository; off never asks /graphql.
func TestGraphQLFallback(t *testing.T) {
	t.Run("auto", func(t *testing.T) {
		e := newEnv(t, fakegithub.GitHubOptions{NoGraphQL: true})
		var logs bytes.Buffer
		e.logger = slog.New(slog.NewTextHandler(&logs, nil))
		e.scenario()
		e.mustSync()
		if got := len(e.load().Items); got != 5 {
			t.Errorf("items = %d", got)
		}
		if n := strings.Count(logs.String(), "has no GraphQL API"); n != 1 {
			t.Errorf("%d fallback log lines, want 1:\n%s", n, logs.String())
		}
		if n := e.gh.Count(func(r fakeapi.Request) bool { return r.Endpoint == fakegithub.EndpointGraphQL }); n != 1 {
			t.Errorf("/graphql asked %d times, want once", n)
		}
		rest, _ := pathsEqual(t, nil)
		if a, b := canonical(rest.load()), canonical(e.load()); !reflect.DeepEqual(a.Events, b.Events) {
			t.Errorf("fallback stored %d events, REST %d", len(b.Events), len(a.Events))
		}
	})
	t.Run("on", func(t *testing.T) {
		e := newEnv(t, fakegithub.GitHubOptions{NoGraphQL: true})
		e.target.GraphQL = config.GraphQLOn
		e.scenario()
		err := e.sync()
		want := "repo acme/api: graphql timeline of 2 items (#2, #1): the endpoint has no GraphQL API (404); the target sets graphql: on (auto falls back to REST)"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v\nwant it to contain %q", err, want)
		}
	})
	t.Run("off", func(t *testing.T) {
		e := newEnv(t, fakegithub.GitHubOptions{})
		e.target.GraphQL = config.GraphQLOff
		e.scenario()
		e.mustSync()
		if n := e.gh.Count(func(r fakeapi.Request) bool { return r.Endpoint == fakegithub.EndpointGraphQL }); n != 0 {
			t.Errorf("graphql: off sent %d GraphQL queries", n)
		}
	})
}

// TestGraphQLLimits: timeouts shrink the query until it passes; an
// exhausted point budget (RATE_LIMITED in a 200) is waited out until its
// reset, without touching the REST budget's waits; errors GitHub reports
// name the repository and the query.
func TestGraphQLLimits(t *testing.T) {
	t.Run("timeout shrinks", func(t *testing.T) {
		_, e := pathsEqual(t, func(e *env) {
			e.gh.SetGraphQLTimeoutNodes(150) // two items of 100 entries time out
		})
		timeouts := e.gh.Count(func(r fakeapi.Request) bool { return r.Fault == "timeout" })
		if timeouts == 0 {
			t.Fatal("no query timed out; the case tests nothing")
		}
		c := e.collector()
		c.gqlItems = 1
		c.gqlPage = gqlMaxPage
		if !c.shrink(c.gqlItems, c.gqlPage) || c.gqlPage != 50 || !c.shrink(c.gqlItems, c.gqlPage) || !c.shrink(c.gqlItems, c.gqlPage) || c.gqlPage != 12 || !c.shrink(c.gqlItems, c.gqlPage) || c.gqlPage != gqlMinPage || c.shrink(c.gqlItems, c.gqlPage) {
			t.Errorf("shrink: items %d page %d", c.gqlItems, c.gqlPage)
		}
		// Answered queries grow it back, page size first, one doubling
		// per gqlGrowAfter answers; a timeout between restarts the count.
		grow := func(n int) {
			for range n {
				c.grow()
			}
		}
		grow(gqlGrowAfter - 1)
		if c.gqlPage != gqlMinPage {
			t.Errorf("grew after %d answers: page %d", gqlGrowAfter-1, c.gqlPage)
		}
		grow(1)
		if c.gqlItems != 1 || c.gqlPage != 2*gqlMinPage {
			t.Errorf("after %d answers: items %d page %d, want 1 and %d", gqlGrowAfter, c.gqlItems, c.gqlPage, 2*gqlMinPage)
		}
		grow(gqlGrowAfter - 1)
		c.shrink(c.gqlItems, c.gqlPage) // page 20 -> 10, and the count starts again
		grow(gqlGrowAfter - 1)
		if c.gqlPage != gqlMinPage {
			t.Errorf("the count did not restart at the shrink: page %d", c.gqlPage)
		}
		grow(1 + 3*gqlGrowAfter) // 20, 40, 80, then 100 (capped)
		if c.gqlPage != gqlMaxPage || c.gqlItems != 1 {
			t.Errorf("page %d items %d, want %d and 1", c.gqlPage, c.gqlItems, gqlMaxPage)
		}
		grow(7 * gqlGrowAfter) // items 2, 4, ..., 64, then 100 (capped)
		if c.gqlItems != gqlMaxItems || c.gqlPage != gqlMaxPage {
			t.Errorf("items %d page %d, want both at the maximum", c.gqlItems, c.gqlPage)
		}
		grow(gqlGrowAfter)
		if c.gqlItems != gqlMaxItems || c.gqlPage != gqlMaxPage || c.gqlPassed != 0 {
			t.Errorf("at the maximum: items %d page %d passed %d", c.gqlItems, c.gqlPage, c.gqlPassed)
		}
	})
	t.Run("budget spent: wait for the reset before sending", func(t *testing.T) {
		_, e := pathsEqual(t, func(e *env) {
			e.gh = fakegithub.NewGitHub(e.org, fakegithub.GitHubOptions{Tokens: []string{token}, GraphQLRateLimit: 1})
			e.target.Concurrency = intp(1) // the waits are summed: one waiter (TestRateLimitWaitHoldsEveryWorker has several)
		})
		if w := total(e.sleeps); w < time.Hour || w > time.Hour+time.Minute {
			t.Errorf("waited %v for the GraphQL reset (sleeps %v), want about an hour", w, e.sleeps)
		}
		refused := e.gh.Count(func(r fakeapi.Request) bool { return r.Endpoint == fakegithub.EndpointGraphQL && !r.Cost })
		if refused != 0 {
			t.Errorf("%d GraphQL queries sent into a spent budget", refused)
		}
		if r := e.gh.RateStatus(token); r.Used == 0 {
			t.Errorf("REST budget unused: %+v", r)
		}
	})
	t.Run("RATE_LIMITED in a 200 is waited out", func(t *testing.T) {
		limited := 0
		_, e := pathsEqual(t, func(e *env) {
			e.target.Concurrency = intp(1) // the waits are summed: one waiter
			e.wrap = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/graphql" || limited > 0 {
					return false
				}
				limited++
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-RateLimit-Remaining", "0")
				w.Header().Set("X-RateLimit-Resource", "graphql")
				w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(e.clock.Now().Add(10*time.Minute).Unix(), 10))
				w.Write([]byte(`{"errors":[{"type":"RATE_LIMITED","code":"graphql_rate_limit","message":"API rate limit already exceeded for user ID 1."}]}`))
				return true
			}
		})
		if w := total(e.sleeps); limited != 1 || w < 10*time.Minute || w > 11*time.Minute {
			t.Errorf("%d RATE_LIMITED answers, waited %v (%v); want 1 and about 10 minutes", limited, w, e.sleeps)
		}
	})
	t.Run("errors name the repository and query", func(t *testing.T) {
		e := newEnv(t, fakegithub.GitHubOptions{})
		e.scenario()
		e.wrap = func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/graphql" {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"data":null,"errors":[{"type":"FORBIDDEN","message":"Resource not accessible by integration"}]}`))
			return true
		}
		err := e.sync()
		want := "repo acme/web: graphql timeline of 3 items (#1, #3, #2): graphql errors: FORBIDDEN: Resource not accessible by integration"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v\nwant it to contain %q", err, want)
		}
		if n := len(e.load().Items); n != 0 {
			t.Errorf("%d items stored: a page is stored with its timelines or not at all", n)
		}
	})
}

func total(ds []time.Duration) time.Duration {
	var s time.Duration
	for _, d := range ds {
		s += d
	}
	return s
}

// TestGraphQLAfterREST: a store the REST path synced switches to GraphQL
// (an upgrade keeps graphql: auto) without fetching the history again:
// the walk starts at the REST watermarks, costs one issues page and at
// most one point per repository, and stores exactly the same data; new
// history afterwards arrives as usual.
func TestGraphQLAfterREST(t *testing.T) {
	e := newEnv(t, fakegithub.GitHubOptions{})
	e.target.GraphQL = config.GraphQLOff
	e.scenario()
	e.bulk(250) // acme/docs: three issues pages if walked again
	e.mustSync()
	before := canonical(e.load())
	e.target.GraphQL = config.GraphQLAuto
	e.gh.ResetRequests()
	e.mustSync()
	after := canonical(e.load())
	if !reflect.DeepEqual(before.Items, after.Items) || !reflect.DeepEqual(before.Events, after.Events) {
		t.Errorf("switching paths changed the store: %d/%d items, %d/%d events", len(before.Items), len(after.Items), len(before.Events), len(after.Events))
	}
	pages := e.gh.Count(func(r fakeapi.Request) bool { return r.Endpoint == fakegithub.EndpointIssues && r.Cost })
	points := 0
	for _, r := range e.gh.Requests() {
		points += r.Points
	}
	if pages != 3 || points > 3 {
		t.Errorf("the switch cost %d issues pages and %d points; want one page per repository (3) and at most a point each", pages, points)
	}
	// Then a new comment arrives through GraphQL.
	e.clock.Advance(time.Hour)
	checker(t)(e.org.AddComment("acme/web", fakegithub.Comment{Issue: 2, User: "bill", Body: "late"}))
	e.mustSync()
	if n := len(find(e.load(), func(ev model.Event) bool { return ev.Kind == model.EventCommented && ev.ItemKey == "acme/web#2" })); n != 1 {
		t.Errorf("web#2 comments after the switch = %d, want 1", n)
	}
}

// TestGraphQLQueryNamesNoItem: a batch query names its items only in
// variables (issues first, then pull requests, aliased by position), so
// its Go type, which reflect keeps for the process's life, is one per
// (issues, pull requests, page size) and not one per batch ever fetched;
// the REST and GraphQL paths still store the same (pathsEqual, with a
// batch mixing issues and a pull request).
func TestGraphQLQueryNamesNoItem(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	pathsEqual(t, func(e *env) {
		if e.target.GraphQLMode() == config.GraphQLOff {
			return
		}
		e.wrap = func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/graphql") {
				b, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(b))
				mu.Lock()
				bodies = append(bodies, string(b))
				mu.Unlock()
			}
			return false
		}
	})
	literal := regexp.MustCompile(`number: *[0-9]`)
	batches := 0
	for _, b := range bodies {
		if !strings.Contains(b, "i0: issueOrPullRequest") {
			continue
		}
		batches++
		if literal.MatchString(b) {
			t.Errorf("batch query names an item literally: %s", b)
		}
		if !strings.Contains(b, `$n0`) {
			t.Errorf("batch query without number variables: %s", b)
		}
	}
	if batches == 0 {
		t.Fatalf("no batch query seen in %d GraphQL requests", len(bodies))
	}
	// Same shape, other numbers: the same type.
	if a, b := gqlBatchType(3, 2, 100), gqlBatchType(3, 2, 100); a != b {
		t.Error("two batches of the same shape got different query types")
	}
	if a, b := gqlBatchType(3, 2, 100), gqlBatchType(2, 3, 100); a == b {
		t.Error("batches of different shapes got the same query type")
	}
}
