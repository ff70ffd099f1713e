package bench

import (
	"context"
	"github.com/crossteam/crossteam/fakeapi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
)

func TestMinimumFormulas(t *testing.T) {
	// Two repositories by hand:
	//   r1: 250 items -> 3 pages, 1001 events -> 11, 2 milestones -> 1,
	//       review-requested PRs with 0, 1 and 150 reviews -> 1 + 1 + 2;
	//   r2: empty -> 1 + 1 + 1 (every list costs its first page).
	repos := []RepoCounts{
		{Items: 250, Events: 1001, Milestones: 2, Comments: 100, Reviews: []int{0, 1, 150}, EventsPerItem: []int{0, 100, 101}},
		{},
	}
	if got, want := GitHubMinimum(repos), (3+11+1+4)+(1+1+1); got != want {
		t.Errorf("GitHubMinimum = %d, want %d", got, want)
	}
	// Feed formula: 3 per repository + issues and events pages.
	if got, want := GitHubFeedMinimum(repos), (3+3+11)+(3+0+0); got != want {
		t.Errorf("GitHubFeedMinimum = %d, want %d", got, want)
	}
	if got, want := GitHubCommentsTerm(repos), 1+1; got != want {
		t.Errorf("GitHubCommentsTerm = %d, want %d", got, want)
	}
	// Listing (3 + 1) plus timelines of 0, 100 and 101 events: 1 + 1 + 2.
	if got, want := GitHubNaive(repos), 4+4; got != want {
		t.Errorf("GitHubNaive = %d, want %d", got, want)
	}
	for _, c := range []struct{ issues, histories, want int }{
		{50000, 400000, 2 + 500 + 50}, // apis.md §9's example
		{50000, 600000, 2 + 500 + 60}, // histories dominate
		{153, 1235, 2 + 2 + 1},
		{0, 0, 2},
	} {
		if got := JiraMinimum(c.issues, c.histories); got != c.want {
			t.Errorf("JiraMinimum(%d, %d) = %d, want %d", c.issues, c.histories, got, c.want)
		}
	}
	if got, want := JiraNaive(3, []int{0, 100, 250}), 2+1+(1+1+3); got != want {
		t.Errorf("JiraNaive = %d, want %d", got, want)
	}
}

// TestPointsCounted: a phase counts REST paid requests and GraphQL points
// apart (a GraphQL query is not a paid REST request), and the JSON carries
// their sum and the no-change GraphQL queries.
func TestPointsCounted(t *testing.T) {
	logs := []fakeLog{{source: "github", reqs: []fakeapi.Request{
		{Endpoint: "issues", Status: 200, Cost: true},
		{Endpoint: "issues", Status: 304},
		{Endpoint: "graphql", Status: 200, Cost: true, Points: 2},
		{Endpoint: "graphql", Status: 200, Cost: true, Points: 1},
		{Endpoint: "milestones", Status: 200, Cost: true},
	}}, {source: "jira", reqs: []fakeapi.Request{{Endpoint: "jira_search_jql", Status: 200}}}}
	p := phaseFrom(logs, synced{}, time.Time{})
	if p.GitHub.Paid != 2 || p.GitHub.Points != 3 || p.GitHub.Queries != 2 || p.GitHub.Spent() != 5 || p.Jira.Paid != 1 {
		t.Fatalf("phase = %+v", p.GitHub)
	}
	r := &Result{Full: p, NoChange: p, Incremental: p, Census: Census{Repos: []RepoCounts{{Items: 250, Events: 1001}}}}
	r.reached = reached{full: true, noChange: true, incremental: true}
	j := r.JSON()
	if *j.GitHubPointsFull != 5 || *j.GitHubPoints1Pct != 5 || *j.GitHubPaidNoCh != 5 || *j.GitHubGraphQLNoChange != 2 || *j.GitHubFeedMinimum != 3+3+11 || *j.GitHubPaidFull != 2 {
		t.Errorf("JSON = points %d/%d nochange %d (%d queries) feed %d paid %d", *j.GitHubPointsFull, *j.GitHubPoints1Pct, *j.GitHubPaidNoCh, *j.GitHubGraphQLNoChange, *j.GitHubFeedMinimum, *j.GitHubPaidFull)
	}
}

func TestCensusCountsReviewRequestedPRs(t *testing.T) {
	org := fakegithub.NewOrg()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(org.AddRepo("acme/web"))
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	_, err := org.AddIssue("acme/web", fakegithub.Issue{Title: "issue", User: "ana", CreatedAt: at})
	must(err)
	pr1, err := org.AddIssue("acme/web", fakegithub.Issue{Title: "pr with request", User: "ana", PullRequest: true, CreatedAt: at})
	must(err)
	pr2, err := org.AddIssue("acme/web", fakegithub.Issue{Title: "pr without", User: "ana", PullRequest: true, CreatedAt: at})
	must(err)
	_, err = org.AddEvent("acme/web", fakegithub.Event{Issue: pr1.Number, Type: fakegithub.EventReviewRequested, Actor: "ana", RequestedReviewer: "ben", CreatedAt: at.Add(time.Hour)})
	must(err)
	for _, pr := range []int{pr1.Number, pr2.Number} {
		_, err = org.AddReview("acme/web", fakegithub.Review{PullRequest: pr, User: "ben", State: fakegithub.ReviewApproved, SubmittedAt: at.Add(2 * time.Hour)})
		must(err)
	}
	c := TakeCensus(org, nil)
	if c.GitHubItems != 3 || c.IssueEvents != 1 || c.ReviewRequestedPRs != 1 || c.Reviews != 1 {
		t.Errorf("census = %d items, %d events, %d review-requested PRs, %d reviews; want 3, 1, 1, 1", c.GitHubItems, c.IssueEvents, c.ReviewRequestedPRs, c.Reviews)
	}
	// 1 issues page + 1 events page + 1 milestones page + 1 reviews page.
	if got := GitHubMinimum(c.Repos); got != 4 {
		t.Errorf("GitHubMinimum = %d, want 4", got)
	}
	// After 10:30 only pr1 changed (its review request at 11:00): one
	// item, one event; minimum 1 items page + 1 events page + 1 milestones
	// probe + 1 reviews call.
	ch := CountChanged(org, nil, at.Add(30*time.Minute))
	if ch.Events != 1 || ch.MinGitHub != 4 {
		t.Errorf("changed: %+v; want 1 event, minimum 4", ch)
	}
}

func TestReplaceSection(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"appended when absent", "# B\n\ntext\n", "# B\n\ntext\n\n" + BeginMarker + "\nnew\n" + EndMarker + "\n"},
		{"replaced, rest kept", "# B\n" + BeginMarker + "\nold\nrows\n" + EndMarker + "\nafter\n", "# B\n" + BeginMarker + "\nnew\n" + EndMarker + "\nafter\n"},
		{"empty file", "", "\n\n" + BeginMarker + "\nnew\n" + EndMarker + "\n"},
	}
	for _, c := range cases {
		if got := ReplaceSection(c.doc, "new\n"); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestParseExposition(t *testing.T) {
	s, err := parseExposition([]byte("# HELP x y\n# TYPE x gauge\nx 1\ny{a=\"b c\",d=\"}\"} 2.5\nz_total{a=\"1\"} 3 1700000000000\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := samples{"x": 1, `y{a="b c",d="}"}`: 2.5, `z_total{a="1"}`: 3}
	if len(s) != len(want) {
		t.Fatalf("parsed %v, want %v", s, want)
	}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("%s = %v, want %v", k, s[k], v)
		}
	}
}

func TestQuantile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if got := quantileDur(ds, 0.5); got != 50*time.Millisecond {
		t.Errorf("p50 = %s, want 50ms", got)
	}
	if got := quantileDur(ds, 0.99); got != 99*time.Millisecond {
		t.Errorf("p99 = %s, want 99ms", got)
	}
	if got := quantileDur(nil, 0.5); got != 0 {
		t.Errorf("p50 of nothing = %s", got)
	}
}

// TestRunSmall runs the harness end to end on the small organisation with
// a freshly built crossteam binary as the exporter.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the harness")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "crossteam")
	build := exec.Command("go", "build", "-o", exe, "github.com/crossteam/crossteam/cmd/crossteam")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := Run(ctx, Options{Size: "small", Exe: exe, ScraperExe: exe, Dir: filepath.Join(dir, "run"), Scrapers: 3, ScrapeInterval: 50 * time.Millisecond, Interval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Census
	// The small world's sizes (sim.Small, seed 1).
	if r.Repos != 3 || c.GitHubItems < 300 || c.JiraIssues < 150 || r.Targets != 2 {
		t.Fatalf("census: %d repos, %d items, %d Jira issues, %d targets", r.Repos, c.GitHubItems, c.JiraIssues, r.Targets)
	}
	// GitHub history came through GraphQL: the token paid less than the
	// feed formula, in GraphQL queries; Jira at least its minimum (a
	// lower bound). The exporter stored every event.
	if fm := GitHubFeedMinimum(c.Repos); r.Full.GitHub.Queries == 0 || r.Full.GitHub.Spent() >= fm || r.Full.Jira.Requests < r.MinJira() {
		t.Errorf("full sync: GitHub %d paid + %d points in %d queries (feed formula %d), %d Jira requests (minimum %d)",
			r.Full.GitHub.Paid, r.Full.GitHub.Points, r.Full.GitHub.Queries, fm, r.Full.Jira.Requests, r.MinJira())
	}
	if r.Full.StoredEvents < c.IssueEvents+c.JiraCollected {
		t.Errorf("stored %d events, fewer than the %d issue events and %d Jira histories served", r.Full.StoredEvents, c.IssueEvents, c.JiraCollected)
	}
	// Nothing changed: GitHub answers 304 only (no primary rate limit),
	// Jira one search.
	if r.NoChange.GitHub.Spent() != 0 || r.NoChange.GitHub.Queries != 0 || r.NoChange.GitHub.Requests == 0 || r.NoChange.Jira.Requests != 1 {
		t.Errorf("no-change sync: %d GitHub requests (%d spent, %d GraphQL queries), %d Jira", r.NoChange.GitHub.Requests, r.NoChange.GitHub.Spent(), r.NoChange.GitHub.Queries, r.NoChange.Jira.Requests)
	}
	// 1% of 305 items and of 153 issues, rounded: 3 and 2.
	if r.Changed.GitHubItems != 3 || r.Changed.JiraIssues != 2 {
		t.Errorf("changed %d GitHub items, %d Jira issues; want 3 and 2", r.Changed.GitHubItems, r.Changed.JiraIssues)
	}
	if r.Incremental.GitHub.Paid == 0 || r.Incremental.GitHub.Points == 0 || r.Incremental.Jira.Requests == 0 {
		t.Errorf("1%% sync sent %d paid GitHub and %d Jira requests", r.Incremental.GitHub.Paid, r.Incremental.Jira.Requests)
	}
	if r.PeakRSS <= 0 || r.Full.CPU <= 0 || r.StoreBytes <= 0 || r.Scrape.Scrapes == 0 || r.Decode.Pages == 0 || r.Decode.Bytes <= 0 || r.SnapshotEvents != r.Incremental.StoredEvents || r.Incremental.StoredEvents <= r.Full.StoredEvents {
		t.Errorf("unfilled measurement: rss %d, cpu %s, store %d, scrapes %d, decode %+v, snapshot events %d vs stored %d after the 1%% sync (%d after the full sync)",
			r.PeakRSS, r.Full.CPU, r.StoreBytes, r.Scrape.Scrapes, r.Decode, r.SnapshotEvents, r.Incremental.StoredEvents, r.Full.StoredEvents)
	}
	table := r.Table()
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "| ") && (strings.Contains(line, "|  |") || strings.HasSuffix(line, "| |")) {
			t.Errorf("empty cell: %s", line)
		}
	}
	if n := strings.Count(table, "\n| "); n < 30 {
		t.Errorf("table has %d rows:\n%s", n, table)
	}
	out := filepath.Join(dir, "BENCHMARKS.md")
	if err := os.WriteFile(out, []byte("# Benchmarks\n\nkept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteSection(out, r.Section("test", time.Now())); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	if !strings.HasPrefix(string(b), "# Benchmarks\n\nkept\n") || !strings.Contains(string(b), BeginMarker) || !strings.Contains(string(b), "| exporter peak RSS") {
		t.Errorf("BENCHMARKS.md section not written:\n%s", b)
	}
}
