package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/fakeapi"
	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/resilience"
	"github.com/crossteam/crossteam/store"
)

// base is Monday 2026-03-02 00:00 UTC.
var base = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

const (
	email = "bot@example.com"
	token = "s3cret-t0ken"
)

const teamsYAML = `
teams:
  design:
    members:
      - jira: acc-alice
      - email: dora@example.com
    markers:
      jira_statuses:
        - name: Ready for Design
          waiting: true
        - name: In Design
      jira_team_values: [Design]
  backend:
    members:
      - jira: acc-bob
    markers:
      jira_statuses:
        - name: In Progress
      jira_components: [API]
signals:
  - name: decision
    jira_jql: "labels = decision"
`

type env struct {
	t     testing.TB
	clock *fakeapi.ManualClock
	site  *fakejira.Site
	api   *fakejira.API
	srv   *httptest.Server
	cfg   *config.Config
	tgt   *config.JiraSource
	st    *store.Store
	path  string

	mu     sync.Mutex
	sleeps []time.Duration
	// rewrite, when set, may change an answer body.
	rewrite func(r *http.Request, body []byte) []byte
}

func newEnv(t testing.TB, deployment string, yaml string) *env {
	t.Helper()
	e := &env{t: t, clock: fakeapi.NewManualClock(at(30 * 24 * time.Hour))}
	e.site = fakejira.NewSite()
	e.site.Now = e.clock.Now
	opts := fakejira.Options{Deployment: deployment, Users: map[string]string{email: token}, Tokens: []string{token}}
	e.api = fakejira.NewAPI(e.site, opts)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.rewrite == nil {
			e.api.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, r)
		body := e.rewrite(r, rec.Body.Bytes())
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	t.Cleanup(e.srv.Close)
	if yaml == "" {
		yaml = teamsYAML
	}
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	e.cfg = cfg
	e.tgt = &config.JiraSource{Name: "acme-jira", URL: e.srv.URL, Deployment: deployment, Email: email,
		Token: config.Secret(token), Projects: []string{"A", "B"}, TeamField: "Team"}
	if deployment == fakejira.DataCenter {
		e.tgt.Email = "" // a personal access token
	}
	e.path = filepath.Join(t.TempDir(), "store.db")
	st, err := store.Open(context.Background(), e.path, nil)
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	e.st = st
	t.Cleanup(func() { st.Close() })
	e.must(e.site.AddProject(fakejira.Project{Key: "A"}))
	e.must(e.site.AddProject(fakejira.Project{Key: "B"}))
	e.must(e.site.AddField(fakejira.Field{Name: "Team", Team: true}))
	for _, s := range []string{"Ready for Design", "In Design"} {
		e.must(e.site.AddStatus(fakejira.Status{Name: s, Category: fakejira.CategoryIndeterminate}))
	}
	e.must(e.site.AddStatus(fakejira.Status{Name: "Limbo", Category: fakejira.CategoryIndeterminate}))
	e.must(e.site.AddUser(fakejira.User{AccountID: "acc-alice", DisplayName: "Alice", Name: "alice"}))
	e.must(e.site.AddUser(fakejira.User{AccountID: "acc-bob", DisplayName: "Bob", Name: "bob"}))
	e.must(e.site.AddUser(fakejira.User{AccountID: "acc-dora", DisplayName: "Dora", Name: "dora", Email: "dora@example.com"}))
	return e
}

func (e *env) must(_ any, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) collector(o Options) *Collector {
	e.t.Helper()
	o.Config, o.Target, o.Store, o.Now = e.cfg, e.tgt, e.st, e.clock.Now
	c, err := New(o)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	c.rt.sleep = func(ctx context.Context, d time.Duration) error {
		e.mu.Lock()
		e.sleeps = append(e.sleeps, d)
		e.mu.Unlock()
		e.clock.Advance(d)
		return ctx.Err()
	}
	return c
}

func (e *env) load() *model.Dataset {
	e.t.Helper()
	ds, err := e.st.Load(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

func eventsOf(ds *model.Dataset, key string) []model.Event {
	var out []model.Event
	for _, ev := range ds.Events {
		if ev.ItemKey == key {
			out = append(out, ev)
		}
	}
	return out
}

func kinds(evs []model.Event) map[model.EventKind]int {
	out := map[model.EventKind]int{}
	for _, ev := range evs {
		out[ev.Kind]++
	}
	return out
}

// populate creates n issues in project A with realistic short histories (a
// few status moves and assignments each), plus A-(n+1) with 45 histories
// alternating status (23) and assignee (22) changes. It returns that key.
func (e *env) populate(n int) string {
	t := e.t
	for i := 0; i < n; i++ {
		created := at(time.Duration(i) * time.Minute)
		is, err := e.site.CreateIssue(fakejira.Issue{Project: "A", Summary: fmt.Sprintf("issue %d", i), Reporter: "acc-alice", Created: created})
		if err != nil {
			t.Fatal(err)
		}
		step := created
		next := func() time.Time { step = step.Add(3 * time.Hour); return step }
		switch i % 4 {
		case 0:
			e.must(e.site.Transition(is.Key, "Ready for Design", "acc-alice", next()))
			e.must(e.site.Transition(is.Key, "In Design", "acc-dora", next()))
			e.must(e.site.Assign(is.Key, "acc-dora", "acc-dora", next()))
		case 1:
			e.must(e.site.Transition(is.Key, "In Progress", "acc-bob", next()))
			e.must(e.site.Transition(is.Key, "Done", "acc-bob", next()))
		case 2:
			e.must(e.site.Assign(is.Key, "acc-bob", "acc-alice", next()))
			e.must(e.site.SetTeam(is.Key, "Design", "acc-alice", next()))
			e.must(e.site.AddComponent(is.Key, "API", "acc-alice", next()))
			e.must(e.site.Transition(is.Key, "In Progress", "acc-bob", next()))
		}
	}
	big, err := e.site.CreateIssue(fakejira.Issue{Project: "A", Summary: "busy", Reporter: "acc-bob", Created: at(0)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 45; i++ {
		when := at(time.Duration(i+1) * time.Hour)
		if i%2 == 0 {
			e.must(e.site.Transition(big.Key, []string{"In Progress", "To Do"}[i/2%2], "acc-bob", when))
		} else {
			e.must(e.site.Assign(big.Key, []string{"acc-bob", "acc-alice"}[i/2%2], "acc-bob", when))
		}
	}
	return big.Key
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// TestCloudRequestCounts: a full Cloud sync of I issues costs exactly
// 3 + ceil(I/100) + ceil(I/1000) requests (metadata: /field, /status,
// /issueLinkType), plus one comment request per
// issue whose comments search cut (more than 20; one page holds 100), plus
// one id-only signal search over the scope per sync when a signal has a
// JQL; a sync in which nothing changed costs one request.
func TestCloudRequestCounts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		signals bool
	}{
		{"2500 issues", 2499, false},
		{"1000 issues with a signal", 999, true},
		{"1 issue", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := teamsYAML
			if !tc.signals {
				yaml = strings.Split(teamsYAML, "signals:")[0]
			}
			e := newEnv(t, fakejira.Cloud, yaml)
			big := e.populate(tc.n)
			I := tc.n + 1
			// The busy issue has 25 comments (cut to 20 by search), the
			// first issue (when it is another) 3, not cut; all early.
			for i := 0; i < 25; i++ {
				e.must(e.site.AddComment(big, "acc-bob", "c", at(time.Duration(i)*time.Minute)))
			}
			few := 0
			if big != "A-1" {
				few = 3
			}
			for i := 0; i < few; i++ {
				e.must(e.site.AddComment("A-1", "acc-alice", "c", at(time.Duration(i)*time.Second)))
			}
			c := e.collector(Options{})
			if err := c.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := 3 + ceilDiv(I, 100) + ceilDiv(I, 1000) + 1 // + the busy issue's comments
			if tc.signals {
				want++ // one search over the scope, not one per batch
			}
			if got := e.api.Count(nil); got != want {
				t.Fatalf("full sync of %d issues: %d requests (%v), want %d", I, got, e.api.CountByEndpoint(), want)
			}
			ds := e.load()
			if len(ds.Items) != I {
				t.Fatalf("items = %d, want %d", len(ds.Items), I)
			}
			// The 45-history issue: 23 status changes, 22 assignments (21
			// of them replacing someone), all stored.
			k := kinds(eventsOf(ds, big))
			if k[model.EventStatusChanged] != 23 || k[model.EventAssigned] != 22 || k[model.EventUnassigned] != 21 ||
				k[model.EventStatusChanged]+k[model.EventAssigned] != 45 || k[model.EventCreated] != 1 || k[model.EventCommented] != 25 {
				t.Fatalf("%s events = %v", big, k)
			}
			if k := kinds(eventsOf(ds, "A-1")); big != "A-1" && k[model.EventCommented] != few {
				t.Fatalf("A-1 events = %v, want %d commented", k, few)
			}
			// Nothing changed: one request.
			e.api.ResetRequests()
			e.clock.Advance(10 * time.Minute)
			if err := c.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := e.api.CountByEndpoint(); len(got) != 1 || got["jira_search_jql 200"] != 1 {
				t.Fatalf("unchanged sync: %v, want one search", got)
			}
			// A fresh process pays the 3 metadata calls once more, and
			// re-evaluates signals for the issues inside the overlap (it
			// does not know they are unchanged).
			e.api.ResetRequests()
			if err := e.collector(Options{}).Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			want = 4
			if tc.signals {
				want++
			}
			// The busy issue is in the overlap when it is the most recently
			// updated issue (the fewer-issue cases): its cut comments are
			// read again.
			var maxU time.Time
			for _, is := range e.site.Issues() {
				if is.Updated.After(maxU) {
					maxU = is.Updated
				}
			}
			if b, _ := e.site.Issue(big); !b.Updated.Before(maxU.Add(-DefaultOverlap)) {
				want++
			}
			if got := e.api.Count(nil); got != want {
				t.Fatalf("unchanged sync after restart: %d requests %v, want %d", got, e.api.CountByEndpoint(), want)
			}
		})
	}
}

func TestCloudMapping(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, "")
	s := e.site
	e.must(s.AddVersion("A", fakejira.Version{Name: "2.0", ReleaseDate: at(10 * 24 * time.Hour), Released: true}))
	epic, err := s.CreateIssue(fakejira.Issue{Project: "A", Type: "Epic", Summary: "Checkout", Reporter: "acc-alice", Created: at(0), DueDate: at(20 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	is, err := s.CreateIssue(fakejira.Issue{Project: "A", Summary: "Pay button", Reporter: "acc-dora", Created: at(time.Hour),
		Labels: []string{"decision"}, Components: []string{"Web"}})
	if err != nil {
		t.Fatal(err)
	}
	k := is.Key
	e.must(s.Transition(k, "Ready for Design", "acc-alice", at(2*time.Hour)))
	e.must(s.Assign(k, "acc-dora", "acc-alice", at(3*time.Hour)))
	e.must(s.SetTeam(k, "Design", "acc-alice", at(3*time.Hour)))
	e.must(s.AddFixVersion(k, "2.0", "acc-alice", at(4*time.Hour)))
	e.must(s.SetParent(k, epic.Key, "acc-alice", at(4*time.Hour)))
	e.must(s.AddComponent(k, "API", "acc-bob", at(5*time.Hour)))
	e.must(s.RemoveComponent(k, "Web", "acc-bob", at(5*time.Hour)))
	e.must(s.Transition(k, "Done", "acc-bob", at(6*time.Hour)))
	e.must(s.Transition(k, "In Progress", "acc-bob", at(7*time.Hour)))
	e.must(s.Transition(k, "Done", "acc-bob", at(8*time.Hour)))
	c := e.collector(Options{})
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	ds := e.load()
	var item model.Item
	for _, it := range ds.Items {
		if it.Key == k {
			item = it
		}
	}
	want := model.Item{Source: "jira", Key: k, Target: "acme-jira", Kind: model.KindJiraIssue, URL: e.srv.URL + "/browse/" + k,
		Title: "Pay button", Author: "acc-dora", Created: at(time.Hour), Closed: at(8 * time.Hour), Updated: at(8 * time.Hour),
		Milestones: []string{"2.0", "epic:" + epic.Key}, Labels: []string{"decision"}, Assignees: []string{"acc-dora"},
		Status: "Done", TeamValue: "Design", Components: []string{"API"}, Signals: []string{"decision"}}
	if fmt.Sprintf("%+v", item) != fmt.Sprintf("%+v", want) {
		t.Errorf("item\n got %+v\nwant %+v", item, want)
	}
	type ev struct {
		At                 time.Duration
		Actor, Kind, Value string
		From, To           string
	}
	var got []ev
	for _, x := range eventsOf(ds, k) {
		got = append(got, ev{x.At.Sub(base), x.Actor, string(x.Kind), x.Value, x.From, x.To})
	}
	h := time.Hour
	wantEv := []ev{
		{h, "acc-dora", "created", "", "", ""},
		{2 * h, "acc-alice", "status_changed", "", "To Do", "Ready for Design"},
		{3 * h, "acc-alice", "assigned", "acc-dora", "", ""},
		{3 * h, "acc-alice", "team_field_changed", "", "", "Design"},
		{4 * h, "acc-alice", "milestoned", "2.0", "", ""},
		{4 * h, "acc-alice", "milestoned", "epic:" + epic.Key, "", ""},
		{5 * h, "acc-bob", "component_added", "API", "", ""},
		{5 * h, "acc-bob", "component_removed", "Web", "", ""},
		{6 * h, "acc-bob", "status_changed", "", "Ready for Design", "Done"},
		{6 * h, "acc-bob", "closed", "", "", ""},
		{7 * h, "acc-bob", "status_changed", "", "Done", "In Progress"},
		{7 * h, "acc-bob", "reopened", "", "", ""},
		{8 * h, "acc-bob", "status_changed", "", "In Progress", "Done"},
		{8 * h, "acc-bob", "closed", "", "", ""},
	}
	if fmt.Sprint(got) != fmt.Sprint(wantEv) {
		t.Errorf("events\n got %v\nwant %v", got, wantEv)
	}
	ms := map[string]model.Milestone{}
	for _, m := range ds.Milestones {
		ms[m.Key] = m
	}
	v := s.Versions("A")[0]
	rel := time.Date(2026, 3, 12, 23, 59, 59, 0, time.UTC)
	if m := ms["version:"+v.ID]; m.Title != "2.0" || !m.Due.Equal(rel) || !m.Closed.Equal(rel) {
		t.Errorf("version milestone = %+v", m)
	}
	if m := ms["epic:"+epic.Key]; m.Title != "Checkout" || !m.Due.Equal(time.Date(2026, 3, 22, 23, 59, 59, 0, time.UTC)) || !m.Closed.IsZero() {
		t.Errorf("epic milestone = %+v", m)
	}
	// Only dora's user object carries an email; the fake's Cloud users
	// have no Data Center key.
	wantIDs := []model.Identity{{Source: "jira", Account: "acc-dora", Kind: model.IdentityEmail, Value: "dora@example.com"}}
	if !reflect.DeepEqual(ds.Identities, wantIDs) {
		t.Errorf("identities = %+v, want %+v", ds.Identities, wantIDs)
	}
}

// TestMemberAddedByEmailAfterSync: the store holds ids and identity facts,
// not teams, so a member added to the configuration by email after the
// sync owns their history at the next computation, with no request.
// dora (acc-dora) is not configured at first; the issue enters design's
// waiting status at 1h and dora comments at 3h.
func TestMemberAddedByEmailAfterSync(t *testing.T) {
	without := strings.Replace(teamsYAML, "      - email: dora@example.com\n", "", 1)
	e := newEnv(t, fakejira.Cloud, without)
	is, err := e.site.CreateIssue(fakejira.Issue{Project: "A", Summary: "Copy", Reporter: "acc-bob", Created: at(0)})
	if err != nil {
		t.Fatal(err)
	}
	e.must(e.site.Transition(is.Key, "In Progress", "acc-bob", at(30*time.Minute)))
	e.must(e.site.Transition(is.Key, "Ready for Design", "acc-bob", at(time.Hour)))
	e.must(e.site.AddComment(is.Key, "acc-dora", "on it", at(3*time.Hour)))
	if err := e.collector(Options{}).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.api.ResetRequests()
	ds := e.load()
	pickup := func(yaml string) time.Duration {
		cfg, err := config.Parse([]byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		snap := engine.New(cfg, ds.Members, engine.Options{KeepHandoffs: true}).Compute(ds, at(5*time.Hour))
		if len(snap.Handoffs) != 1 {
			t.Fatalf("handoffs = %+v, want backend->design", snap.Handoffs)
		}
		h := snap.Handoffs[0]
		if h.From != "backend" || h.To != "design" || !h.Start.Equal(at(time.Hour)) {
			t.Fatalf("handoff = %+v, want backend->design at 1h", h)
		}
		if h.Pickup.IsZero() {
			return -1
		}
		return h.Pickup.Sub(h.Start)
	}
	if got := pickup(without); got != -1 {
		t.Errorf("dora unknown: pickup after %v, want none", got)
	}
	if got := pickup(teamsYAML); got != 2*time.Hour {
		t.Errorf("dora added by email: pickup after %v, want 2h", got)
	}
	if n := e.api.Count(nil); n != 0 {
		t.Errorf("re-derivation made %d requests, want 0", n)
	}
}

// TestDataCenterMatchesCloud: the same site synced through Data Center
// (startAt pages, expand=changelog with ISO created, user names, no
// fieldId) and through Cloud (token pages, bulkfetch with epoch created)
// stores the same events at the same instants.
func TestDataCenterMatchesCloud(t *testing.T) {
	datasets := map[string]*model.Dataset{}
	for _, dep := range []string{fakejira.Cloud, fakejira.DataCenter} {
		e := newEnv(t, dep, strings.ReplaceAll(teamsYAML, "jira: acc-", "jira: "))
		// Data Center names users by user name; make them equal to the
		// account ids so both deployments store the same identities.
		for _, id := range []string{"alice", "bob", "dora"} {
			e.must(e.site.AddUser(fakejira.User{AccountID: "acc-" + id, Name: "acc-" + id}))
		}
		e.populate(249)
		c := e.collector(Options{})
		if err := c.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		I := 250
		// Metadata (/field, /status, /issueLinkType), search pages,
		// bulkfetch (Cloud), and one signal search over the whole scope
		// per sync (not one per batch).
		want := 3 + ceilDiv(I, 100) + ceilDiv(I, 1000) + 1
		if dep == fakejira.DataCenter {
			want = 3 + ceilDiv(I, DefaultPageSize) + 1
		}
		if got := e.api.Count(nil); got != want {
			t.Errorf("%s: %d requests %v, want %d", dep, got, e.api.CountByEndpoint(), want)
		}
		datasets[dep] = e.load()
		// Nothing changed: one search on either deployment.
		e.clock.Advance(10 * time.Minute)
		e.api.ResetRequests()
		if err := c.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := e.api.Count(nil); got != 1 {
			t.Errorf("%s: unchanged sync cost %d requests %v", dep, got, e.api.CountByEndpoint())
		}
	}
	cl, dc := datasets[fakejira.Cloud], datasets[fakejira.DataCenter]
	if len(cl.Events) < 700 || len(cl.Events) != len(dc.Events) {
		t.Fatalf("events: cloud %d, dc %d", len(cl.Events), len(dc.Events))
	}
	for i := range cl.Events {
		if cl.Events[i] != dc.Events[i] {
			t.Fatalf("event %d differs:\ncloud %+v\n   dc %+v", i, cl.Events[i], dc.Events[i])
		}
	}
	for i := range cl.Items {
		a, b := cl.Items[i], dc.Items[i]
		a.URL, b.URL = "", ""
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("item %d differs:\ncloud %+v\n   dc %+v", i, a, b)
		}
	}
}

// TestBulkfetchPaging: histories beyond one bulkfetch page are fetched by
// nextPageToken, and the result equals a single-page fetch.
func TestBulkfetchPaging(t *testing.T) {
	var events [2][]model.Event
	for i, pageMax := range []int{bulkMaxResults, 40} {
		e := newEnv(t, fakejira.Cloud, strings.Split(teamsYAML, "signals:")[0])
		e.populate(199)
		filtered := 0
		for _, is := range e.site.Issues() {
			for _, h := range e.site.Histories(is.Key) {
				for _, it := range h.Items {
					if it.FieldID != "resolution" {
						filtered++
						break
					}
				}
			}
		}
		c := e.collector(Options{})
		c.bulkMax = pageMax
		if err := c.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, want := e.api.CountByEndpoint()["jira_changelog_bulkfetch 200"], ceilDiv(filtered, pageMax); got != want {
			t.Fatalf("page %d: %d bulkfetch requests for %d histories, want %d", pageMax, got, filtered, want)
		}
		events[i] = e.load().Events
	}
	if len(events[0]) < 500 || fmt.Sprint(events[0]) != fmt.Sprint(events[1]) {
		t.Fatalf("paged fetch stored %d events, single page %d", len(events[1]), len(events[0]))
	}
}

// TestBulkfetchSizedToFit: a full sync of 3000 issues whose 1000-issue
// batches carry a little more histories than one bulkfetch answer holds
// would need two calls per batch (6); sized from the histories per issue
// seen by the first call, the later calls fit one answer each, so the
// sync needs at most the histories over 90% of a page, plus the first
// batch's overflow.
func TestBulkfetchSizedToFit(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, strings.Split(teamsYAML, "signals:")[0])
	e.populate(2999)
	filtered := 0
	for _, is := range e.site.Issues() {
		for _, h := range e.site.Histories(is.Key) {
			for _, it := range h.Items {
				if it.FieldID != "resolution" {
					filtered++
					break
				}
			}
		}
	}
	c := e.collector(Options{})
	// Per 1000 issues about filtered/3 histories: a page 3% smaller.
	c.bulkMax = filtered / 3 * 97 / 100
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := e.api.CountByEndpoint()["jira_changelog_bulkfetch 200"]
	floor := ceilDiv(filtered, c.bulkMax)
	limit := ceilDiv(filtered, c.bulkMax*9/10) + 1
	if got < floor || got > limit || got >= 6 {
		t.Errorf("%d bulkfetch calls for %d histories in pages of %d: want between %d and %d, and fewer than the 6 of fixed 1000-issue calls", got, filtered, c.bulkMax, floor, limit)
	}
	if n := len(e.load().Items); n != 3000 {
		t.Errorf("items = %d", n)
	}
}

func TestCreatedEpochAndISO(t *testing.T) {
	// The Atlassian examples: bulkfetch has 1492070429 (epoch ms), the
	// issue changelog "1970-01-18T06:27:50.429+0000" for the same instant.
	var a, b, c flexTime
	for _, tc := range []struct {
		in  string
		dst *flexTime
	}{{`1492070429`, &a}, {`"1970-01-18T06:27:50.429+0000"`, &b}, {`"1970-01-18T08:27:50.429+0200"`, &c}} {
		if err := json.Unmarshal([]byte(tc.in), tc.dst); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
	}
	if !a.Equal(b.Time) || !b.Equal(c.Time) || a.UnixMilli() != 1492070429 {
		t.Fatalf("epoch %v, iso %v, offset %v", a, b, c)
	}
	var bad flexTime
	if err := json.Unmarshal([]byte(`"yesterday"`), &bad); err == nil {
		t.Fatal("bad created accepted")
	}
}

func TestCloudSiteConfiguredAsDataCenter(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, "")
	e.populate(3)
	e.tgt.Deployment = config.JiraDataCenter
	err := e.collector(Options{}).Sync(context.Background())
	if err == nil || !errors.Is(err, ErrDeployment) || !strings.Contains(err.Error(), "jira/acme-jira") ||
		!strings.Contains(err.Error(), "set `deployment: cloud`") || !strings.Contains(err.Error(), "410") {
		t.Fatalf("err = %v", err)
	}
	if n := len(e.load().Items); n != 0 {
		t.Fatalf("stored %d items", n)
	}
}

func TestErrorsNameTargetAndHideToken(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e *env)
		is    error
		want  []string
	}{
		{"bad JQL", func(e *env) { e.tgt.JQL = "summary ~ payment" }, ErrJQL,
			[]string{"jira/acme-jira", `Error in the JQL Query: Field 'summary' does not exist`}},
		{"wrong token", func(e *env) { e.tgt.Token = "wrong-" + token }, ErrAuth,
			[]string{"jira/acme-jira", "401", "email and API token"}},
		{"unknown team field", func(e *env) { e.tgt.TeamField = "Squad" }, nil,
			[]string{"jira/acme-jira", `team_field "Squad"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, fakejira.Cloud, "")
			e.populate(2)
			tc.setup(e)
			err := e.collector(Options{}).Sync(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err %v is not %v", err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("err %q shows the token", err)
			}
		})
	}
}

func TestDataCenterSiteConfiguredAsCloud(t *testing.T) {
	e := newEnv(t, fakejira.DataCenter, "")
	e.populate(2)
	e.tgt.Deployment, e.tgt.Email = config.JiraCloud, email
	err := e.collector(Options{}).Sync(context.Background())
	if !errors.Is(err, ErrDeployment) || !strings.Contains(err.Error(), "deployment: datacenter") {
		t.Fatalf("err = %v", err)
	}
}

func TestUnknownProjectDoesNotStopTheOthers(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, "")
	e.populate(3)
	e.must(e.site.CreateIssue(fakejira.Issue{Project: "B", Summary: "b", Created: at(0)}))
	e.tgt.Projects = []string{"A", "GONE", "B"}
	err := e.collector(Options{}).Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "project GONE") || strings.Contains(err.Error(), "project A:") {
		t.Fatalf("err = %v", err)
	}
	if n := len(e.load().Items); n != 5 {
		t.Fatalf("items = %d, want A's 4 and B's 1", n)
	}
	for _, p := range []string{"A", "B"} {
		if v, ok, _ := e.st.Cursor(context.Background(), "jira", "acme-jira", "updated:"+p); !ok || v == "" {
			t.Errorf("no watermark for %s", p)
		}
	}
}

// TestTruncatedChangelogCompleted: an incremental sync embeds changelogs
// (expand=changelog, the newest 40 on Cloud); an issue with more new
// histories than that is completed by bulkfetch, one with only old ones
// beyond the cut is not.
func TestTruncatedChangelogCompleted(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, strings.Split(teamsYAML, "signals:")[0])
	big := e.populate(2) // A-3 has 45 histories, all old
	c := e.collector(Options{})
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	now := e.clock.Now()
	// A-1 gets 50 new changes; A-3 (45 old histories) one more.
	for i := 0; i < 50; i++ {
		e.must(e.site.Transition("A-1", []string{"In Progress", "In Design"}[i%2], "acc-bob", now.Add(time.Duration(i-60)*time.Second)))
	}
	e.must(e.site.Assign(big, "acc-dora", "acc-bob", now.Add(-time.Second)))
	e.api.ResetRequests()
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := e.api.CountByEndpoint()
	if len(got) != 2 || got["jira_search_jql 200"] != 1 || got["jira_changelog_bulkfetch 200"] != 1 {
		t.Fatalf("requests = %v, want one search and one bulkfetch (for A-1 only)", got)
	}
	ds := e.load()
	if n := kinds(eventsOf(ds, "A-1"))[model.EventStatusChanged]; n != 50+2 {
		t.Fatalf("A-1 status events = %d, want 52 (2 old + 50 new)", n)
	}
	if k := kinds(eventsOf(ds, big)); k[model.EventAssigned] != 23 || k[model.EventStatusChanged] != 23 {
		t.Fatalf("%s events = %v", big, k)
	}
}

// TestOverlapKeepsChangesSearchDidNotSeeYet: search is eventually
// consistent; a change made just before a sync and not yet visible is found
// by the next sync, because the watermark never passes now - overlap and
// the next window starts overlap before it.
func TestOverlapKeepsChangesSearchDidNotSeeYet(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, strings.Split(teamsYAML, "signals:")[0])
	e.api.SetSearchLag(2 * time.Minute)
	e.populate(3)
	c := e.collector(Options{})
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	t1 := e.clock.Now()
	e.must(e.site.Transition("A-2", "In Design", "acc-alice", t1.Add(-10*time.Minute))) // visible
	e.must(e.site.Transition("A-1", "Limbo", "acc-bob", t1.Add(-30*time.Second)))       // not yet visible
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	w, _, _ := e.st.Cursor(context.Background(), "jira", "acme-jira", "updated")
	if want := t1.Add(-10 * time.Minute).Format(time.RFC3339Nano); w != want {
		t.Fatalf("watermark %s, want the largest updated seen %s", w, want)
	}
	if n := kinds(eventsOf(e.load(), "A-1"))[model.EventStatusChanged]; n != 2 {
		t.Fatalf("A-1 status events after sync 1 = %d, want the 2 old ones", n)
	}
	e.clock.Advance(10 * time.Minute)
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs := eventsOf(e.load(), "A-1")
	last := evs[len(evs)-1]
	if last.Kind != model.EventStatusChanged || last.To != "Limbo" || !last.At.Equal(t1.Add(-30*time.Second)) {
		t.Fatalf("A-1's last event = %+v, want the change to Limbo", last)
	}
	// The watermark never passes now - overlap.
	e.clock.Advance(time.Minute)
	now := e.clock.Now()
	e.must(e.site.Assign("A-3", "acc-dora", "acc-bob", now))
	e.api.SetSearchLag(0)
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	w, _, _ = e.st.Cursor(context.Background(), "jira", "acme-jira", "updated")
	if want := now.Add(-DefaultOverlap).Format(time.RFC3339Nano); w != want {
		t.Fatalf("watermark %s, want now - overlap %s", w, want)
	}
}

// TestUnmappedStatus: a status no team maps is stored as it is; the engine
// gives it no owner and counts it so the user can fix the mapping.
func TestUnmappedStatus(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, strings.Split(teamsYAML, "signals:")[0])
	is, err := e.site.CreateIssue(fakejira.Issue{Project: "A", Summary: "x", Reporter: "acc-alice", Created: at(0)})
	if err != nil {
		t.Fatal(err)
	}
	e.must(e.site.Transition(is.Key, "In Design", "acc-alice", at(time.Hour)))
	e.must(e.site.Transition(is.Key, "In Progress", "acc-alice", at(2*time.Hour)))
	e.must(e.site.Transition(is.Key, "Limbo", "acc-bob", at(3*time.Hour)))
	if err := e.collector(Options{}).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := engine.New(e.cfg, nil, engine.Options{KeepHandoffs: true}).Compute(e.load(), at(4*time.Hour))
	if fmt.Sprint(snap.UnmappedStatuses) != "map[Limbo:1]" {
		t.Errorf("unmapped = %v", snap.UnmappedStatuses)
	}
	var pairs []string
	for _, h := range snap.Handoffs {
		pairs = append(pairs, h.From+"->"+h.To)
	}
	if fmt.Sprint(pairs) != "[design->backend]" {
		t.Errorf("handoffs = %v, want only design->backend (Limbo owns nothing)", pairs)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults fakeapi.Faults
		lo, hi func(attempt int) time.Duration
	}{
		{"429 with Retry-After", fakeapi.Faults{TooManyRate: 0.3, RetryAfter: 7 * time.Second, Seed: 3},
			func(int) time.Duration { return 7 * time.Second }, func(int) time.Duration { return 7700 * time.Millisecond }},
		{"503 with Retry-After", fakeapi.Faults{ServerErrorRate: 0.3, RetryAfter: 2 * time.Second, Seed: 5},
			func(int) time.Duration { return 2 * time.Second }, func(int) time.Duration { return 2200 * time.Millisecond }},
		{"429 without Retry-After", fakeapi.Faults{TooManyRate: 0.3, RetryAfter: -1, Seed: 3},
			func(a int) time.Duration { return 10 * time.Millisecond << a }, func(a int) time.Duration { return 11 * time.Millisecond << a }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, fakejira.Cloud, strings.Split(teamsYAML, "signals:")[0])
			e.populate(299)
			e.api.SetFaults(tc.faults)
			c := e.collector(Options{})
			c.rt.backoff = 10 * time.Millisecond
			if err := c.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			refused := e.api.Count(func(r fakeapi.Request) bool { return r.Status == 429 || r.Status == 503 })
			if refused == 0 || len(e.sleeps) != refused {
				t.Fatalf("refused %d, waits %v", refused, e.sleeps)
			}
			for _, d := range e.sleeps {
				ok := false
				for a := 0; a <= maxRetries; a++ {
					if d >= tc.lo(a) && d <= tc.hi(a) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("wait %v outside the expected range", d)
				}
			}
			if n := len(e.load().Items); n != 300 {
				t.Fatalf("items = %d", n)
			}
		})
	}
}

func TestNearLimitSlowsDown(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, strings.Split(teamsYAML, "signals:")[0])
	e.populate(199)
	e.api.SetNearLimit(true)
	c := e.collector(Options{})
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 3 + 2 + 1 requests; every one after the first waits the pacing.
	if n := e.api.Count(nil); n != 6 || len(e.sleeps) != 5 {
		t.Fatalf("requests %d, waits %v", n, e.sleeps)
	}
	for _, d := range e.sleeps {
		if d != nearLimitPacing {
			t.Fatalf("wait %v, want %v", d, nearLimitPacing)
		}
	}
}

func TestBadPayloadNamesIssueAndStoresNothing(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, strings.Split(teamsYAML, "signals:")[0])
	e.populate(150)
	bad, _ := e.site.Issue("A-120")
	created := bad.Created.Format(fakejira.TimeLayout)
	e.rewrite = func(r *http.Request, body []byte) []byte {
		if !strings.HasSuffix(r.URL.Path, "/search/jql") {
			return body
		}
		return bytes.Replace(body, []byte(`"created":"`+created+`"`), []byte(`"created":"the 5th of March"`), 1)
	}
	err := e.collector(Options{}).Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "issue A-120: field created") {
		t.Fatalf("err = %v", err)
	}
	if n := len(e.load().Items); n != 0 {
		t.Fatalf("stored %d items of a failed batch", n)
	}
	if _, ok, _ := e.st.Cursor(context.Background(), "jira", "acme-jira", "updated"); ok {
		t.Fatal("watermark written")
	}
	// Repaired answers: the next sync stores everything.
	e.rewrite = nil
	if err := e.collector(Options{}).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.load().Items); n != 151 {
		t.Fatalf("items = %d", n)
	}
}

func TestRepeatedPageTokenStops(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, strings.Split(teamsYAML, "signals:")[0])
	e.populate(250)
	first := ""
	e.rewrite = func(r *http.Request, body []byte) []byte {
		if !strings.HasSuffix(r.URL.Path, "/search/jql") {
			return body
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		tok, _ := m["nextPageToken"].(string)
		if first == "" {
			first = tok
		} else if tok != "" {
			m["nextPageToken"] = first
		}
		out, _ := json.Marshal(m)
		return out
	}
	err := e.collector(Options{}).Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "repeated") {
		t.Fatalf("err = %v", err)
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, "")
	e.api.SetFaults(fakeapi.Faults{TooManyRate: 1})
	c := e.collector(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	c.rt.sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	if err := c.Sync(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"Mon, 02 Mar 2026 10:00:30 GMT", 30 * time.Second, true},
		{"soon", 0, false},
		{"", 0, false},
	} {
		d, ok := resilience.RetryAfter(tc.in, now)
		if d != tc.want || ok != tc.ok {
			t.Errorf("%q: %v %v", tc.in, d, ok)
		}
	}
}

// BenchmarkFullSync measures a full Cloud sync of 3000 issues (about 9,000
// histories) from the in-process fake over loopback HTTP into a fresh
// SQLite store: 3 + 30 + 3 = 36 requests.
func BenchmarkFullSync(b *testing.B) {
	e := newEnv(b, fakejira.Cloud, strings.Split(teamsYAML, "signals:")[0])
	e.populate(2999)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		c, err := New(Options{Config: e.cfg, Target: e.tgt, Store: st, Now: e.clock.Now})
		if err != nil {
			b.Fatal(err)
		}
		e.api.ResetRequests()
		b.StartTimer()
		if err := c.Sync(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n := e.api.Count(nil); n != 35 {
			b.Fatalf("requests = %d", n)
		}
		st.Close()
		b.StartTimer()
	}
}

// TestUnchangedIssueInTheRoundedMinute: the incremental window is
// "updated >= -Nm", w - overlap rounded down to whole minutes, so it also
// finds issues updated up to a minute before w - overlap. Such an issue
// must still be known as unchanged: the next sync costs one search, with
// no signal search and nothing written. Times: A-1 updated at t0, A-2 at
// t0+5m20s (w), so w - overlap = t0+20s; the second sync at t0+21m asks
// for the last 21 minutes, which reaches back to t0.
func TestUnchangedIssueInTheRoundedMinute(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, "")
	t0 := e.clock.Now()
	e.must(e.site.CreateIssue(fakejira.Issue{Project: "A", Summary: "x", Reporter: "acc-alice", Created: t0}))
	e.must(e.site.CreateIssue(fakejira.Issue{Project: "A", Summary: "w", Reporter: "acc-alice", Created: t0.Add(5*time.Minute + 20*time.Second)}))
	e.clock.Set(t0.Add(20 * time.Minute))
	c := e.collector(Options{})
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := len(e.load().Events)
	e.api.ResetRequests()
	e.clock.Set(t0.Add(21 * time.Minute))
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.api.CountByEndpoint(); len(got) != 1 || got["jira_search_jql 200"] != 1 {
		t.Errorf("unchanged sync: %v, want one search", got)
	}
	if n := len(e.load().Events); n != before {
		t.Errorf("events %d -> %d", before, n)
	}
}

// TestInterruptedWhileBatchWrites: a batch is written while the next
// search page is requested. The context ends after that page was
// answered and before the batch was written: nothing of the batch and no
// watermark is stored, and the next sync stores exactly what an
// uninterrupted sync stores.
func TestInterruptedWhileBatchWrites(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, "")
	e.populate(1200) // two bulkfetch batches: after search page 10, and at the end
	var searches atomic.Int64
	page11 := make(chan struct{})
	e.rewrite = func(r *http.Request, body []byte) []byte {
		if strings.HasSuffix(r.URL.Path, "/search/jql") && searches.Add(1) == 11 {
			close(page11)
		}
		return body
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := e.collector(Options{})
	var writes []int
	c.hook = func(stage string, n int) {
		writes = append(writes, n)
		if n == 1 {
			select {
			case <-page11: // the next search page was answered meanwhile
			case <-time.After(10 * time.Second):
				t.Error("no search request while the first batch was being written")
			}
			cancel()
		}
	}
	if err := c.Sync(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the cancellation", err)
	}
	if fmt.Sprint(writes) != "[1]" {
		t.Errorf("batch writes begun %v, want [1]", writes)
	}
	if ds := e.load(); len(ds.Items) != 0 {
		t.Errorf("%d items stored by the interrupted sync, want none (its batch write was cancelled)", len(ds.Items))
	}
	if v, ok, err := e.st.Cursor(context.Background(), model.SourceJira, e.tgt.Name, cursorName); err != nil || ok {
		t.Fatalf("watermark %q stored (%v) by the interrupted sync", v, err)
	}
	e.rewrite = nil
	c.hook = nil
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := e.load()

	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "ref.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e.st = st
	if err := e.collector(Options{}).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := e.load()
	if len(want.Items) != 1201 || len(want.Events) < 3000 {
		t.Fatalf("reference: %d items %d events", len(want.Items), len(want.Events))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resumed sync: %d items %d events, want %d and %d", len(got.Items), len(got.Events), len(want.Items), len(want.Events))
	}
}
