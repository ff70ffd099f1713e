package apimetrics

import (
	"net/http"
	"testing"
	"time"
)

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct {
		source, path, want string
	}{
		{GitHub, "/repos/acme/web/issues", "/repos/{owner}/{repo}/issues"},
		{GitHub, "/repos/acme/web/issues/42/events", "/repos/{owner}/{repo}/issues/{number}/events"},
		{GitHub, "/repos/acme/web/issues/events", "/repos/{owner}/{repo}/issues/events"},
		{GitHub, "/repos/acme/web/pulls/7/reviews", "/repos/{owner}/{repo}/pulls/{number}/reviews"},
		// A repository called like a route segment stays a parameter.
		{GitHub, "/repos/issues/events/issues/comments", "/repos/{owner}/{repo}/issues/comments"},
		{GitHub, "/repositories/123456/issues", "/repositories/{repository_id}/issues"},
		{GitHub, "/orgs/acme/teams/backend/members", "/orgs/{org}/teams/{team_slug}/members"},
		{GitHub, "/api/v3/repos/acme/web/milestones", "/repos/{owner}/{repo}/milestones"},
		{GitHub, "/api/graphql", "/graphql"},
		{GitHub, "/graphql", "/graphql"},
		{GitHub, "/rate_limit", "/rate_limit"},
		{GitHub, "/", Other},
		{GitHub, "/repos/acme/web/issues/not-a-number/events", Other},
		{GitHub, "/repos/acme/web/issues/0/events", Other},
		{GitHub, "/repos/acme/web/git/refs/heads/main", Other},
		{GitHub, "/a/b/c/d/e/f/g/h/i", Other},
		{Jira, "/rest/api/3/search/jql", "/rest/api/3/search/jql"},
		{Jira, "/rest/api/3/issue/CORE-12/changelog", "/rest/api/3/issue/{issueIdOrKey}/changelog"},
		{Jira, "/rest/api/2/issue/10042/comment", "/rest/api/2/issue/{issueIdOrKey}/comment"},
		{Jira, "/jira/rest/api/2/search", "/rest/api/2/search"}, // Data Center context path
		{Jira, "/rest/api/3/changelog/bulkfetch", "/rest/api/3/changelog/bulkfetch"},
		{Jira, "/rest/api/3/project/search", "/rest/api/3/project/search"},
		{Jira, "/rest/api/3/project/CORE", "/rest/api/3/project/{projectIdOrKey}"},
		{Jira, "/rest/api/4/myself", Other},
		{Jira, "/browse/CORE-1", Other},
		{"gitlab", "/api/v4/projects", Other},
	} {
		if got := Endpoint(tc.source, tc.path); got != tc.want {
			t.Errorf("Endpoint(%s, %q) = %q, want %q", tc.source, tc.path, got, tc.want)
		}
	}
}

// TestEndpointBounded: however many distinct paths arrive, the label takes
// at most the known routes plus Other.
func TestEndpointBounded(t *testing.T) {
	seen := map[string]bool{}
	for i := 1; i <= 2000; i++ {
		n := time.Duration(i).String()
		for _, p := range []string{"/repos/o" + n + "/r/issues/" + n[:len(n)-2] + "/events", "/repos/o/r" + n + "/x" + n, "/" + n} {
			seen[Endpoint(GitHub, p)] = true
		}
		seen[Endpoint(Jira, "/rest/api/3/issue/K-"+n+"/changelog")] = true
	}
	if len(seen) > len(githubRoutes)+len(jiraRoutes)+1 {
		t.Errorf("%d endpoint values", len(seen))
	}
	for e := range seen {
		if e != Other && !githubRoutes[e] && !jiraRoutes[e] {
			t.Errorf("endpoint %q is no known route", e)
		}
	}
}

func TestParseRateLimit(t *testing.T) {
	h := func(kv ...string) http.Header {
		x := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			x.Set(kv[i], kv[i+1])
		}
		return x
	}
	for _, tc := range []struct {
		name   string
		source string
		h      http.Header
		want   RateLimit
		ok     bool
	}{
		{"github core", GitHub, h("X-RateLimit-Limit", "5000", "X-RateLimit-Remaining", "4987", "X-RateLimit-Reset", "1796299200", "X-RateLimit-Resource", "core"),
			RateLimit{Resource: "core", Limit: 5000, Remaining: 4987, Reset: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), HasLimit: true, HasRemaining: true, HasReset: true}, true},
		{"github graphql", GitHub, h("X-RateLimit-Remaining", "0", "X-RateLimit-Resource", "GraphQL"),
			RateLimit{Resource: "graphql", HasRemaining: true}, true},
		{"github unknown resource", GitHub, h("X-RateLimit-Remaining", "10", "X-RateLimit-Resource", "made_up_123"),
			RateLimit{Resource: Other, Remaining: 10, HasRemaining: true}, true},
		{"jira iso reset", Jira, h("X-RateLimit-Limit", "100", "X-RateLimit-Remaining", "98", "X-RateLimit-Reset", "2026-12-03T12:01Z"),
			RateLimit{Resource: DefaultResource, Limit: 100, Remaining: 98, Reset: time.Date(2026, 12, 3, 12, 1, 0, 0, time.UTC), HasLimit: true, HasRemaining: true, HasReset: true}, true},
		{"jira rfc3339 reset", Jira, h("X-RateLimit-Reset", "2026-12-03T13:01:30+01:00"),
			RateLimit{Resource: DefaultResource, Reset: time.Date(2026, 12, 3, 12, 1, 30, 0, time.UTC), HasReset: true}, true},
		{"jira ignores a resource header", Jira, h("X-RateLimit-Remaining", "1", "X-RateLimit-Resource", "core"),
			RateLimit{Resource: DefaultResource, Remaining: 1, HasRemaining: true}, true},
		{"garbage", GitHub, h("X-RateLimit-Limit", "lots", "X-RateLimit-Remaining", "-1", "X-RateLimit-Reset", "soon"),
			RateLimit{Resource: DefaultResource}, false},
		{"none", GitHub, h(), RateLimit{Resource: DefaultResource}, false},
	} {
		got, ok := ParseRateLimit(tc.source, tc.h)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: ParseRateLimit = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
