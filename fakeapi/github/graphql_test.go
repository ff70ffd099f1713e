package github_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
)

// TestSchemaSubset holds the served subset to GitHub's published schema
// (schema.graphql of @octokit/graphql-schema, kept gzipped in testdata):
// every type exists with the same kind, every field with the same type and
// arguments (same types and defaults), every union member, implemented
// interface and enum value is one of the published ones.
func TestSchemaSubset(t *testing.T) {
	pub := loadSchemaDoc(t, "testdata/octokit-graphql-schema-15.26.1.graphql.gz", true)
	sub := loadSchemaDoc(t, "testdata/graphql-schema-subset.graphql", false)
	defs := map[string]*ast.Definition{}
	for _, d := range pub.Definitions {
		defs[d.Name] = d
	}
	if len(sub.Definitions) < 40 {
		t.Fatalf("subset has %d definitions, want the ~45 the fake serves", len(sub.Definitions))
	}
	for _, d := range sub.Definitions {
		p := defs[d.Name]
		if p == nil {
			t.Errorf("%s: not in the published schema", d.Name)
			continue
		}
		if p.Kind != d.Kind {
			t.Errorf("%s: kind %s, published %s", d.Name, d.Kind, p.Kind)
		}
		for _, i := range d.Interfaces {
			if !contains(p.Interfaces, i) {
				t.Errorf("%s implements %s: the published type does not", d.Name, i)
			}
		}
		for _, m := range d.Types {
			if !contains(p.Types, m) {
				t.Errorf("union %s: member %s is not published", d.Name, m)
			}
		}
		for _, v := range d.EnumValues {
			if p.EnumValues.ForName(v.Name) == nil {
				t.Errorf("enum %s: value %s is not published", d.Name, v.Name)
			}
		}
		for _, f := range d.Fields {
			pf := p.Fields.ForName(f.Name)
			if pf == nil {
				t.Errorf("%s.%s: not published", d.Name, f.Name)
				continue
			}
			if f.Type.String() != pf.Type.String() {
				t.Errorf("%s.%s: type %s, published %s", d.Name, f.Name, f.Type, pf.Type)
			}
			for _, a := range f.Arguments {
				pa := pf.Arguments.ForName(a.Name)
				if pa == nil {
					t.Errorf("%s.%s(%s): argument not published", d.Name, f.Name, a.Name)
					continue
				}
				if a.Type.String() != pa.Type.String() || a.DefaultValue.String() != pa.DefaultValue.String() {
					t.Errorf("%s.%s(%s): %s = %s, published %s = %s", d.Name, f.Name, a.Name, a.Type, a.DefaultValue, pa.Type, pa.DefaultValue)
				}
			}
			for _, pa := range pf.Arguments {
				if pa.Type.NonNull && f.Arguments.ForName(pa.Name) == nil {
					t.Errorf("%s.%s: required argument %s left out", d.Name, f.Name, pa.Name)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func loadSchemaDoc(t *testing.T, path string, gz bool) *ast.SchemaDocument {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if gz {
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(r); err != nil {
			t.Fatal(err)
		}
	}
	doc, perr := parser.ParseSchema(&ast.Source{Name: path, Input: string(b)})
	if perr != nil {
		t.Fatalf("%s: %v", path, perr)
	}
	return doc
}

// gqlOrg: one issue and one pull request with events, comments and a
// review, a bot among the actors, a team review request.
func gqlOrg(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, nil, nil, fakegithub.GitHubOptions{GraphQLRateLimit: 10})
	o := e.org
	check(t, o.AddRepo("acme/web"))
	must[fakegithub.Team](t)(o.AddTeam(fakegithub.Team{Org: "acme", Slug: "qa", Name: "QA"}))
	is := must[fakegithub.Issue](t)(o.AddIssue("acme/web", fakegithub.Issue{Title: "Bug", User: "alice"}))
	e.clock.Advance(time.Minute)
	must[fakegithub.Event](t)(o.AddEvent("acme/web", fakegithub.Event{Issue: is.Number, Type: fakegithub.EventLabeled, Actor: "alice", Label: "team:web"}))
	must[fakegithub.Event](t)(o.AddEvent("acme/web", fakegithub.Event{Issue: is.Number, Type: fakegithub.EventSubscribed, Actor: "bob"}))
	e.clock.Advance(time.Minute)
	must[fakegithub.Comment](t)(o.AddComment("acme/web", fakegithub.Comment{Issue: is.Number, User: "ci[bot]", Body: "hi"}))
	pr := must[fakegithub.Issue](t)(o.AddIssue("acme/web", fakegithub.Issue{Title: "Fix", User: "bob", PullRequest: true}))
	e.clock.Advance(time.Minute)
	must[fakegithub.Event](t)(o.AddEvent("acme/web", fakegithub.Event{Issue: pr.Number, Type: fakegithub.EventReviewRequested, Actor: "bob", RequestedTeam: "qa"}))
	e.clock.Advance(time.Minute)
	must[fakegithub.Review](t)(o.AddReview("acme/web", fakegithub.Review{PullRequest: pr.Number, User: "carol", State: fakegithub.ReviewApproved}))
	must[fakegithub.Event](t)(o.AddEvent("acme/web", fakegithub.Event{Issue: pr.Number, Type: fakegithub.EventMerged, Actor: "bob"}))
	return e
}

func (e *env) graphql(t *testing.T, path, tok, query string, vars map[string]any) (int, http.Header, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(b))
	if tok != "" {
		req.Header.Set("Authorization", "bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

const timelineQuery = `query($owner: String!, $name: String!) {
  rateLimit { cost remaining used limit nodeCount }
  repository(owner: $owner, name: $name) {
    i1: issueOrPullRequest(number: 1) { ... on Issue { number timelineItems(first: 100, itemTypes: [LABELED_EVENT, ISSUE_COMMENT]) {
      totalCount pageInfo { hasNextPage }
      nodes { __typename ... on LabeledEvent { id actor { login } label { name } createdAt } ... on IssueComment { databaseId author { __typename login } createdAt } } } } }
    i2: issueOrPullRequest(number: 2) { ... on PullRequest { number timelineItems(first: 1) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { __typename ... on ReviewRequestedEvent { id requestedReviewer { ... on Team { slug name } } } } } } }
    i9: issueOrPullRequest(number: 9) { ... on Issue { number } }
  }
}`

func TestGraphQLTimeline(t *testing.T) {
	e := gqlOrg(t)
	status, h, body := e.graphql(t, "/graphql", tokA, timelineQuery, map[string]any{"owner": "acme", "name": "web"})
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	// Two connections (two requests) cost 1 point; nodes 100 + 1.
	want := `{"data":{"rateLimit":{"cost":1,"remaining":9,"used":1,"limit":10,"nodeCount":101},"repository":{` +
		`"i1":{"number":1,"timelineItems":{"totalCount":2,"pageInfo":{"hasNextPage":false},"nodes":[` +
		`{"__typename":"LabeledEvent","id":"MTI6TGFiZWxlZEV2ZW50NTAwMDAwMQ==","actor":{"login":"alice"},"label":{"name":"team:web"},"createdAt":"2024-03-01T09:01:00Z"},` +
		`{"__typename":"IssueComment","databaseId":7000001,"author":{"__typename":"Bot","login":"ci"},"createdAt":"2024-03-01T09:02:00Z"}]}},` +
		`"i2":{"number":2,"timelineItems":{"totalCount":4,"pageInfo":{"hasNextPage":true,"endCursor":"Y3Vyc29yOnYyOjA="},"nodes":[` +
		`{"__typename":"ReviewRequestedEvent","id":"MjA6UmV2aWV3UmVxdWVzdGVkRXZlbnQ1MDAwMDAz","requestedReviewer":{"slug":"qa","name":"QA"}}]}},` +
		`"i9":null}},` +
		`"errors":[{"type":"NOT_FOUND","path":["repository","i9"],"message":"Could not resolve to an issue or pull request with the number of 9."}]}`
	if body != want {
		t.Errorf("answer:\n got %s\nwant %s", body, want)
	}
	if h.Get("X-RateLimit-Resource") != "graphql" || h.Get("X-RateLimit-Remaining") != "9" || h.Get("X-RateLimit-Used") != "1" {
		t.Errorf("rate headers: %v", h)
	}
	if r := e.gh.GraphQLRateStatus(tokA); r.Used != 1 || e.gh.RateStatus(tokA).Used != 0 {
		t.Errorf("graphql used %d, core used %d: want 1 and 0", r.Used, e.gh.RateStatus(tokA).Used)
	}
	reqs := e.gh.Requests()
	if last := reqs[len(reqs)-1]; last.Endpoint != fakegithub.EndpointGraphQL || last.Points != 1 || last.Repo != "acme/web" {
		t.Errorf("request log: %+v", last)
	}

	// The next page of the PR's timeline, by cursor: the merge, the close
	// GitHub records with it, and the review of the same second (events
	// first at one instant).
	status, _, body = e.graphql(t, "/api/graphql", tokA, `query { repository(owner: "acme", name: "web") { issueOrPullRequest(number: 2) {
	  ... on PullRequest { timelineItems(first: 10, after: "Y3Vyc29yOnYyOjA=") { nodes { __typename ... on PullRequestReview { fullDatabaseId state submittedAt author { login } } } } } } } }`, nil)
	want = `{"data":{"repository":{"issueOrPullRequest":{"timelineItems":{"nodes":[{"__typename":"MergedEvent"},{"__typename":"ClosedEvent"},{"__typename":"PullRequestReview","fullDatabaseId":"8000001","state":"APPROVED","submittedAt":"2024-03-01T09:04:00Z","author":{"login":"carol"}}]}}}}}`
	if status != 200 || body != want {
		t.Errorf("second page (%d):\n got %s\nwant %s", status, body, want)
	}
}

func TestGraphQLLimits(t *testing.T) {
	e := gqlOrg(t)
	tests := []struct {
		name, query string
		status      int
		want        string // substring of the body
		points      int    // points charged
	}{
		{"missing first", `{ repository(owner:"acme", name:"web") { issueOrPullRequest(number:1) { ... on Issue { timelineItems { totalCount } } } } }`,
			200, `{"errors":[{"type":"MISSING_PAGINATION_BOUNDARIES","message":"You must provide a ` + "`first` or `last` value to properly paginate the `timelineItems` connection." + `"}]}`, 0},
		{"first above 100", `{ repository(owner:"acme", name:"web") { issueOrPullRequest(number:1) { ... on Issue { timelineItems(first: 101) { totalCount } } } } }`,
			200, `"type":"EXCESSIVE_PAGINATION","message":"Requesting 101 records on the ` + "`timelineItems` connection exceeds the `first` limit of 100 records.", 0},
		{"node limit", nodeHeavy(51), 200,
			`{"errors":[{"type":"MAX_NODE_LIMIT_EXCEEDED","message":"This query requests up to 510,000 possible nodes which exceeds the maximum limit of 500,000."}]}`, 0},
		{"unknown repository", `{ repository(owner:"acme", name:"nope") { id } }`, 200,
			`{"data":{"repository":null},"errors":[{"type":"NOT_FOUND","path":["repository"],"message":"Could not resolve to a Repository with the name 'acme/nope'."}]}`, 1},
		{"syntax", `{ repository(`, 200, `"message":"syntax error`, 0},
		{"150 connections of 100 cost 2 points", manyAliases(150), 200, `"data"`, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.gh.GraphQLRateStatus(tokA).Used
			status, _, body := e.graphql(t, "/graphql", tokA, tc.query, nil)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("got %d %s\nwant %d containing %s", status, body, tc.status, tc.want)
			}
			if got := e.gh.GraphQLRateStatus(tokA).Used - before; got != tc.points {
				t.Errorf("charged %d points, want %d", got, tc.points)
			}
		})
	}
}

// nodeHeavy nests n aliases of a 100x100 timeline (the fake's subset has
// no nested connection below a timeline, so width stands in for depth):
// n * 100 * 100 nodes.
func nodeHeavy(n int) string {
	var b strings.Builder
	b.WriteString(`{ repository(owner:"acme", name:"web") {`)
	for i := 0; i < n*100; i++ {
		b.WriteString(" a" + strconv.Itoa(i) + `: issueOrPullRequest(number:1) { ... on Issue { timelineItems(first:100) { totalCount } } }`)
	}
	b.WriteString(" } }")
	return b.String()
}

func manyAliases(n int) string {
	var b strings.Builder
	b.WriteString(`{ repository(owner:"acme", name:"web") {`)
	for i := 0; i < n; i++ {
		b.WriteString(" a" + strconv.Itoa(i) + `: issueOrPullRequest(number:1) { ... on Issue { timelineItems(first:100) { totalCount } } }`)
	}
	b.WriteString(" } }")
	return b.String()
}

func TestGraphQLRateLimitedAndFaults(t *testing.T) {
	e := gqlOrg(t)
	q := `{ rateLimit { remaining } }`
	for i := 0; i < 10; i++ {
		if status, _, body := e.graphql(t, "/graphql", tokA, q, nil); status != 200 || strings.Contains(body, "errors") {
			t.Fatalf("query %d: %d %s", i, status, body)
		}
	}
	status, h, body := e.graphql(t, "/graphql", tokA, q, nil)
	want := `{"errors":[{"type":"RATE_LIMITED","code":"graphql_rate_limit","message":"API rate limit already exceeded for user ID `
	if status != 200 || !strings.HasPrefix(body, want) || h.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("exhausted: %d %s %v", status, body, h)
	}
	// The REST budget is untouched, and the window resets.
	if e.gh.RateStatus(tokA).Used != 0 {
		t.Errorf("REST budget used by GraphQL")
	}
	e.clock.Advance(time.Hour)
	if status, _, body := e.graphql(t, "/graphql", tokA, q, nil); status != 200 || strings.Contains(body, "errors") {
		t.Errorf("after the reset: %d %s", status, body)
	}

	if status, _, body := e.graphql(t, "/graphql", "wrong", q, nil); status != 401 || !strings.Contains(body, `"message":"Bad credentials"`) {
		t.Errorf("bad token: %d %s", status, body)
	}

	e.gh.SetGraphQLTimeoutNodes(50)
	status, _, body = e.graphql(t, "/graphql", tokB, timelineQuery, map[string]any{"owner": "acme", "name": "web"})
	if status != 200 || !strings.HasPrefix(body, `{"data":null,"errors":[{"message":"Something went wrong while executing your query. This may be the result of a timeout`) {
		t.Errorf("timeout: %d %s", status, body)
	}
	e.gh.SetGraphQLTimeoutNodes(0)

	e.gh.SetNoGraphQL(true)
	if status, _, body := e.graphql(t, "/graphql", tokB, q, nil); status != 404 || !strings.Contains(body, `"message":"Not Found"`) {
		t.Errorf("no GraphQL: %d %s", status, body)
	}
}
