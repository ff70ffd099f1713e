// Package apimetrics reads what crossteam's own API calls say about
// themselves, for the exporter's self-metrics (crossteam_api_*): the
// endpoint a request went to, as a route template with a bounded set of
// values (never the raw path, which holds repository names, issue numbers
// and Jira keys), and the rate-limit headers of GitHub and Jira.
//
// It sits beside the collectors, not inside them: the exporter wraps each
// target's HTTP transport (exposition.Health.Transport), so every attempt
// (retries included) is measured whatever client library sends it.
package apimetrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sources, as in the catalogue's source label.
const (
	GitHub = "github"
	Jira   = "jira"
)

// Other is the endpoint of any request whose path is no known route, and
// the resource of a rate limit GitHub names with an unknown resource.
const Other = "other"

// DefaultResource is the rate-limit resource of a source that names none
// (Jira's X-RateLimit-* headers).
const DefaultResource = "default"

// maxSegments: no known route is deeper; deeper paths are Other without
// being parsed further.
const maxSegments = 8

// githubRoutes are the REST and GraphQL routes of the GitHub API the
// collectors use or may use (go-github follows renamed repositories to
// /repositories/{repository_id}/...).
var githubRoutes = func() map[string]bool {
	m := map[string]bool{
		"/rate_limit": true, "/graphql": true, "/user": true,
		"/orgs/{org}/repos": true, "/orgs/{org}/teams": true, "/orgs/{org}/teams/{team_slug}/members": true,
	}
	for _, root := range []string{"/repos/{owner}/{repo}", "/repositories/{repository_id}"} {
		for _, tail := range []string{"", "/issues", "/issues/{number}", "/issues/events", "/issues/comments",
			"/issues/{number}/events", "/issues/{number}/comments", "/issues/{number}/timeline",
			"/issues/{number}/dependencies/blocked_by",
			"/pulls", "/pulls/{number}", "/pulls/{number}/reviews", "/milestones", "/events", "/labels"} {
			m[root+tail] = true
		}
	}
	return m
}()

// jiraRoutes are the Jira Cloud and Data Center REST routes, in API
// versions 2 and 3 and "latest".
var jiraRoutes = func() map[string]bool {
	m := map[string]bool{}
	for _, v := range []string{"2", "3", "latest"} {
		for _, tail := range []string{"/search", "/search/jql", "/changelog/bulkfetch", "/issue/{issueIdOrKey}",
			"/issue/{issueIdOrKey}/changelog", "/issue/{issueIdOrKey}/comment", "/field", "/status", "/issueLinkType", "/myself",
			"/serverInfo", "/project/{projectIdOrKey}", "/project/search"} {
			m["/rest/api/"+v+tail] = true
		}
	}
	return m
}()

// Endpoint is the route template of a request path to a source's API:
// "/repos/{owner}/{repo}/issues/{number}/events",
// "/rest/api/3/issue/{issueIdOrKey}/changelog". A GitHub Enterprise prefix
// (/api/v3, /api) and a Jira context path (anything before /rest/) are
// dropped. A path that is no known route is Other, so the label's values
// are bounded by the route lists, whatever a server or a redirect sends.
func Endpoint(source, path string) string {
	var routes map[string]bool
	switch source {
	case GitHub:
		routes = githubRoutes
		switch {
		case path == "/api/v3" || strings.HasPrefix(path, "/api/v3/"):
			path = strings.TrimPrefix(path, "/api/v3")
		case path == "/api/graphql":
			path = "/graphql"
		}
	case Jira:
		routes = jiraRoutes
		i := strings.Index(path, "/rest/")
		if i < 0 {
			return Other
		}
		path = path[i:]
	default:
		return Other
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	if len(seg) > maxSegments {
		return Other
	}
	for i, s := range seg {
		prev := ""
		if i > 0 {
			prev = seg[i-1]
		}
		switch {
		case source == GitHub && prev == "repos" && i == 1:
			seg[i] = "{owner}"
		case source == GitHub && i == 2 && seg[0] == "repos":
			seg[i] = "{repo}"
		case source == GitHub && prev == "repositories" && i == 1:
			seg[i] = "{repository_id}"
		case source == GitHub && prev == "orgs" && i == 1:
			seg[i] = "{org}"
		case source == GitHub && prev == "teams" && i == 3:
			seg[i] = "{team_slug}"
		case source == GitHub && number(s) && (prev == "issues" || prev == "pulls"):
			seg[i] = "{number}"
		case source == Jira && prev == "issue" && i == 4:
			seg[i] = "{issueIdOrKey}"
		case source == Jira && prev == "project" && i == 4 && s != "search":
			seg[i] = "{projectIdOrKey}"
		}
	}
	t := "/" + strings.Join(seg, "/")
	if !routes[t] {
		return Other
	}
	return t
}

func number(s string) bool {
	n, err := strconv.ParseUint(s, 10, 64)
	return err == nil && n > 0
}

// githubResources are the rate-limit resources GitHub documents
// (x-ratelimit-resource); others collapse to Other so the label stays
// bounded.
var githubResources = map[string]bool{
	"core": true, "graphql": true, "search": true, "code_search": true, "integration_manifest": true,
	"source_import": true, "code_scanning_upload": true, "code_scanning_autofix": true,
	"actions_runner_registration": true, "scim": true, "dependency_snapshots": true,
	"dependency_sbom": true, "audit_log": true, "audit_log_streaming": true,
}

// RateLimit is what one response says about its rate-limit window. A field
// is set only when its header was present and valid.
type RateLimit struct {
	// Resource: GitHub's x-ratelimit-resource (core, graphql, search, ...)
	// or DefaultResource when the source names none.
	Resource                         string
	Limit, Remaining                 float64
	Reset                            time.Time
	HasLimit, HasRemaining, HasReset bool
}

// ParseRateLimit reads the rate-limit headers of a response from source:
// X-RateLimit-Limit, -Remaining and -Reset (GitHub: epoch seconds; Jira:
// ISO 8601, e.g. 2026-03-04T10:15Z) and GitHub's X-RateLimit-Resource.
// ok is false when the response carries none of them.
func ParseRateLimit(source string, h http.Header) (rl RateLimit, ok bool) {
	rl.Resource = DefaultResource
	if source == GitHub {
		if r := strings.ToLower(strings.TrimSpace(h.Get("X-RateLimit-Resource"))); r != "" {
			rl.Resource = r
			if !githubResources[r] {
				rl.Resource = Other
			}
		}
	}
	if v, err := strconv.ParseFloat(strings.TrimSpace(h.Get("X-RateLimit-Limit")), 64); err == nil && v >= 0 {
		rl.Limit, rl.HasLimit = v, true
	}
	if v, err := strconv.ParseFloat(strings.TrimSpace(h.Get("X-RateLimit-Remaining")), 64); err == nil && v >= 0 {
		rl.Remaining, rl.HasRemaining = v, true
	}
	if t, ok := parseReset(strings.TrimSpace(h.Get("X-RateLimit-Reset"))); ok {
		rl.Reset, rl.HasReset = t, true
	}
	return rl, rl.HasLimit || rl.HasRemaining || rl.HasReset
}

// resetLayouts are the ISO 8601 forms Jira sends X-RateLimit-Reset in.
var resetLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z0700"}

func parseReset(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	for _, l := range resetLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
