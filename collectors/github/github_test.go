package github

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/fakeapi"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/store"
)

// base is Monday 2026-03-02 00:00 UTC.
var base = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

const token = "t0ken"

const teamsYAML = `
teams:
  design:
    members: [alice]
    github_teams: [acme/design]
    markers:
      github_labels: ["team:design"]
  backend:
    members: [bill]
    github_teams: [acme/backend]
    markers:
      github_labels: ["team:backend"]
`

type env struct {
	t      *testing.T
	clock  *fakeapi.ManualClock
	org    *fakegithub.Org
	gh     *fakegithub.GitHub
	srv    *httptest.Server
	cfg    *config.Config
	target *config.GitHubSource
	path   string
	st     *store.Store

	// gqlItems, when set, caps the aliases per GraphQL query (more
	// queries for the fault matrix to hit).
	gqlItems int
	logger   *slog.Logger // nil: discard

	mu     sync.Mutex
	sleeps []time.Duration
	// wrap, when set, may answer a request instead of the fake.
	wrap func(w http.ResponseWriter, r *http.Request) bool
	// after runs after the fake answered, with the status.
	after func(r *http.Request, status int)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func newEnv(t *testing.T, opts fakegithub.GitHubOptions) *env {
	t.Helper()
	e := &env{t: t, clock: fakeapi.NewManualClock(base)}
	e.org = fakegithub.NewOrg()
	e.org.Now = e.clock.Now
	opts.Tokens = append(opts.Tokens, token)
	e.gh = fakegithub.NewGitHub(e.org, opts)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.wrap != nil && e.wrap(w, r) {
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		e.gh.ServeHTTP(rec, r)
		if e.after != nil {
			e.after(r, rec.status)
		}
	}))
	t.Cleanup(e.srv.Close)
	cfg, err := config.Parse([]byte(teamsYAML))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	e.cfg = cfg
	e.target = &config.GitHubSource{Name: "acme", BaseURL: e.srv.URL + "/", Token: config.Secret(token),
		Orgs: []config.OrgPattern{{Org: "acme", Exclude: []string{"archive-.*"}}}}
	e.path = filepath.Join(t.TempDir(), "store.db")
	e.openStore()
	return e
}

func (e *env) openStore() {
	st, err := store.Open(context.Background(), e.path, nil)
	if err != nil {
		e.t.Fatalf("store: %v", err)
	}
	e.st = st
	e.t.Cleanup(func() { st.Close() })
}

func (e *env) collector() *Collector {
	e.t.Helper()
	c, err := New(Options{Config: e.cfg, Target: e.target, Store: e.st, Now: e.clock.Now, Logger: e.logger})
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	if e.gqlItems > 0 {
		c.gqlItems = e.gqlItems
	}
	c.setSleep(func(ctx context.Context, d time.Duration) error {
		e.mu.Lock()
		e.sleeps = append(e.sleeps, d)
		e.mu.Unlock()
		e.clock.Advance(d)
		return ctx.Err()
	})
	return c
}

func (e *env) sync() error {
	e.t.Helper()
	return e.collector().Sync(context.Background())
}

func (e *env) mustSync() {
	e.t.Helper()
	if err := e.sync(); err != nil {
		e.t.Fatalf("sync: %v", err)
	}
}

func (e *env) load() *model.Dataset {
	e.t.Helper()
	ds, err := e.st.Load(context.Background())
	if err != nil {
		e.t.Fatalf("load: %v", err)
	}
	return ds
}

// checker returns a function failing t when its second argument is an error.
func checker(t *testing.T) func(any, error) {
	return func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// scenario fills the fake org: three repos (one excluded by pattern), two
// GitHub teams, issues, a PR with team and user review requests, reviews,
// comments, milestones and every mapped event type plus noise.
func (e *env) scenario() {
	t, o := e.t, e.org
	ck := checker(t)
	for _, r := range []string{"acme/web", "acme/api", "acme/docs", "acme/archive-old"} {
		if err := o.AddRepo(r); err != nil {
			t.Fatal(err)
		}
	}
	ck(o.AddTeam(fakegithub.Team{Org: "acme", Slug: "design", Members: []string{"alice"}}))
	ck(o.AddTeam(fakegithub.Team{Org: "acme", Slug: "backend", Members: []string{"bob", "bill"}}))

	ck(o.AddMilestone("acme/web", fakegithub.Milestone{Title: "v1", Creator: "alice", DueOn: at(240 * time.Hour), CreatedAt: at(0)}))
	ck(o.AddMilestone("acme/api", fakegithub.Milestone{Title: "v1", Creator: "bill", State: "closed", CreatedAt: at(0), ClosedAt: at(20 * time.Hour)}))

	// #1: handoff design -> backend at 1h, picked up by bob's comment at 3h.
	ck(o.AddIssue("acme/web", fakegithub.Issue{Title: "Login page", User: "alice", Labels: []string{"team:design"}, CreatedAt: at(0)}))
	ev := func(repo string, x fakegithub.Event) { t.Helper(); ck(o.AddEvent(repo, x)) }
	ev("acme/web", fakegithub.Event{Issue: 1, Type: fakegithub.EventUnlabeled, Actor: "alice", Label: "team:design", CreatedAt: at(time.Hour)})
	ev("acme/web", fakegithub.Event{Issue: 1, Type: fakegithub.EventLabeled, Actor: "alice", Label: "team:backend", CreatedAt: at(time.Hour)})
	ck(o.AddComment("acme/web", fakegithub.Comment{Issue: 1, User: "bob", Body: "on it", CreatedAt: at(3 * time.Hour)}))
	ev("acme/web", fakegithub.Event{Issue: 1, Type: fakegithub.EventAssigned, Actor: "bob", Assignee: "bob", CreatedAt: at(4 * time.Hour)})
	ev("acme/web", fakegithub.Event{Issue: 1, Type: fakegithub.EventSubscribed, Actor: "bob", CreatedAt: at(4 * time.Hour)})
	ev("acme/web", fakegithub.Event{Issue: 1, Type: fakegithub.EventUnassigned, Actor: "bob", Assignee: "bob", CreatedAt: at(5 * time.Hour)})
	ev("acme/web", fakegithub.Event{Issue: 1, Type: fakegithub.EventMilestoned, Actor: "alice", Milestone: "v1", CreatedAt: at(5 * time.Hour)})
	ev("acme/web", fakegithub.Event{Issue: 1, Type: fakegithub.EventClosed, Actor: "bob", CreatedAt: at(10 * time.Hour)})
	ev("acme/web", fakegithub.Event{Issue: 1, Type: fakegithub.EventReopened, Actor: "alice", CreatedAt: at(11 * time.Hour)})
	ev("acme/web", fakegithub.Event{Issue: 1, Type: fakegithub.EventDemilestoned, Actor: "alice", Milestone: "v1", CreatedAt: at(12 * time.Hour)})

	// #2: PR by alice, review requested from team backend and from carol.
	ck(o.AddIssue("acme/web", fakegithub.Issue{Title: "Add login API", User: "alice", PullRequest: true, CreatedAt: at(2 * time.Hour)}))
	ev("acme/web", fakegithub.Event{Issue: 2, Type: fakegithub.EventReviewRequested, Actor: "alice", RequestedTeam: "backend", CreatedAt: at(2 * time.Hour)})
	ev("acme/web", fakegithub.Event{Issue: 2, Type: fakegithub.EventReviewRequested, Actor: "alice", RequestedReviewer: "carol", CreatedAt: at(2 * time.Hour)})
	ev("acme/web", fakegithub.Event{Issue: 2, Type: fakegithub.EventReviewRequestRemoved, Actor: "alice", RequestedReviewer: "carol", CreatedAt: at(3 * time.Hour)})
	ck(o.AddReview("acme/web", fakegithub.Review{PullRequest: 2, User: "bob", State: fakegithub.ReviewChangesRequested, SubmittedAt: at(5 * time.Hour)}))
	ck(o.AddReview("acme/web", fakegithub.Review{PullRequest: 2, User: "bob", State: fakegithub.ReviewApproved, SubmittedAt: at(6 * time.Hour)}))
	ev("acme/web", fakegithub.Event{Issue: 2, Type: fakegithub.EventMerged, Actor: "alice", CreatedAt: at(7 * time.Hour)})

	// #3: PR without review requests (its reviews are not fetched).
	ck(o.AddIssue("acme/web", fakegithub.Issue{Title: "Typo", User: "bill", PullRequest: true, CreatedAt: at(8 * time.Hour)}))

	// acme/api: two issues, a comment by an unknown user.
	ck(o.AddIssue("acme/api", fakegithub.Issue{Title: "Rate limit", User: "bill", Labels: []string{"team:backend"}, CreatedAt: at(time.Hour)}))
	ck(o.AddIssue("acme/api", fakegithub.Issue{Title: "Docs", User: "zed", CreatedAt: at(2 * time.Hour)}))
	ck(o.AddComment("acme/api", fakegithub.Comment{Issue: 2, User: "zed", Body: "?", CreatedAt: at(6 * time.Hour)}))
	ev("acme/api", fakegithub.Event{Issue: 2, Type: fakegithub.EventClosed, Actor: "zed", CreatedAt: at(9 * time.Hour)})

	// Excluded repository: must never be asked for.
	ck(o.AddIssue("acme/archive-old", fakegithub.Issue{Title: "Old", User: "alice", CreatedAt: at(0)}))

	e.clock.Set(at(24 * time.Hour))
}

func byID(ds *model.Dataset) map[string]model.Event {
	m := map[string]model.Event{}
	for _, ev := range ds.Events {
		m[ev.ID] = ev
	}
	return m
}

func find(ds *model.Dataset, match func(model.Event) bool) []model.Event {
	var out []model.Event
	for _, ev := range ds.Events {
		if match(ev) {
			out = append(out, ev)
		}
	}
	return out
}

func TestFullSync(t *testing.T) {
	e := newEnv(t, fakegithub.GitHubOptions{})
	e.scenario()
	e.mustSync()
	ds := e.load()

	// Items: 3 in web, 2 in api, none from the excluded repo.
	if len(ds.Items) != 5 {
		t.Fatalf("items = %d, want 5: %+v", len(ds.Items), ds.Items)
	}
	items := map[string]model.Item{}
	for _, it := range ds.Items {
		items[it.Key] = it
	}
	i1 := items["acme/web#1"]
	if i1.Kind != model.KindIssue || i1.Title != "Login page" || i1.Author != "alice" || !i1.Created.Equal(at(0)) ||
		i1.Target != "acme" || i1.URL != "https://github.com/acme/web/issues/1" ||
		strings.Join(i1.Labels, ",") != "team:backend" || len(i1.Milestones) != 0 || !i1.Closed.IsZero() ||
		!i1.Updated.Equal(at(12*time.Hour)) {
		t.Errorf("item #1 = %+v", i1)
	}
	i2 := items["acme/web#2"]
	if i2.Kind != model.KindPullRequest || !i2.Closed.Equal(at(7*time.Hour)) {
		t.Errorf("item #2 = %+v", i2)
	}

	// Events: every org event of a mapped type, plus created, comments, reviews.
	want := 0
	for _, r := range []string{"acme/web", "acme/api"} {
		for _, x := range e.org.Events(r) {
			if x.Type != fakegithub.EventSubscribed {
				want++
			}
		}
		want += len(e.org.Issues(r)) + len(e.org.Comments(r))
	}
	want += 2 // reviews of #2
	if len(ds.Events) != want {
		t.Errorf("events = %d, want %d", len(ds.Events), want)
	}
	kinds := map[model.EventKind]int{}
	for _, ev := range ds.Events {
		kinds[ev.Kind]++
	}
	for _, k := range []model.EventKind{model.EventCreated, model.EventLabeled, model.EventUnlabeled, model.EventAssigned,
		model.EventUnassigned, model.EventReviewRequested, model.EventReviewRequestRemoved, model.EventReviewed,
		model.EventCommented, model.EventClosed, model.EventMerged, model.EventReopened, model.EventMilestoned, model.EventDemilestoned} {
		if kinds[k] == 0 {
			t.Errorf("no %s event stored", k)
		}
	}
	team := find(ds, func(ev model.Event) bool { return ev.Kind == model.EventReviewRequested && ev.Team != "" })
	if len(team) != 1 || team[0].Team != "acme/backend" || team[0].ItemKey != "acme/web#2" || team[0].Actor != "alice" ||
		!team[0].At.Equal(at(2*time.Hour)) || team[0].Value != "" {
		t.Errorf("team review request = %+v", team)
	}
	user := find(ds, func(ev model.Event) bool { return ev.Kind == model.EventReviewRequestRemoved })
	if len(user) != 1 || user[0].Value != "carol" {
		t.Errorf("review_request_removed = %+v", user)
	}
	lab := find(ds, func(ev model.Event) bool {
		return ev.Kind == model.EventLabeled && ev.Value == "team:backend" && ev.ItemKey == "acme/web#1"
	})
	if len(lab) != 1 || !lab[0].At.Equal(at(time.Hour)) || lab[0].Actor != "alice" {
		t.Errorf("labeled = %+v", lab)
	}
	ms := find(ds, func(ev model.Event) bool { return ev.Kind == model.EventMilestoned })
	if len(ms) != 1 || ms[0].Value != "v1" {
		t.Errorf("milestoned = %+v", ms)
	}
	as := find(ds, func(ev model.Event) bool { return ev.Kind == model.EventAssigned })
	if len(as) != 1 || as[0].Value != "bob" {
		t.Errorf("assigned = %+v", as)
	}
	revs := find(ds, func(ev model.Event) bool { return ev.Kind == model.EventReviewed })
	if len(revs) != 2 || revs[0].Value != "changes_requested" || revs[1].Value != "approved" || revs[1].Actor != "bob" ||
		!revs[1].At.Equal(at(6*time.Hour)) || !strings.HasPrefix(revs[1].ID, "review:") {
		t.Errorf("reviews = %+v", revs)
	}
	cm := find(ds, func(ev model.Event) bool { return ev.Kind == model.EventCommented && ev.ItemKey == "acme/api#2" })
	if len(cm) != 1 || cm[0].Actor != "zed" || !cm[0].At.Equal(at(6*time.Hour)) || !strings.HasPrefix(cm[0].ID, "comment:") {
		t.Errorf("unknown user's comment = %+v", cm)
	}
	cr := byID(ds)["created:acme/web#3"]
	if cr.Kind != model.EventCreated || cr.Actor != "bill" || !cr.At.Equal(at(8*time.Hour)) {
		t.Errorf("created = %+v", cr)
	}

	// Milestones.
	if len(ds.Milestones) != 2 {
		t.Fatalf("milestones = %+v", ds.Milestones)
	}
	for _, m := range ds.Milestones {
		switch m.Key {
		case "acme/web/milestones/1":
			if m.Title != "v1" || !m.Due.Equal(at(240*time.Hour)) || !m.Closed.IsZero() || m.URL == "" {
				t.Errorf("web milestone = %+v", m)
			}
		case "acme/api/milestones/1":
			if !m.Closed.Equal(at(20 * time.Hour)) {
				t.Errorf("api milestone = %+v", m)
			}
		default:
			t.Errorf("unexpected milestone %+v", m)
		}
	}

	// Team members from GitHub team expansion.
	got := map[string]bool{}
	for _, m := range ds.Members {
		got[m.Team+"/"+m.Identity+"/"+m.Via] = true
	}
	for _, w := range []string{"design/alice/acme/design", "backend/bob/acme/backend", "backend/bill/acme/backend"} {
		if !got[w] {
			t.Errorf("member %s missing in %+v", w, ds.Members)
		}
	}
	if len(ds.Members) != 3 {
		t.Errorf("members = %+v", ds.Members)
	}

	// The excluded repository was never asked for.
	if n := e.gh.Count(func(r fakeapi.Request) bool { return r.Repo == "acme/archive-old" }); n != 0 {
		t.Errorf("%d requests for the excluded repo", n)
	}

	// Engine: the label swap design -> backend at 1h is picked up by bob
	// (a backend member only through the GitHub team) at 3h: 2h pickup.
	snap := engine.New(e.cfg, ds.Members, engine.Options{KeepHandoffs: true}).Compute(ds, at(24*time.Hour))
	found := false
	for _, h := range snap.Handoffs {
		if h.ItemKey == "acme/web#1" && h.Kind == engine.KindOwner && h.From == "design" && h.To == "backend" {
			found = true
			if !h.Start.Equal(at(time.Hour)) || h.Pickup.Sub(h.Start) != 2*time.Hour {
				t.Errorf("handoff = %+v, want start 1h, pickup 2h later", h)
			}
		}
	}
	if !found {
		t.Errorf("design->backend handoff not derived: %+v", snap.Handoffs)
	}
}

// issues/events/milestones per repo; comments; reviews; team members; org listing.
func TestRequestCounts(t *testing.T) {
	ck := checker(t)
	e := newEnv(t, fakegithub.GitHubOptions{})
	e.scenario()
	e.mustSync()
	reqs := e.gh.Requests()
	// Theoretical minimum (apis.md §9) per synced repo (web, api, docs):
	// max(1,⌈I/100⌉)+max(1,⌈E/100⌉)+max(1,⌈M/100⌉) = 3, plus reviews of the
	// one PR with a review request. On top: comments (1 page per repo), the
	// org listing (1), two teams (2), and one settle request per watermark
	// that moved (issues and comments: at most 2 per repo).
	const R = 3
	theory := 3*R + 1
	// No blocked-by request: no listed issue has or had a blocking issue
	// (dependencies.go reads issue_dependencies_summary first).
	deps := e.gh.Count(func(r fakeapi.Request) bool { return r.Endpoint == fakegithub.EndpointIssueBlockedBy })
	if deps != 0 {
		t.Errorf("%d blocked-by requests, want 0 (no issue has a dependency)", deps)
	}
	bound := theory + R /*comments*/ + 1 /*org*/ + 2 /*teams*/ + 2*R /*settle*/ + deps
	if len(reqs) > bound {
		for _, r := range reqs {
			t.Logf("%s %s?%s -> %d", r.Endpoint, r.Path, r.Query, r.Status)
		}
		t.Fatalf("full sync: %d requests, bound %d (theoretical minimum %d)", len(reqs), bound, theory)
	}
	t.Logf("full sync: %d requests (theoretical minimum %d, bound %d)", len(reqs), theory, bound)
	ds1 := e.load()

	// Nothing changed: a restarted collector on a reopened store sends only
	// conditional requests, all 304, costing no primary quota.
	e.st.Close()
	e.openStore()
	e.gh.ResetRequests()
	used := e.gh.RateStatus(token).Used
	e.mustSync()
	for _, r := range e.gh.Requests() {
		if !r.Conditional || r.Status != http.StatusNotModified || r.Cost {
			t.Errorf("no-change sync: %s %s?%s conditional=%v status=%d cost=%v", r.Endpoint, r.Path, r.Query, r.Conditional, r.Status, r.Cost)
		}
	}
	if got := e.gh.RateStatus(token).Used - used; got != 0 {
		t.Errorf("no-change sync used %d primary quota", got)
	}
	t.Logf("no-change sync: %d requests", len(e.gh.Requests()))

	// One new event and one new comment: fetched once, stored once.
	e.clock.Set(at(30 * time.Hour))
	ck(e.org.AddEvent("acme/api", fakegithub.Event{Issue: 1, Type: fakegithub.EventAssigned, Actor: "bill", Assignee: "bill"}))
	e.clock.Set(at(31 * time.Hour))
	ck(e.org.AddComment("acme/api", fakegithub.Comment{Issue: 1, User: "bob", Body: "done"}))
	e.clock.Set(at(32 * time.Hour))
	e.gh.ResetRequests()
	e.mustSync()
	ds2 := e.load()
	if len(ds2.Events) != len(ds1.Events)+2 {
		t.Errorf("events %d -> %d, want +2", len(ds1.Events), len(ds2.Events))
	}
	paid := e.gh.Count(func(r fakeapi.Request) bool { return r.Cost })
	for _, r := range e.gh.Requests() {
		if r.Cost && r.Repo != "acme/api" && r.Endpoint != fakegithub.EndpointOrgRepos {
			t.Errorf("paid request for an unchanged repo: %s %s", r.Endpoint, r.Path)
		}
	}
	t.Logf("one event + one comment: %d requests, %d paid", len(e.gh.Requests()), paid)
	// org listing (repo metadata changed) + issues(+settle) + events + comments(+settle)
	if paid > 1+2+1+2 {
		t.Errorf("incremental sync paid %d requests", paid)
	}
	// And again: nothing new.
	e.gh.ResetRequests()
	e.mustSync()
	if n := e.gh.Count(func(r fakeapi.Request) bool { return r.Cost }); n != 0 {
		t.Errorf("sync after the incremental one paid %d requests", n)
	}
	if got := len(e.load().Events); got != len(ds2.Events) {
		t.Errorf("events changed without changes: %d -> %d", len(ds2.Events), got)
	}
}

func TestPaginationCursorAndHorizon(t *testing.T) {
	ck := checker(t)
	e := newEnv(t, fakegithub.GitHubOptions{Faults: fakeapi.Faults{PageCap: 2, EventsHorizon: 1}})
	e.target.GraphQL = config.GraphQLOff // the REST path: this test is about its feeds and budget
	e.target.Orgs = nil
	e.target.Repos = []string{"acme/big"}
	if err := e.org.AddRepo("acme/big"); err != nil {
		t.Fatal(err)
	}
	ck(e.org.AddTeam(fakegithub.Team{Org: "acme", Slug: "design", Members: []string{"alice"}}))
	ck(e.org.AddTeam(fakegithub.Team{Org: "acme", Slug: "backend", Members: []string{"bob"}}))
	const n = 250
	for i := range n {
		ck(e.org.AddIssue("acme/big", fakegithub.Issue{Title: fmt.Sprint("issue ", i), User: "alice", CreatedAt: at(time.Duration(i) * time.Minute)}))
	}
	// 150 events: 3 on each of the 50 first issues. The feed serves only
	// page 1 (100 newest); older issues need their own events list.
	for i := range 150 {
		ck(e.org.AddEvent("acme/big", fakegithub.Event{Issue: i/3 + 1, Type: fakegithub.EventLabeled, Actor: "bob",
			Label: fmt.Sprint("l", i%3), CreatedAt: at(300*time.Minute + time.Duration(i)*time.Minute)}))
	}
	e.clock.Set(at(100 * time.Hour))
	e.mustSync()
	ds := e.load()
	if len(ds.Items) != n {
		t.Errorf("items = %d, want %d", len(ds.Items), n)
	}
	if c := e.gh.Count(func(r fakeapi.Request) bool { return strings.Contains(r.Query, "after=") }); c == 0 {
		t.Error("cursor (after=) pagination never followed")
	}
	labeled := find(ds, func(ev model.Event) bool { return ev.Kind == model.EventLabeled })
	if len(labeled) != 150 {
		t.Errorf("labeled events = %d, want 150", len(labeled))
	}
	// Per-issue events exactly once per issue created before the oldest
	// event reached (all 250 issues are older than every event here).
	perIssue := map[string]int{}
	for _, r := range e.gh.Requests() {
		if r.Endpoint == fakegithub.EndpointIssueEvents {
			perIssue[r.Path]++
		}
	}
	if len(perIssue) != n {
		t.Errorf("per-issue event lists fetched for %d issues, want %d", len(perIssue), n)
	}
	for p, c := range perIssue {
		if c != 1 {
			t.Errorf("%s fetched %d times", p, c)
		}
	}
	// Restart: a new collector on the same store refetches nothing.
	e.gh.ResetRequests()
	e.mustSync()
	if c := e.gh.Count(func(r fakeapi.Request) bool { return r.Cost }); c != 0 {
		for _, r := range e.gh.Requests() {
			t.Logf("%s %s?%s -> %d", r.Endpoint, r.Path, r.Query, r.Status)
		}
		t.Errorf("second sync paid %d requests", c)
	}
	if got := len(e.load().Events); got != len(ds.Events) {
		t.Errorf("events %d -> %d", len(ds.Events), got)
	}
}

func TestSecondaryRateLimits(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusForbidden} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			e := newEnv(t, fakegithub.GitHubOptions{})
			e.target.Concurrency = intp(1) // the waits are counted: one waiter (TestRateLimitWaitHoldsEveryWorker has several)
			e.scenario()
			f := fakeapi.Faults{RetryAfter: 30 * time.Second}
			if status == http.StatusTooManyRequests {
				f.TooManyRate = 1
			} else {
				f.SecondaryRate = 1
			}
			e.gh.SetFaults(f)
			limited := 0
			e.after = func(r *http.Request, st int) {
				if st == status {
					limited++
					e.gh.SetFaults(fakeapi.Faults{}) // one episode only
				}
			}
			e.mustSync()
			if limited != 1 {
				t.Errorf("limited answers = %d", limited)
			}
			if len(e.sleeps) != 1 || e.sleeps[0] != 30*time.Second {
				t.Errorf("sleeps = %v, want [30s]", e.sleeps)
			}
			if got := len(e.load().Items); got != 5 {
				t.Errorf("items = %d", got)
			}
		})
	}
}

// TestPrimaryRateLimitWaitsForReset: no request is sent into a spent
// budget, with one repository at a time or several (the last requests
// of a window are admitted only while Remaining exceeds those in flight).
func TestPrimaryRateLimitWaitsForReset(t *testing.T) {
	for _, workers := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("concurrency %d", workers), func(t *testing.T) { testPrimaryRateLimit(t, workers) })
	}
}

func testPrimaryRateLimit(t *testing.T, workers int) {
	e := newEnv(t, fakegithub.GitHubOptions{RateLimit: 6, RateWindow: time.Hour})
	e.target.GraphQL = config.GraphQLOff // the REST path: this test is about its feeds and budget
	e.target.Concurrency = &workers
	e.scenario()
	e.mustSync()
	if got := len(e.load().Items); got != 5 {
		t.Errorf("items = %d", got)
	}
	if len(e.sleeps) == 0 {
		t.Fatal("never waited for the reset")
	}
	// The window starts at the first request (at 24h) and resets an hour
	// later; nothing is sent in between once the budget is spent.
	reqs := e.gh.Requests()
	for _, r := range reqs {
		if r.Status == http.StatusForbidden || r.Status == http.StatusTooManyRequests {
			t.Errorf("request sent while exhausted: %s %s -> %d at %s", r.Endpoint, r.Path, r.Status, r.Time)
		}
	}
	first := reqs[0].Time
	if len(e.sleeps) < 2 {
		t.Errorf("sleeps = %v (expected one wait per window)", e.sleeps)
	}
	if e.sleeps[0] < time.Hour-time.Minute || e.sleeps[0] > time.Hour+2*time.Second {
		t.Errorf("first wait %v, want about 1h (until reset)", e.sleeps[0])
	}
	for i := 1; i < len(reqs); i++ {
		if reqs[i].Time.Before(first.Add(time.Hour)) && i >= 6 {
			t.Errorf("request %d at %s before the reset", i, reqs[i].Time)
		}
	}
}

func TestBadInput(t *testing.T) {
	t.Run("missing repo", func(t *testing.T) {
		e := newEnv(t, fakegithub.GitHubOptions{})
		e.scenario()
		e.target.Repos = []string{"acme/nope"}
		err := e.sync()
		if err == nil || !strings.Contains(err.Error(), "github/acme: repo acme/nope: list issues: repository acme/nope not found (404)") {
			t.Fatalf("err = %v", err)
		}
		if got := len(e.load().Items); got != 5 {
			t.Errorf("other repos: items = %d", got)
		}
	})
	t.Run("revoked token", func(t *testing.T) {
		e := newEnv(t, fakegithub.GitHubOptions{})
		e.scenario()
		e.mustSync()
		before := len(e.load().Events)
		e.gh.RemoveToken(token)
		err := e.sync()
		if err == nil || !strings.Contains(err.Error(), "bad credentials (401): check the token") || strings.Contains(err.Error(), token) {
			t.Fatalf("err = %v", err)
		}
		if got := len(e.load().Events); got != before {
			t.Errorf("events %d -> %d", before, got)
		}
	})
	t.Run("malformed page", func(t *testing.T) {
		e := newEnv(t, fakegithub.GitHubOptions{})
		e.target.GraphQL = config.GraphQLOff // the REST comments feed
		e.scenario()
		e.wrap = func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/repos/acme/api/issues/comments") {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`[{"id": 1, "body": "x"`))
				return true
			}
			return false
		}
		err := e.sync()
		if err == nil || !strings.Contains(err.Error(), "repo acme/api: list comments:") {
			t.Fatalf("err = %v", err)
		}
		ds := e.load()
		if len(ds.Items) != 5 {
			t.Errorf("items = %d", len(ds.Items))
		}
		if n := len(find(ds, func(ev model.Event) bool { return ev.Kind == model.EventCommented && ev.ItemKey == "acme/web#1" })); n != 1 {
			t.Errorf("web comments = %d", n)
		}
		// Fixed: the next sync gets the comment; nothing is stored twice.
		e.wrap = nil
		e.mustSync()
		ds2 := e.load()
		if n := len(find(ds2, func(ev model.Event) bool { return ev.Kind == model.EventCommented })); n != 2 {
			t.Errorf("comments after recovery = %d", n)
		}
	})
	t.Run("transient 5xx", func(t *testing.T) {
		e := newEnv(t, fakegithub.GitHubOptions{Faults: fakeapi.Faults{ServerErrorRate: 0.3, Seed: 7}})
		e.scenario()
		e.mustSync()
		if got := len(e.load().Items); got != 5 {
			t.Errorf("items = %d", got)
		}
		for _, d := range e.sleeps {
			if d > backoffCap {
				t.Errorf("backoff %v above cap", d)
			}
		}
	})
}
