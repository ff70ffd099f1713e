package github_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/crossteam/crossteam/fakeapi"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
)

var t0 = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)

const (
	tokA = "ghp_tokenA"
	tokB = "ghp_tokenB"
)

type env struct {
	org   *fakegithub.Org
	clock *fakeapi.ManualClock
	gh    *fakegithub.GitHub
	srv   *httptest.Server
}

func newEnv(t *testing.T, org *fakegithub.Org, clock *fakeapi.ManualClock, opts fakegithub.GitHubOptions) *env {
	t.Helper()
	if org == nil {
		clock = fakeapi.NewManualClock(t0)
		org = fakegithub.NewOrg()
		org.Now = clock.Now
	}
	if opts.Tokens == nil && !opts.NoAuth {
		opts.Tokens = []string{tokA, tokB}
	}
	gh := fakegithub.NewGitHub(org, opts)
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	return &env{org: org, clock: clock, gh: gh, srv: srv}
}

// client returns a fresh go-github v60 client for tok ("" = no token).
func (e *env) client(tok string) *gh.Client {
	c := gh.NewClient(nil)
	if tok != "" {
		c = c.WithAuthToken(tok)
	}
	u, _ := url.Parse(e.srv.URL + "/")
	c.BaseURL = u
	return c
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// seedOrg builds a small organisation that exercises every payload field.
func seedOrg(t *testing.T) (*fakegithub.Org, *fakeapi.ManualClock) {
	t.Helper()
	clock := fakeapi.NewManualClock(t0)
	org := fakegithub.NewOrg()
	org.Now = clock.Now
	check(t, org.AddRepo("acme/web"))
	check(t, org.AddRepo("acme/api"))
	must[fakegithub.Team](t)(org.AddTeam(fakegithub.Team{Org: "acme", Slug: "platform", Name: "Platform", Description: "Platform team", Members: []string{"carol", "dave"}}))
	check(t, org.SetTeamMembers("acme/web-team", "alice", "bob"))
	must[fakegithub.Milestone](t)(org.AddMilestone("acme/web", fakegithub.Milestone{Title: "v1.0", Description: "first release", DueOn: t0.Add(30 * 24 * time.Hour), Creator: "alice"}))
	must[fakegithub.Milestone](t)(org.AddMilestone("acme/web", fakegithub.Milestone{Title: "v0.9", Creator: "alice"}))

	// #1: an issue handed from web-team to platform.
	mustIssue := must[fakegithub.Issue](t)
	mustEvent := must[fakegithub.Event](t)
	is1 := mustIssue(org.AddIssue("acme/web", fakegithub.Issue{Title: "Login broken", User: "alice", Labels: []string{"bug", "team:web"}, Assignees: []string{"bob"}, Milestone: "v1.0", CreatedAt: t0}))
	clock.Advance(time.Hour)
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: is1.Number, Type: fakegithub.EventLabeled, Actor: "bob", Label: "team:platform"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: is1.Number, Type: fakegithub.EventUnlabeled, Actor: "bob", Label: "team:web"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: is1.Number, Type: fakegithub.EventAssigned, Actor: "bob", Assignee: "carol"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: is1.Number, Type: fakegithub.EventSubscribed, Actor: "carol"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: is1.Number, Type: fakegithub.EventMentioned, Actor: "carol"}))
	clock.Advance(time.Hour)
	must[fakegithub.Comment](t)(org.AddComment("acme/web", fakegithub.Comment{Issue: is1.Number, User: "carol", Body: "on it"}))

	// #2: a PR from platform that asks web-team's ... and platform's review.
	clock.Advance(time.Hour)
	pr := mustIssue(org.AddIssue("acme/web", fakegithub.Issue{Title: "Fix login", User: "carol", PullRequest: true, Labels: []string{"bug"}, Assignees: []string{"carol"}, Milestone: "v1.0"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: pr.Number, Type: fakegithub.EventReviewRequested, Actor: "carol", RequestedTeam: "platform"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: pr.Number, Type: fakegithub.EventReviewRequested, Actor: "carol", RequestedReviewer: "alice"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: pr.Number, Type: fakegithub.EventReferenced, Actor: "carol"}))
	clock.Advance(time.Hour)
	must[fakegithub.Review](t)(org.AddReview("acme/web", fakegithub.Review{PullRequest: pr.Number, User: "dave", State: fakegithub.ReviewChangesRequested, Body: "nit"}))
	clock.Advance(time.Hour)
	must[fakegithub.Review](t)(org.AddReview("acme/web", fakegithub.Review{PullRequest: pr.Number, User: "alice", State: fakegithub.ReviewCommented}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: pr.Number, Type: fakegithub.EventReviewRequestRemoved, Actor: "carol", RequestedReviewer: "alice"}))
	clock.Advance(time.Hour)
	must[fakegithub.Review](t)(org.AddReview("acme/web", fakegithub.Review{PullRequest: pr.Number, User: "dave", State: fakegithub.ReviewApproved}))
	must[fakegithub.Comment](t)(org.AddComment("acme/web", fakegithub.Comment{Issue: pr.Number, User: "alice", Body: "thanks"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: pr.Number, Type: fakegithub.EventMerged, Actor: "dave"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: pr.Number, Type: "head_ref_deleted", Actor: "dave"}))

	// #3: closed, reopened, renamed, moved between milestones.
	clock.Advance(time.Hour)
	is3 := mustIssue(org.AddIssue("acme/web", fakegithub.Issue{Title: "Docs", User: "bob", Milestone: "v0.9"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: is3.Number, Type: fakegithub.EventAssigned, Actor: "bob", Assignee: "bob"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: is3.Number, Type: fakegithub.EventClosed, Actor: "bob"}))
	clock.Advance(time.Minute)
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: is3.Number, Type: fakegithub.EventReopened, Actor: "alice"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: is3.Number, Type: fakegithub.EventUnassigned, Actor: "alice", Assignee: "bob"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: is3.Number, Type: fakegithub.EventRenamed, Actor: "alice", Title: "Write docs"}))
	mustEvent(org.AddEvent("acme/web", fakegithub.Event{Issue: is3.Number, Type: fakegithub.EventMilestoned, Actor: "alice", Milestone: "v1.0"}))
	clock.Advance(time.Minute)
	must[fakegithub.Milestone](t)(org.UpdateMilestone("acme/web", 2, func(m *fakegithub.Milestone) { m.State = "closed" }))
	clock.Advance(time.Hour)
	return org, clock
}

// nextLink returns the rel="next" URL of a Link header, or "".
func nextLink(link string) string {
	for _, part := range strings.Split(link, ",") {
		segs := strings.Split(strings.TrimSpace(part), ";")
		if len(segs) >= 2 && strings.TrimSpace(segs[1]) == `rel="next"` {
			return strings.Trim(strings.TrimSpace(segs[0]), "<>")
		}
	}
	return ""
}

func rels(link string) []string {
	var out []string
	for _, part := range strings.Split(link, ",") {
		segs := strings.Split(strings.TrimSpace(part), ";")
		if len(segs) >= 2 {
			out = append(out, strings.Trim(strings.TrimSpace(segs[1]), `rel="`))
		}
	}
	return out
}

func manyIssues(t *testing.T, org *fakegithub.Org, clock *fakeapi.ManualClock, repo string, n int) {
	t.Helper()
	check(t, org.AddRepo(repo))
	for i := 0; i < n; i++ {
		must[fakegithub.Issue](t)(org.AddIssue(repo, fakegithub.Issue{Title: fmt.Sprintf("item %d", i+1), User: "alice", PullRequest: i%3 == 0}))
		clock.Advance(time.Minute)
	}
}

func TestIssuesPageLinksThenCursorPastCap(t *testing.T) {
	e := newEnv(t, nil, nil, fakegithub.GitHubOptions{Faults: fakeapi.Faults{PageCap: 3}})
	manyIssues(t, e.org, e.clock, "acme/big", 45)
	ctx := context.Background()
	c := e.client(tokA)

	// The idiomatic v60 loop stops silently at the cap: NextPage is 0 once
	// the Link switches to after=<cursor>.
	opts := &gh.IssueListByRepoOptions{State: "all", Sort: "updated", Direction: "asc", ListOptions: gh.ListOptions{PerPage: 10}}
	var viaPages []*gh.Issue
	var lastResp *gh.Response
	for {
		items, resp, err := c.Issues.ListByRepo(ctx, "acme", "big", opts)
		check(t, err)
		viaPages = append(viaPages, items...)
		lastResp = resp
		if opts.Page == 2 {
			rs := rels(resp.Header.Get("Link"))
			if strings.Join(rs, ",") != "prev,next,first" {
				t.Errorf("page 2 rels = %v, want prev,next,first (no last beyond the cap)", rs)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(viaPages) != 30 {
		t.Fatalf("v60 NextPage loop got %d issues, want 30 (3 pages before the cursor switch)", len(viaPages))
	}
	if lastResp.NextPage != 0 || lastResp.After == "" {
		t.Fatalf("after the switch: NextPage=%d After=%q; want 0 and a cursor", lastResp.NextPage, lastResp.After)
	}
	if nl, _ := url.Parse(nextLink(lastResp.Header.Get("Link"))); nl == nil || nl.Query().Get("after") == "" || nl.Query().Has("page") {
		t.Fatalf("next link past the cap = %q, want an after= cursor and no page=", nl)
	}

	// Following the raw rel="next" URL gets every item, in updated order.
	req, err := c.NewRequest("GET", "repos/acme/big/issues?state=all&sort=updated&direction=asc&per_page=10", nil)
	check(t, err)
	var all []*gh.Issue
	for pages := 0; ; pages++ {
		var page []*gh.Issue
		resp, err := c.Do(ctx, req, &page)
		check(t, err)
		all = append(all, page...)
		next := nextLink(resp.Header.Get("Link"))
		if next == "" {
			break
		}
		if pages == 0 && !strings.Contains(next, "/repositories/") {
			t.Errorf("Link next %q does not use the /repositories/{id} form", next)
		}
		req, err = c.NewRequest("GET", next, nil)
		check(t, err)
	}
	if len(all) != 45 {
		t.Fatalf("following Link got %d issues, want 45", len(all))
	}
	for i, is := range all {
		if is.GetNumber() != i+1 {
			t.Fatalf("item %d has number %d; want updated-ascending order", i, is.GetNumber())
		}
	}

	// An explicit page beyond the cap answers 422 with GitHub's message.
	_, _, err = c.Issues.ListByRepo(ctx, "acme", "big", &gh.IssueListByRepoOptions{State: "all", ListOptions: gh.ListOptions{PerPage: 10, Page: 4}})
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 422 || er.Message != fakegithub.MsgPageCap {
		t.Fatalf("page 4 err = %v, want 422 %q", err, fakegithub.MsgPageCap)
	}

	// since = updated_at >= T.
	since := t0.Add(40 * time.Minute)
	recent, _, err := c.Issues.ListByRepo(ctx, "acme", "big", &gh.IssueListByRepoOptions{State: "all", Sort: "updated", Direction: "asc", Since: since})
	check(t, err)
	if len(recent) != 5 || recent[0].GetNumber() != 41 {
		t.Fatalf("since=%v gave %d issues starting at #%d, want 5 from #41", since, len(recent), recent[0].GetNumber())
	}
	// state defaults to open; PRs are in the list with pull_request links.
	prs := 0
	for _, is := range all {
		if is.IsPullRequest() {
			prs++
		}
	}
	if prs != 15 {
		t.Fatalf("%d PRs in the list, want 15", prs)
	}
}

func TestIssuesPageLinksWithinCap(t *testing.T) {
	e := newEnv(t, nil, nil, fakegithub.GitHubOptions{LinkByName: true})
	manyIssues(t, e.org, e.clock, "acme/small", 7)
	c := e.client(tokA)
	_, resp, err := c.Issues.ListByRepo(context.Background(), "acme", "small", &gh.IssueListByRepoOptions{State: "all", ListOptions: gh.ListOptions{PerPage: 3, Page: 2}})
	check(t, err)
	if resp.NextPage != 3 || resp.PrevPage != 1 || resp.FirstPage != 1 || resp.LastPage != 3 {
		t.Fatalf("pages next=%d prev=%d first=%d last=%d", resp.NextPage, resp.PrevPage, resp.FirstPage, resp.LastPage)
	}
	link := resp.Header.Get("Link")
	if !strings.Contains(link, e.srv.URL+"/repos/acme/small/issues?") || !strings.Contains(link, "state=all") {
		t.Fatalf("Link %q should keep the path by name and the other query parameters", link)
	}
}

func TestRepoEventsNewestFirstAndHorizon(t *testing.T) {
	e := newEnv(t, nil, nil, fakegithub.GitHubOptions{Faults: fakeapi.Faults{EventsHorizon: 2}})
	check(t, e.org.AddRepo("acme/ev"))
	is := must[fakegithub.Issue](t)(e.org.AddIssue("acme/ev", fakegithub.Issue{Title: "x", User: "alice"}))
	for i := 0; i < 25; i++ {
		e.clock.Advance(time.Minute)
		typ := fakegithub.EventLabeled
		if i%2 == 1 {
			typ = fakegithub.EventUnlabeled
		}
		must[fakegithub.Event](t)(e.org.AddEvent("acme/ev", fakegithub.Event{Issue: is.Number, Type: typ, Actor: "bob", Label: "team:a"}))
	}
	c := e.client(tokA)
	ctx := context.Background()
	opt := &gh.ListOptions{PerPage: 10}
	var ids []int64
	for page := 1; page <= 2; page++ {
		opt.Page = page
		evs, resp, err := c.Issues.ListRepositoryEvents(ctx, "acme", "ev", opt)
		check(t, err)
		if resp.LastPage != 0 && resp.LastPage != 2 {
			t.Errorf("rel=last = %d, want the horizon 2", resp.LastPage)
		}
		if page == 2 && resp.NextPage != 3 {
			t.Errorf("page 2 next = %d, want 3 (which is past the horizon)", resp.NextPage)
		}
		for _, ev := range evs {
			ids = append(ids, ev.GetID())
			if ev.Issue == nil || ev.Issue.GetNumber() != is.Number {
				t.Fatalf("event %d lacks the embedded issue", ev.GetID())
			}
		}
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] >= ids[i-1] {
			t.Fatalf("events not newest first: %v", ids)
		}
	}
	opt.Page = 3
	_, _, err := c.Issues.ListRepositoryEvents(ctx, "acme", "ev", opt)
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 422 || !strings.HasPrefix(er.Message, "In order to keep the API fast for everyone") {
		t.Fatalf("page 3 err = %#v, want 422 horizon", err)
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		t.Fatal("horizon 422 must not look like a rate limit")
	}

	// Per-issue events: oldest first, no issue object.
	evs, _, err := c.Issues.ListIssueEvents(ctx, "acme", "ev", is.Number, &gh.ListOptions{PerPage: 100})
	check(t, err)
	if len(evs) != 25 {
		t.Fatalf("%d issue events, want 25", len(evs))
	}
	for i, ev := range evs {
		if ev.Issue != nil {
			t.Fatal("per-issue events must not embed the issue")
		}
		if i > 0 && ev.GetID() <= evs[i-1].GetID() {
			t.Fatal("per-issue events not oldest first")
		}
	}
}

func TestConditionalRequests(t *testing.T) {
	org, clock := seedOrg(t)
	e := newEnv(t, org, clock, fakegithub.GitHubOptions{})
	c := e.client(tokA)
	ctx := context.Background()

	// A "sync": three probes, remembering ETags.
	probes := []string{
		"repos/acme/web/issues?direction=asc&since=2024-03-01T09%3A00%3A00Z&sort=updated&state=all&per_page=100",
		"repos/acme/web/issues/events?per_page=100",
		"repos/acme/web/milestones?state=all&per_page=100",
	}
	etags := map[string]string{}
	for _, p := range probes {
		req, _ := c.NewRequest("GET", p, nil)
		resp, err := c.Do(ctx, req, nil)
		check(t, err)
		etags[p] = resp.Header.Get("ETag")
		if !strings.HasPrefix(etags[p], `"`) {
			t.Fatalf("ETag %q is not a strong ETag", etags[p])
		}
	}
	before := e.gh.RateStatus(tokA)

	// Second sync: only conditional requests, all 304, no quota.
	e.gh.ResetRequests()
	for _, p := range probes {
		req, _ := c.NewRequest("GET", p, nil)
		req.Header.Set("If-None-Match", etags[p])
		resp, err := c.Do(ctx, req, nil)
		var er *gh.ErrorResponse
		if !errors.As(err, &er) || er.Response.StatusCode != http.StatusNotModified {
			t.Fatalf("%s: err = %v, want v60's ErrorResponse with 304", p, err)
		}
		if got := resp.Header.Get("X-RateLimit-Remaining"); got != fmt.Sprint(before.Remaining) {
			t.Fatalf("304 changed X-RateLimit-Remaining: %s, want %d", got, before.Remaining)
		}
		if resp.Header.Get("ETag") != etags[p] {
			t.Fatal("304 must repeat the ETag")
		}
	}
	reqs := e.gh.Requests()
	if len(reqs) != 3 || e.gh.Count(func(r fakeapi.Request) bool { return r.Conditional && r.Status == 304 && !r.Cost }) != 3 {
		t.Fatalf("second sync log = %+v, want 3 free conditional 304s", reqs)
	}
	if got := e.gh.CountByEndpoint(); got["issues 304"] != 1 || got["issue_events 304"] != 1 || got["milestones 304"] != 1 {
		t.Fatalf("per-endpoint counts %v", got)
	}
	if after := e.gh.RateStatus(tokA); after.Used != before.Used {
		t.Fatalf("quota used %d -> %d by 304s", before.Used, after.Used)
	}

	// The ETag depends on the token: another token gets a full 200.
	cb := e.client(tokB)
	req, _ := cb.NewRequest("GET", probes[2], nil)
	req.Header.Set("If-None-Match", etags[probes[2]])
	resp, err := cb.Do(ctx, req, nil)
	check(t, err)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == etags[probes[2]] {
		t.Fatalf("other token: status %d etag %s; want 200 with a different ETag", resp.StatusCode, resp.Header.Get("ETag"))
	}

	// A change makes the probe answer 200 again (a label bumps updated_at).
	clock.Advance(time.Minute)
	must[fakegithub.Event](t)(org.AddEvent("acme/web", fakegithub.Event{Issue: 1, Type: fakegithub.EventLabeled, Actor: "dave", Label: "p1"}))
	for _, p := range probes[:2] {
		req, _ := c.NewRequest("GET", p, nil)
		req.Header.Set("If-None-Match", etags[p])
		resp, err := c.Do(ctx, req, nil)
		check(t, err)
		if resp.StatusCode != 200 {
			t.Fatalf("%s after a change: %d", p, resp.StatusCode)
		}
	}
	if got := e.gh.RateStatus(tokA).Used; got != before.Used+2 {
		t.Fatalf("quota used %d, want %d", got, before.Used+2)
	}
}

func TestAuthentication(t *testing.T) {
	org, clock := seedOrg(t)
	e := newEnv(t, org, clock, fakegithub.GitHubOptions{})
	ctx := context.Background()
	for tok, msg := range map[string]string{"wrong": "Bad credentials", "": "Requires authentication"} {
		_, _, err := e.client(tok).Issues.ListByRepo(ctx, "acme", "web", nil)
		var er *gh.ErrorResponse
		if !errors.As(err, &er) || er.Response.StatusCode != 401 || er.Message != msg {
			t.Fatalf("token %q: err = %v, want 401 %q", tok, err, msg)
		}
	}
	// "token X" works as well as "Bearer X".
	req, _ := http.NewRequest("GET", e.srv.URL+"/repos/acme/web/issues", nil)
	req.Header.Set("Authorization", "token "+tokB)
	resp, err := http.DefaultClient.Do(req)
	check(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("token scheme: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	e.gh.RemoveToken(tokB)
	resp, err = http.DefaultClient.Do(req)
	check(t, err)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("removed token: %d", resp.StatusCode)
	}
	e.gh.SetNoAuth(true)
	_, _, err = e.client("").Issues.ListByRepo(ctx, "acme", "web", nil)
	check(t, err)

	// Unknown repository: GitHub's 404 body.
	_, _, err = e.client(tokA).Issues.ListByRepo(ctx, "acme", "nope", nil)
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 404 || er.Message != "Not Found" || er.DocumentationURL == "" {
		t.Fatalf("unknown repo: %v", err)
	}
}

func TestPrimaryRateLimit(t *testing.T) {
	org, clock := seedOrg(t)
	e := newEnv(t, org, clock, fakegithub.GitHubOptions{RateLimit: 3})
	c := e.client(tokA)
	ctx := context.Background()
	start := clock.Now() // the window starts at the token's first request
	for i := 2; i >= 0; i-- {
		_, resp, err := c.Issues.ListMilestones(ctx, "acme", "web", nil)
		check(t, err)
		if resp.Rate.Remaining != i || resp.Rate.Limit != 3 || resp.Header.Get("X-RateLimit-Used") != fmt.Sprint(3-i) || resp.Header.Get("X-RateLimit-Resource") != "core" {
			t.Fatalf("rate headers %v", resp.Header)
		}
	}
	_, _, err := c.Issues.ListMilestones(ctx, "acme", "web", nil)
	var rl *gh.RateLimitError
	if !errors.As(err, &rl) || rl.Response.StatusCode != 403 || !strings.HasPrefix(rl.Message, "API rate limit exceeded") {
		t.Fatalf("exhausted: err = %v, want *gh.RateLimitError", err)
	}
	if !rl.Rate.Reset.Time.Equal(start.Add(time.Hour)) || rl.Rate.Remaining != 0 {
		t.Fatalf("reset %v remaining %d, want %v and 0", rl.Rate.Reset, rl.Rate.Remaining, start.Add(time.Hour))
	}
	// /rate_limit answers and costs nothing; another token is unaffected.
	rates, _, err := c.RateLimit.Get(ctx)
	check(t, err)
	if rates.Core.Remaining != 0 || rates.Core.Limit != 3 {
		t.Fatalf("rate_limit core = %+v", rates.Core)
	}
	_, _, err = e.client(tokB).Issues.ListMilestones(ctx, "acme", "web", nil)
	check(t, err)
	// After the reset (on the Org clock) the budget is back.
	clock.Set(start.Add(time.Hour))
	_, resp, err := c.Issues.ListMilestones(ctx, "acme", "web", nil)
	check(t, err)
	if resp.Rate.Remaining != 2 {
		t.Fatalf("after reset remaining = %d, want 2", resp.Rate.Remaining)
	}
	if n := e.gh.Count(func(r fakeapi.Request) bool { return r.Endpoint == fakegithub.EndpointRateLimit && r.Cost }); n != 0 {
		t.Fatalf("%d rate_limit requests cost quota", n)
	}

	// The 429 variant.
	e2 := newEnv(t, org, clock, fakegithub.GitHubOptions{RateLimit: 1, PrimaryLimitStatus: 429})
	c2 := e2.client(tokA)
	_, _, err = c2.Issues.ListMilestones(ctx, "acme", "web", nil)
	check(t, err)
	_, resp, err = c2.Issues.ListMilestones(ctx, "acme", "web", nil)
	if resp == nil || resp.StatusCode != 429 || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("429 primary: %v", err)
	}
}

func TestSecondaryRateLimit(t *testing.T) {
	org, clock := seedOrg(t)
	e := newEnv(t, org, clock, fakegithub.GitHubOptions{Faults: fakeapi.Faults{SecondaryRate: 1, RetryAfter: 30 * time.Second}})
	ctx := context.Background()
	used := e.gh.RateStatus(tokA).Used

	_, _, err := e.client(tokA).Issues.ListByRepo(ctx, "acme", "web", nil)
	var ab *gh.AbuseRateLimitError
	if !errors.As(err, &ab) || ab.RetryAfter == nil || *ab.RetryAfter != 30*time.Second || !strings.HasPrefix(ab.Message, "You have exceeded a secondary rate limit") {
		t.Fatalf("403 secondary: err = %v, want *gh.AbuseRateLimitError with RetryAfter 30s", err)
	}
	// The episode lasts on the Org clock even when the knob is turned off.
	e.gh.SetFaults(fakeapi.Faults{})
	clock.Advance(10 * time.Second)
	_, _, err = e.client(tokA).Issues.ListByRepo(ctx, "acme", "web", nil)
	if !errors.As(err, &ab) || *ab.RetryAfter != 20*time.Second {
		t.Fatalf("during the episode: %v, want Retry-After 20s", err)
	}
	// Other tokens are not in the episode.
	_, _, err = e.client(tokB).Issues.ListByRepo(ctx, "acme", "web", nil)
	check(t, err)
	clock.Advance(20 * time.Second)
	_, _, err = e.client(tokA).Issues.ListByRepo(ctx, "acme", "web", nil)
	check(t, err)
	if got := e.gh.RateStatus(tokA).Used; got != used+1 {
		t.Fatalf("secondary refusals cost quota: used %d, want %d", got, used+1)
	}

	// 429: v60 returns a plain *gh.ErrorResponse (no AbuseRateLimitError).
	e.gh.SetFaults(fakeapi.Faults{TooManyRate: 1})
	_, resp, err := e.client(tokA).Issues.ListByRepo(ctx, "acme", "web", nil)
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || errors.As(err, &ab) || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("429 secondary: err = %T %v, Retry-After %q", err, err, resp.Header.Get("Retry-After"))
	}
	if !strings.HasSuffix(er.DocumentationURL, "secondary-rate-limits") || resp.Header.Get("X-RateLimit-Remaining") == "0" {
		t.Fatalf("429 secondary body/headers: %+v %v", er, resp.Header)
	}
	// Negative RetryAfter: no Retry-After header.
	clock.Advance(time.Hour)
	e.gh.SetFaults(fakeapi.Faults{SecondaryRate: 1, RetryAfter: -1})
	_, resp, _ = e.client(tokA).Issues.ListByRepo(ctx, "acme", "web", nil)
	if resp.StatusCode != 403 || resp.Header.Get("Retry-After") != "" {
		t.Fatalf("no-header episode: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestInjectedFaults(t *testing.T) {
	org, clock := seedOrg(t)
	e := newEnv(t, org, clock, fakegithub.GitHubOptions{Faults: fakeapi.Faults{ServerErrorRate: 1}})
	ctx := context.Background()
	c := e.client(tokA)
	var statuses []int
	for i := 0; i < 2; i++ {
		_, resp, err := c.Issues.ListByRepo(ctx, "acme", "web", nil)
		if err == nil {
			t.Fatal("want a 5xx")
		}
		statuses = append(statuses, resp.StatusCode)
	}
	if fmt.Sprint(statuses) != "[502 503]" || e.gh.RateStatus(tokA).Used != 0 {
		t.Fatalf("5xx statuses %v, used %d", statuses, e.gh.RateStatus(tokA).Used)
	}

	for _, f := range []fakeapi.Faults{{TruncateRate: 1}, {MalformedRate: 1}} {
		e.gh.SetFaults(f)
		_, resp, err := c.Issues.ListByRepo(ctx, "acme", "web", nil)
		var syn *json.SyntaxError
		if resp.StatusCode != 200 || err == nil || (!errors.As(err, &syn) && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "unexpected end of JSON")) {
			t.Fatalf("%v: status %d err %v; want a 200 that does not decode", f, resp.StatusCode, err)
		}
	}

	e.gh.SetFaults(fakeapi.Faults{NotFoundRepos: []string{"ACME/web"}, BrokenRepos: []string{"acme/api"}})
	_, resp, _ := c.Issues.ListMilestones(ctx, "acme", "web", nil)
	if resp.StatusCode != 404 {
		t.Fatalf("notfound repo: %d", resp.StatusCode)
	}
	_, resp, _ = c.Issues.ListMilestones(ctx, "acme", "api", nil)
	if resp.StatusCode != 500 {
		t.Fatalf("broken repo: %d", resp.StatusCode)
	}
	faults := map[string]int{}
	for _, r := range e.gh.Requests() {
		faults[r.Fault]++
	}
	if faults["5xx"] != 2 || faults["truncate"] != 1 || faults["malformed"] != 1 || faults["notfound"] != 1 || faults["broken"] != 1 {
		t.Fatalf("fault log %v", faults)
	}

	// Same seed, same serial requests: same faults.
	run := func() string {
		e := newEnv(t, org, clock, fakegithub.GitHubOptions{Faults: fakeapi.Faults{ServerErrorRate: 0.4, TruncateRate: 0.2, Seed: 42}})
		c := e.client(tokA)
		var out []string
		for i := 0; i < 20; i++ {
			_, resp, _ := c.Issues.ListMilestones(ctx, "acme", "web", nil)
			out = append(out, fmt.Sprint(resp.StatusCode))
		}
		for _, r := range e.gh.Requests() {
			out = append(out, r.Fault)
		}
		return strings.Join(out, ",")
	}
	if a, b := run(), run(); a != b || !strings.Contains(a, "5xx") || !strings.Contains(a, "truncate") {
		t.Fatalf("seeded faults differ or are missing:\n%s\n%s", a, b)
	}

	// Latency is real time (kept to a few ms here).
	e.gh.SetFaults(fakeapi.Faults{Latency: 5 * time.Millisecond})
	start := time.Now()
	_, _, err := c.Issues.ListMilestones(ctx, "acme", "web", nil)
	check(t, err)
	if time.Since(start) < 5*time.Millisecond {
		t.Fatal("latency not applied")
	}
}

// TestDecodeEveryEndpoint reads each endpoint with the go-github v60 types.
func TestDecodeEveryEndpoint(t *testing.T) {
	org, clock := seedOrg(t)
	e := newEnv(t, org, clock, fakegithub.GitHubOptions{})
	c := e.client(tokA)
	ctx := context.Background()

	issues, _, err := c.Issues.ListByRepo(ctx, "acme", "web", &gh.IssueListByRepoOptions{State: "all", Sort: "updated", Direction: "asc", ListOptions: gh.ListOptions{PerPage: 100}})
	check(t, err)
	byNum := map[int]*gh.Issue{}
	for _, is := range issues {
		byNum[is.GetNumber()] = is
	}
	i1, pr, i3 := byNum[1], byNum[2], byNum[3]
	if i1 == nil || pr == nil || i3 == nil {
		t.Fatalf("issues %v", byNum)
	}
	var labels []string
	for _, l := range i1.Labels {
		labels = append(labels, l.GetName())
	}
	if fmt.Sprint(labels) != "[bug team:platform]" || len(i1.Assignees) != 2 || i1.Assignees[1].GetLogin() != "carol" || i1.GetAssignee().GetLogin() != "bob" {
		t.Fatalf("#1 labels %v assignees %v", labels, i1.Assignees)
	}
	if i1.GetMilestone().GetTitle() != "v1.0" || i1.GetState() != "open" || i1.GetComments() != 1 || i1.GetUser().GetLogin() != "alice" || i1.GetAuthorAssociation() != "MEMBER" {
		t.Fatalf("#1 = %+v", i1)
	}
	if !i1.GetCreatedAt().Time.Equal(t0) || !i1.GetUpdatedAt().Time.Equal(t0.Add(2*time.Hour)) || i1.GetHTMLURL() != "https://github.com/acme/web/issues/1" {
		t.Fatalf("#1 times/url %v %v %s", i1.GetCreatedAt(), i1.GetUpdatedAt(), i1.GetHTMLURL())
	}
	if !pr.IsPullRequest() || pr.PullRequestLinks.MergedAt == nil || pr.GetState() != "closed" || pr.GetClosedAt().IsZero() || pr.GetClosedBy().GetLogin() != "dave" {
		t.Fatalf("PR #2 = %+v", pr)
	}
	if i3.GetTitle() != "Write docs" || i3.GetState() != "open" || i3.GetStateReason() != "reopened" || i3.GetMilestone().GetTitle() != "v1.0" || len(i3.Assignees) != 0 || i3.ClosedAt != nil {
		t.Fatalf("#3 = %+v", i3)
	}

	evs, _, err := c.Issues.ListRepositoryEvents(ctx, "acme", "web", &gh.ListOptions{PerPage: 100})
	check(t, err)
	seen := map[string]*gh.IssueEvent{}
	for _, ev := range evs {
		k := ev.GetEvent()
		if ev.RequestedTeam != nil {
			k += "/team"
		}
		if seen[k] == nil {
			seen[k] = ev
		}
	}
	if ev := seen["review_requested/team"]; ev == nil || ev.RequestedTeam.GetSlug() != "platform" || ev.RequestedTeam.GetName() != "Platform" || ev.RequestedTeam.GetID() == 0 || ev.GetReviewRequester().GetLogin() != "carol" || ev.RequestedReviewer != nil {
		t.Fatalf("team review request = %+v", ev)
	}
	if ev := seen["review_request_removed"]; ev == nil || ev.GetRequestedReviewer().GetLogin() != "alice" {
		t.Fatalf("review_request_removed = %+v", ev)
	}
	if ev := seen["labeled"]; ev == nil || ev.GetLabel().GetName() == "" || ev.GetLabel().GetColor() == "" {
		t.Fatalf("labeled = %+v", ev)
	}
	if ev := seen["unassigned"]; ev == nil || ev.GetAssignee().GetLogin() != "bob" || ev.GetAssigner().GetLogin() != "alice" {
		t.Fatalf("unassigned = %+v", ev)
	}
	if ev := seen["milestoned"]; ev == nil || ev.GetMilestone().GetTitle() != "v1.0" {
		t.Fatalf("milestoned = %+v", ev)
	}
	if ev := seen["demilestoned"]; ev == nil || ev.GetMilestone().GetTitle() != "v0.9" {
		t.Fatalf("demilestoned = %+v", ev)
	}
	if ev := seen["renamed"]; ev == nil || ev.GetRename().GetFrom() != "Docs" || ev.GetRename().GetTo() != "Write docs" {
		t.Fatalf("renamed = %+v", ev)
	}
	merged, closed := seen["merged"], seen["closed"]
	if merged == nil || merged.GetCommitID() == "" || closed == nil {
		t.Fatalf("merged %+v closed %+v", merged, closed)
	}
	for _, k := range []string{"subscribed", "mentioned", "referenced", "head_ref_deleted", "reopened", "assigned", "unlabeled", "review_requested"} {
		if seen[k] == nil {
			t.Errorf("no %s event", k)
		}
	}

	comments, _, err := c.Issues.ListComments(ctx, "acme", "web", 0, &gh.IssueListCommentsOptions{Sort: gh.String("updated"), Direction: gh.String("asc"), Since: &t0})
	check(t, err)
	if len(comments) != 2 || !strings.HasSuffix(comments[0].GetIssueURL(), "/repos/acme/web/issues/1") || comments[1].GetUser().GetLogin() != "alice" || !strings.Contains(comments[1].GetHTMLURL(), "/pull/2#issuecomment-") {
		t.Fatalf("comments = %+v", comments)
	}
	one, _, err := c.Issues.ListComments(ctx, "acme", "web", 2, nil)
	check(t, err)
	if len(one) != 1 || one[0].GetBody() != "thanks" {
		t.Fatalf("comments of #2 = %+v", one)
	}

	ms, _, err := c.Issues.ListMilestones(ctx, "acme", "web", &gh.MilestoneListOptions{State: "all"})
	check(t, err)
	if len(ms) != 2 || ms[0].GetTitle() != "v1.0" || ms[0].GetOpenIssues() != 2 || ms[0].GetClosedIssues() != 1 || !ms[0].GetDueOn().Time.Equal(t0.Add(30*24*time.Hour)) || ms[0].GetCreator().GetLogin() != "alice" {
		t.Fatalf("milestones = %+v", ms)
	}
	if ms[1].GetState() != "closed" || ms[1].ClosedAt == nil || ms[1].DueOn != nil || ms[1].GetOpenIssues()+ms[1].GetClosedIssues() != 0 {
		t.Fatalf("closed milestone = %+v", ms[1])
	}
	open, _, err := c.Issues.ListMilestones(ctx, "acme", "web", nil)
	check(t, err)
	if len(open) != 1 {
		t.Fatalf("default state=open gave %d milestones", len(open))
	}

	reviews, _, err := c.PullRequests.ListReviews(ctx, "acme", "web", 2, nil)
	check(t, err)
	var states []string
	for _, rv := range reviews {
		states = append(states, rv.GetUser().GetLogin()+":"+rv.GetState())
		if rv.SubmittedAt == nil || rv.GetCommitID() == "" || rv.GetID() == 0 {
			t.Fatalf("review %+v", rv)
		}
	}
	if fmt.Sprint(states) != "[dave:CHANGES_REQUESTED alice:COMMENTED dave:APPROVED]" {
		t.Fatalf("reviews %v", states)
	}
	if _, _, err := c.PullRequests.ListReviews(ctx, "acme", "web", 1, nil); err == nil {
		t.Fatal("reviews of an issue should 404")
	}

	members, _, err := c.Teams.ListTeamMembersBySlug(ctx, "acme", "platform", nil)
	check(t, err)
	if len(members) != 2 || members[0].GetLogin() != "carol" || members[1].GetID() == 0 {
		t.Fatalf("members %+v", members)
	}
	if _, _, err := c.Teams.ListTeamMembersBySlug(ctx, "acme", "ghosts", nil); err == nil {
		t.Fatal("unknown team should 404")
	}

	repos, _, err := c.Repositories.ListByOrg(ctx, "acme", nil)
	check(t, err)
	if len(repos) != 2 || repos[0].GetFullName() != "acme/web" || repos[0].GetOwner().GetType() != "Organization" {
		t.Fatalf("org repos %+v", repos)
	}
	repo, _, err := c.Repositories.Get(ctx, "acme", "web")
	check(t, err)
	if repo.GetOpenIssuesCount() != 2 {
		t.Fatalf("repo %+v", repo)
	}
	got, _, err := c.Issues.Get(ctx, "acme", "web", 2)
	check(t, err)
	if !got.IsPullRequest() {
		t.Fatal("issue get of a PR lacks pull_request")
	}

	rates, _, err := c.RateLimit.Get(ctx)
	check(t, err)
	if rates.Core.Limit != 5000 || rates.Search.Limit != 30 {
		t.Fatalf("rate limits %+v", rates)
	}
}

func TestEnterprisePrefix(t *testing.T) {
	e := newEnv(t, nil, nil, fakegithub.GitHubOptions{})
	manyIssues(t, e.org, e.clock, "acme/ghe", 5)
	c, err := gh.NewClient(nil).WithAuthToken(tokA).WithEnterpriseURLs(e.srv.URL+"/api/v3/", e.srv.URL+"/api/uploads/")
	check(t, err)
	items, resp, err := c.Issues.ListByRepo(context.Background(), "acme", "ghe", &gh.IssueListByRepoOptions{ListOptions: gh.ListOptions{PerPage: 2}})
	check(t, err)
	if len(items) != 2 || resp.NextPage != 2 || !strings.Contains(resp.Header.Get("Link"), e.srv.URL+"/api/v3/repositories/") {
		t.Fatalf("GHE: %d items, Link %q", len(items), resp.Header.Get("Link"))
	}
	if !strings.HasPrefix(items[0].GetURL(), e.srv.URL+"/api/v3/repos/acme/ghe/issues/") {
		t.Fatalf("API URLs should carry the prefix: %s", items[0].GetURL())
	}
}

func TestMutateWhileServing(t *testing.T) {
	e := newEnv(t, nil, nil, fakegithub.GitHubOptions{NoAuth: true})
	manyIssues(t, e.org, e.clock, "acme/live", 5)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			n := i%5 + 1
			typ := fakegithub.EventLabeled
			if (i/5)%2 == 1 {
				typ = fakegithub.EventUnlabeled
			}
			if _, err := e.org.AddEvent("acme/live", fakegithub.Event{Issue: n, Type: typ, Actor: "bot[bot]", Label: "x"}); err != nil {
				t.Error(err)
				return
			}
			if _, err := e.org.AddComment("acme/live", fakegithub.Comment{Issue: n, User: "bob"}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	c := e.client("")
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		_, _, err := c.Issues.ListRepositoryEvents(ctx, "acme", "live", &gh.ListOptions{PerPage: 50})
		check(t, err)
		_, _, err = c.Issues.ListByRepo(ctx, "acme", "live", &gh.IssueListByRepoOptions{State: "all"})
		check(t, err)
	}
	<-done
	if n := len(e.org.Events("acme/live")); n != 200 {
		t.Fatalf("%d events, want 200", n)
	}
}

func TestOrgEventEffects(t *testing.T) {
	org, clock := seedOrg(t)
	is1, _ := org.Issue("acme/web", 1)
	if fmt.Sprint(is1.Labels) != "[bug team:platform]" || fmt.Sprint(is1.Assignees) != "[bob carol]" {
		t.Fatalf("#1 %+v", is1)
	}
	// Initial labels/assignees/milestone were recorded as events at creation.
	var initial []string
	for _, ev := range org.Events("acme/web") {
		if ev.Issue == 1 && ev.CreatedAt.Equal(t0) {
			initial = append(initial, ev.Type+":"+ev.Label+ev.Assignee+ev.Milestone)
		}
	}
	if fmt.Sprint(initial) != "[labeled:bug labeled:team:web assigned:bob milestoned:v1.0]" {
		t.Fatalf("creation events %v", initial)
	}
	// Noise does not bump updated_at; labels do (to the event time).
	before := is1.UpdatedAt
	at := clock.Now().Add(time.Minute)
	must[fakegithub.Event](t)(org.AddEvent("acme/web", fakegithub.Event{Issue: 1, Type: fakegithub.EventMentioned, Actor: "x", CreatedAt: at}))
	if got, _ := org.Issue("acme/web", 1); !got.UpdatedAt.Equal(before) {
		t.Fatal("noise bumped updated_at")
	}
	must[fakegithub.Event](t)(org.AddEvent("acme/web", fakegithub.Event{Issue: 1, Type: fakegithub.EventClosed, Actor: "carol", CreatedAt: at, StateReason: "not_planned"}))
	if got, _ := org.Issue("acme/web", 1); !got.UpdatedAt.Equal(at) || got.State != "closed" || !got.ClosedAt.Equal(at) || got.StateReason != "not_planned" || got.ClosedBy != "carol" {
		t.Fatalf("closed #1 = %+v", got)
	}
	// The merged PR: merged then closed, consecutive ids.
	var prEvents []string
	var mergedID int64
	for _, ev := range org.Events("acme/web") {
		if ev.Issue == 2 && (ev.Type == fakegithub.EventMerged || ev.Type == fakegithub.EventClosed) {
			prEvents = append(prEvents, ev.Type)
			if mergedID != 0 && ev.ID != mergedID+1 {
				t.Fatal("closed does not follow merged")
			}
			mergedID = ev.ID
		}
	}
	if fmt.Sprint(prEvents) != "[merged closed]" {
		t.Fatalf("PR events %v", prEvents)
	}

	bad := []fakegithub.Event{
		{Issue: 1, Type: fakegithub.EventClosed, Actor: "a"},                              // already closed
		{Issue: 3, Type: fakegithub.EventLabeled, Actor: "a"},                             // no label
		{Issue: 3, Type: fakegithub.EventUnlabeled, Actor: "a", Label: "nope"},            // not present
		{Issue: 3, Type: fakegithub.EventReviewRequested, Actor: "a", RequestedTeam: "x"}, // not a PR
		{Issue: 2, Type: fakegithub.EventReviewRequested, Actor: "a"},                     // no reviewer
		{Issue: 2, Type: fakegithub.EventReviewRequested, Actor: "a", RequestedTeam: "other/x"},
		{Issue: 2, Type: fakegithub.EventReopened, Actor: "a"}, // merged
		{Issue: 3, Type: fakegithub.EventMilestoned, Actor: "a", Milestone: "v9"},
		{Issue: 3, Type: "Bad Type", Actor: "a"},
		{Issue: 3, Type: fakegithub.EventSubscribed},
		{Issue: 99, Type: fakegithub.EventSubscribed, Actor: "a"},
	}
	for _, ev := range bad {
		if _, err := org.AddEvent("acme/web", ev); err == nil {
			t.Errorf("AddEvent(%+v) succeeded", ev)
		}
	}
	if _, err := org.AddEvent("acme/none", fakegithub.Event{Issue: 1, Type: "x", Actor: "a"}); !errors.Is(err, fakeapi.ErrNotFound) {
		t.Errorf("unknown repo: %v", err)
	}
	if _, err := org.AddIssue("acme/web", fakegithub.Issue{Title: "x"}); err == nil {
		t.Error("AddIssue without user succeeded")
	}
	if _, err := org.AddReview("acme/web", fakegithub.Review{PullRequest: 2, User: "a", State: "approved"}); err == nil {
		t.Error("lower-case review state accepted")
	}
	if err := org.SetTeamMembers("noslash", "a"); err == nil {
		t.Error("bad team name accepted")
	}
	// Draft PRs.
	draft := must[fakegithub.Issue](t)(org.AddIssue("acme/web", fakegithub.Issue{Title: "wip", User: "a", PullRequest: true, Draft: true}))
	must[fakegithub.Event](t)(org.AddEvent("acme/web", fakegithub.Event{Issue: draft.Number, Type: fakegithub.EventReadyForReview, Actor: "a"}))
	if got, _ := org.Issue("acme/web", draft.Number); got.Draft {
		t.Fatal("ready_for_review left the PR a draft")
	}
	if _, err := org.AddEvent("acme/web", fakegithub.Event{Issue: draft.Number, Type: fakegithub.EventReadyForReview, Actor: "a"}); err == nil {
		t.Fatal("ready_for_review on a non-draft accepted")
	}
	if ts := org.Teams(); len(ts) != 2 || ts[0].Slug != "platform" || len(ts[0].Members) != 2 {
		t.Fatalf("teams %+v", ts)
	}
	// Renaming a milestone renames it on its issues.
	must[fakegithub.Milestone](t)(org.UpdateMilestone("acme/web", 1, func(m *fakegithub.Milestone) { m.Title = "v1" }))
	if got, _ := org.Issue("acme/web", 3); got.Milestone != "v1" {
		t.Fatalf("renamed milestone: %q", got.Milestone)
	}
	if ms := org.Milestones("acme/web"); ms[0].OpenIssues != 1 || ms[0].ClosedIssues != 2 {
		t.Fatalf("counts after closing #1: %+v", ms[0])
	}
	// EditComment changes the comment, not the issue.
	cm := org.Comments("acme/web")[0]
	is, _ := org.Issue("acme/web", cm.Issue)
	check(t, org.EditComment("acme/web", cm.ID, "edited", clock.Now().Add(time.Hour)))
	if got, _ := org.Issue("acme/web", cm.Issue); !got.UpdatedAt.Equal(is.UpdatedAt) || org.Comments("acme/web")[0].Body != "edited" {
		t.Fatal("EditComment")
	}
}

func TestParseFaults(t *testing.T) {
	f, err := fakeapi.ParseFaults("5xx=0.05,latency=20ms,secondary=0.01,429=0.02,truncate=0.01,malformed=0.01,horizon=3")
	check(t, err)
	want := fakeapi.Faults{ServerErrorRate: 0.05, Latency: 20 * time.Millisecond, SecondaryRate: 0.01, TooManyRate: 0.02, TruncateRate: 0.01, MalformedRate: 0.01, EventsHorizon: 3}
	if fmt.Sprint(f) != fmt.Sprint(want) {
		t.Fatalf("got %v want %v", f, want)
	}
	f, err = fakeapi.ParseFaults(" spike=0.1, spikelatency=1s ,retryafter=2s,pagecap=5,notfound=a/b+c/d,notfound=e/f,broken=g/h,seed=9")
	check(t, err)
	if f.SpikeRate != 0.1 || f.SpikeLatency != time.Second || f.RetryAfter != 2*time.Second || f.PageCap != 5 || len(f.NotFoundRepos) != 3 || f.BrokenRepos[0] != "g/h" || f.Seed != 9 {
		t.Fatalf("%+v", f)
	}
	back, err := fakeapi.ParseFaults(f.String())
	check(t, err)
	if back.String() != f.String() {
		t.Fatalf("round trip %q != %q", back.String(), f.String())
	}
	if f, err := fakeapi.ParseFaults(""); err != nil || f.String() != "none" {
		t.Fatalf("empty spec: %v %v", f, err)
	}
	for spec, key := range map[string]string{
		"5xx=abc":          `"5xx"`,
		"5xx=1.5":          `"5xx"`,
		"latency=fast":     `"latency"`,
		"horizon=-1":       `"horizon"`,
		"bogus=1":          `"bogus"`,
		"truncate":         `"truncate"`,
		"notfound=justone": `"notfound"`,
		"seed=x":           `"seed"`,
	} {
		_, err := fakeapi.ParseFaults(spec)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("ParseFaults(%q) = %v, want an error naming %s", spec, err, key)
		}
	}
	if len(fakeapi.FaultKeys()) < 10 {
		t.Fatal("FaultKeys")
	}
}

// TestCursorWalkSurvivesUpdates: past the cap the walk is keyset-based, so an
// item updated mid-walk shows up again at the end and nothing is skipped.
func TestCursorWalkSurvivesUpdates(t *testing.T) {
	e := newEnv(t, nil, nil, fakegithub.GitHubOptions{Faults: fakeapi.Faults{PageCap: 1}})
	manyIssues(t, e.org, e.clock, "acme/walk", 10)
	c := e.client(tokA)
	ctx := context.Background()
	req, _ := c.NewRequest("GET", "repos/acme/walk/issues?state=all&sort=updated&direction=asc&per_page=3", nil)
	var got []int
	for step := 0; ; step++ {
		var page []*gh.Issue
		resp, err := c.Do(ctx, req, &page)
		check(t, err)
		for _, is := range page {
			got = append(got, is.GetNumber())
		}
		if step == 1 { // after 6 items: touch #2 (seen) and #8 (not yet seen)
			e.clock.Advance(time.Hour)
			must[fakegithub.Comment](t)(e.org.AddComment("acme/walk", fakegithub.Comment{Issue: 2, User: "bob"}))
			must[fakegithub.Comment](t)(e.org.AddComment("acme/walk", fakegithub.Comment{Issue: 8, User: "bob"}))
		}
		next := nextLink(resp.Header.Get("Link"))
		if next == "" {
			break
		}
		req, _ = c.NewRequest("GET", next, nil)
	}
	if fmt.Sprint(got) != "[1 2 3 4 5 6 7 9 10 2 8]" {
		t.Fatalf("walk = %v", got)
	}
}
