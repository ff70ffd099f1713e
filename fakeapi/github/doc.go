// Package github is the fake GitHub REST API, mirroring collectors/github:
// an in-memory organisation (Org) plus an http.Handler (GitHub) that serves
// it over real HTTP with GitHub's JSON shapes, headers, pagination traps and
// rate limits, so collector tests, the simulator and `crossteam demo` can run
// the real go-github client against it. The fault knobs, request log and
// clock are shared with the fake Jira (package fakeapi).
//
// Typical use:
//
//	org := fakegithub.NewOrg()
//	org.Now = clock.Now // optional, for determinism (see fakeapi.ManualClock)
//	_ = org.AddRepo("acme/web")
//	is, _ := org.AddIssue("acme/web", fakegithub.Issue{Title: "Bug", User: "alice", Labels: []string{"team:web"}})
//	_, _ = org.AddEvent("acme/web", fakegithub.Event{Issue: is.Number, Type: fakegithub.EventClosed, Actor: "bob"})
//	gh := fakegithub.NewGitHub(org, fakegithub.GitHubOptions{Tokens: []string{"t0ken"}})
//	srv := httptest.NewServer(gh) // or any net/http server on 127.0.0.1
//	client := github.NewClient(nil).WithAuthToken("t0ken")
//	client.BaseURL, _ = url.Parse(srv.URL + "/")
//
// Endpoints (GET; HEAD too). Every repository path is also served under
// /repositories/{id}/... (the form GitHub uses in Link headers) and, for
// GitHub Enterprise clients, under the /api/v3 prefix:
//
//	/repos/{o}/{r}/issues            state, sort, direction, since, labels, milestone, assignee, creator,
//	                                 per_page, page; after=<cursor> past the page cap
//	/repos/{o}/{r}/issues/{n}
//	/repos/{o}/{r}/issues/events     newest first, embedded issue; 422 past the events horizon
//	/repos/{o}/{r}/issues/{n}/events oldest first, no embedded issue
//	/repos/{o}/{r}/issues/comments   since, sort (created|updated), direction
//	/repos/{o}/{r}/issues/{n}/comments
//	/repos/{o}/{r}/milestones        state, sort (due_on|completeness), direction
//	/repos/{o}/{r}/pulls/{n}/reviews chronological
//	/repos/{o}/{r}
//	/orgs/{org}/repos
//	/orgs/{org}/teams/{slug}/members
//	/rate_limit                      never costs primary quota
//	POST /graphql (and /api/graphql) GitHub's GraphQL API over the schema subset in
//	                                 testdata/graphql-schema-subset.graphql (see graphql.go)
//
// GraphQL: graph-gophers/graphql-go executes the query over the Org
// (repository.issueOrPullRequest(number).timelineItems: events, comments,
// reviews in time order, itemTypes/since/first/after/last/before/skip). The
// cost is GitHub's: one request per connection per node of its parent
// connections, summed, divided by 100, rounded, at least 1, charged to a
// per-token point budget of its own (GitHubOptions.GraphQLRateLimit, answers
// carry X-RateLimit-Resource: graphql) and readable in rateLimit { cost
// remaining resetAt }. A connection without first/last, first above 100 or
// more than 500,000 nodes is refused with GitHub's error types; an exhausted
// budget answers 200 with type RATE_LIMITED; unknown repositories and numbers
// answer NOT_FOUND errors beside partial data. Latency, secondary limits, 5xx
// and body faults apply as for REST; SetGraphQLTimeoutNodes makes heavy
// queries fail as GitHub's timeouts do; SetNoGraphQL answers 404.
//
// Behaviour shared by all endpoints, in the order it is applied:
// injected latency; authentication (401 "Bad credentials" / "Requires
// authentication" unless NoAuth); the primary rate limit (403 — or 429 —
// with X-RateLimit-Remaining: 0 once a token's budget for the window is
// spent); secondary rate limit episodes (403 or 429 with Retry-After);
// transient 502/503; per-repository permanent 404/500; then the answer. A
// 200 carries a strong ETag computed from the Authorization header value and
// the body; a request whose If-None-Match matches gets 304 with no body and
// costs no quota. 200, 404 and 422 answers cost one unit of primary quota;
// errors injected as faults and /rate_limit cost none. Every answer carries
// X-RateLimit-Limit/Remaining/Used/Reset/Resource (except 401) and, for
// lists, a Link header with prev/next/last/first page links.
//
// Pagination traps, as on GitHub: the issues list serves page= up to
// fakeapi.Faults.PageCap (GitHub: 100), answers 422 beyond it, and the rel="next" of
// the last page before the cap is an opaque after=<cursor> (keyset on the
// sort key, so items updated during a walk move to its end instead of being
// skipped); go-github v60 then reports NextPage == 0, so only clients that
// follow the raw Link URL see everything. The repository events list answers
// 422 past Faults.EventsHorizon pages, and its rel="last" is the horizon.
//
// Faults (latency and spikes, 502/503, 403/429 secondary-limit episodes,
// truncated or malformed bodies, per-repository 404/500, the two pagination
// caps) are set with GitHub.SetFaults at any time, or parsed from a flag
// value with fakeapi.ParseFaults ("5xx=0.05,latency=20ms,secondary=0.01,horizon=3").
// Their random draws come from an RNG seeded by Faults.Seed.
//
// Every request is logged (GitHub.Requests, Count, CountByEndpoint,
// ResetRequests) with its endpoint, status, whether it was conditional and
// whether it cost primary quota; GitHub.RateStatus reports a token's budget.
//
// Times come from Org.Now, so rate-limit windows, Retry-After and reset
// times follow a fakeapi.ManualClock in tests; only injected latency is real time.
// Timestamps have GitHub's one-second resolution.
package github
