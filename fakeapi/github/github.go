package github

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crossteam/crossteam/fakeapi"
)

// Endpoint names used in the request log (fakeapi.Request.Endpoint).
const (
	EndpointIssues        = "issues"                 // GET /repos/{o}/{r}/issues
	EndpointIssue         = "issue"                  // GET /repos/{o}/{r}/issues/{n}
	EndpointRepoEvents    = "issue_events"           // GET /repos/{o}/{r}/issues/events
	EndpointIssueEvents   = "issue_events_for_issue" // GET /repos/{o}/{r}/issues/{n}/events
	EndpointComments      = "comments"               // GET /repos/{o}/{r}/issues/comments
	EndpointIssueComments = "issue_comments"         // GET /repos/{o}/{r}/issues/{n}/comments
	EndpointMilestones    = "milestones"             // GET /repos/{o}/{r}/milestones
	EndpointReviews       = "reviews"                // GET /repos/{o}/{r}/pulls/{n}/reviews
	EndpointTeamMembers   = "team_members"           // GET /orgs/{org}/teams/{slug}/members
	EndpointOrgRepos      = "org_repos"              // GET /orgs/{org}/repos
	EndpointRepo          = "repo"                   // GET /repos/{o}/{r}
	EndpointRateLimit     = "rate_limit"             // GET /rate_limit
)

// GitHub messages, verbatim where GitHub's are known.
const (
	MsgPageCap            = "Pagination with the page parameter is not supported for large datasets, please use cursor based pagination (after/before)"
	MsgEventsHorizon      = "In order to keep the API fast for everyone, pagination is limited for this resource. Check the rel=last link relation in the Link response header to see how far back you can traverse."
	MsgSecondaryRateLimit = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID %s."
	MsgPrimaryRateLimit   = "API rate limit exceeded for user ID %d. If you reach out to GitHub Support for help, please include the request ID %s."

	docRateLimits = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
	docSecondary  = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	docREST       = "https://docs.github.com/rest"
)

// GitHubOptions configure a GitHub handler. The zero value serves with
// authentication required and no valid token: set Tokens or NoAuth.
type GitHubOptions struct {
	// Tokens are the valid tokens ("Authorization: Bearer X" or "token X").
	Tokens []string
	// NoAuth accepts any request, with or without Authorization; quota is
	// then kept per Authorization value ("" for none).
	NoAuth bool
	// RateLimit is the primary budget per token and window (default 5000);
	// RateWindow the window length (default 1h, starting at a token's first
	// request, on the Org clock).
	RateLimit  int
	RateWindow time.Duration
	// PrimaryLimitStatus is the status of a primary-limit refusal: 403
	// (default, what go-github v60 turns into *github.RateLimitError) or 429.
	PrimaryLimitStatus int
	// HTMLURL is the web base of html_url fields (default https://github.com).
	HTMLURL string
	// LinkByName makes Link headers use /repos/{owner}/{name}/... paths.
	// By default they use /repositories/{id}/..., as GitHub does (the fake
	// serves both forms).
	LinkByName bool
	// MaxLog bounds the request log (default 100000; the oldest half is
	// dropped when full).
	MaxLog int
	// Faults are the initial fault knobs (see SetFaults).
	Faults fakeapi.Faults
	// GraphQLRateLimit is the GraphQL point budget per token and window
	// (default 5000, GitHub's for a user token).
	GraphQLRateLimit int
	// NoGraphQL answers 404 on /graphql (see SetNoGraphQL).
	NoGraphQL bool
}

// Rate is a token's primary rate-limit state.
type Rate struct {
	Limit, Used, Remaining int
	Reset                  time.Time
}

type quota struct {
	used          int
	reset         time.Time
	episodeUntil  time.Time
	episodeStatus int
}

// GitHub is an http.Handler serving an Org as the GitHub REST API (the
// read endpoints crossteam uses). Create it with NewGitHub; all methods are
// safe for concurrent use while serving.
type GitHub struct {
	org *Org

	mu         sync.Mutex
	tokens     map[string]bool
	noAuth     bool
	limit      int
	window     time.Duration
	primStatus int
	htmlURL    string
	linkByName bool
	faults     fakeapi.Faults
	rng        *rand.Rand
	quotas     map[string]*quota
	fakeapi.RequestLog
	// GraphQL (graphql.go)
	gqlQuotas       map[string]*gqlQuota
	gqlLimit        int
	gqlTimeoutNodes int
	noGraphQL       bool
	seq             int64
	n5xx            int
}

// NewGitHub returns a handler serving org.
func NewGitHub(org *Org, opts GitHubOptions) *GitHub {
	g := &GitHub{
		org: org, tokens: map[string]bool{}, noAuth: opts.NoAuth,
		limit: opts.RateLimit, window: opts.RateWindow, primStatus: opts.PrimaryLimitStatus,
		htmlURL: strings.TrimRight(opts.HTMLURL, "/"), linkByName: opts.LinkByName,
		quotas:    map[string]*quota{},
		gqlQuotas: map[string]*gqlQuota{}, gqlLimit: opts.GraphQLRateLimit, noGraphQL: opts.NoGraphQL,
	}
	if g.gqlLimit <= 0 {
		g.gqlLimit = 5000
	}
	for _, t := range opts.Tokens {
		g.tokens[t] = true
	}
	if g.limit <= 0 {
		g.limit = 5000
	}
	if g.window <= 0 {
		g.window = time.Hour
	}
	if g.primStatus != http.StatusTooManyRequests {
		g.primStatus = http.StatusForbidden
	}
	if g.htmlURL == "" {
		g.htmlURL = "https://github.com"
	}
	g.RequestLog.Max = opts.MaxLog
	if g.RequestLog.Max <= 0 {
		g.RequestLog.Max = 100000
	}
	g.SetFaults(opts.Faults)
	return g
}

// Org returns the organisation served.
func (g *GitHub) Org() *Org { return g.org }

// SetFaults replaces the fault knobs and reseeds the fault RNG with f.Seed.
func (g *GitHub) SetFaults(f fakeapi.Faults) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults = f
	g.faults.NotFoundRepos = append([]string(nil), f.NotFoundRepos...)
	g.faults.BrokenRepos = append([]string(nil), f.BrokenRepos...)
	g.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
}

// Faults returns the current fault knobs.
func (g *GitHub) Faults() fakeapi.Faults {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.faults
}

// AddToken makes tok valid.
func (g *GitHub) AddToken(tok string) {
	g.mu.Lock()
	g.tokens[tok] = true
	g.mu.Unlock()
}

// RemoveToken makes tok invalid (401 from then on).
func (g *GitHub) RemoveToken(tok string) {
	g.mu.Lock()
	delete(g.tokens, tok)
	g.mu.Unlock()
}

// SetNoAuth switches the "no authentication required" mode.
func (g *GitHub) SetNoAuth(on bool) {
	g.mu.Lock()
	g.noAuth = on
	g.mu.Unlock()
}

// SetRateLimit changes the primary budget per token and window.
func (g *GitHub) SetRateLimit(limit int) {
	g.mu.Lock()
	if limit > 0 {
		g.limit = limit
	}
	g.mu.Unlock()
}

// RateStatus returns tok's primary rate-limit state now.
func (g *GitHub) RateStatus(tok string) Rate {
	now := g.org.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	q := g.quota(tok, now)
	return Rate{Limit: g.limit, Used: q.used, Remaining: max(0, g.limit-q.used), Reset: q.reset}
}

// ResetRateLimits forgets all quota use and secondary-limit episodes.
func (g *GitHub) ResetRateLimits() {
	g.mu.Lock()
	g.quotas = map[string]*quota{}
	g.gqlQuotas = map[string]*gqlQuota{}
	g.mu.Unlock()
}

// quota returns tok's quota, starting a new window when the last ended.
func (g *GitHub) quota(tok string, now time.Time) *quota {
	q := g.quotas[tok]
	if q == nil {
		q = &quota{}
		g.quotas[tok] = q
	}
	if q.reset.IsZero() || !now.Before(q.reset) {
		q.used = 0
		q.reset = now.Add(g.window)
	}
	return q
}

// reply is a fully decided answer.
type reply struct {
	status int
	body   []byte
	header http.Header
}

func errorBody(status int, msg, doc string) []byte {
	return fakeapi.Marshal(wError{Message: msg, DocumentationURL: doc, Status: strconv.Itoa(status)})
}

func tokenUserID(tok string) int64 {
	h := fnv.New32a()
	h.Write([]byte(tok))
	return int64(h.Sum32()%90000000) + 10000000
}

func (g *GitHub) authenticate(r *http.Request) (tok string, ok bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", g.noAuth
	}
	scheme, t, found := strings.Cut(h, " ")
	t = strings.TrimSpace(t)
	if !found || t == "" || (!strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token")) {
		return h, g.noAuth
	}
	return t, g.noAuth || g.tokens[t]
}

// route is a parsed request path.
type route struct {
	endpoint  string
	repoRef   string // "owner/name", or "#id" for /repositories/{id}
	rest      string // path below the repository root, e.g. "/issues/events"
	number    int
	org, slug string
}

func parseRoute(path string) route {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	rt := route{endpoint: fakeapi.EndpointUnknown}
	var tail []string
	switch {
	case len(seg) == 1 && seg[0] == "rate_limit":
		rt.endpoint = EndpointRateLimit
		return rt
	case len(seg) == 3 && seg[0] == "orgs" && seg[2] == "repos":
		rt.endpoint, rt.org = EndpointOrgRepos, seg[1]
		return rt
	case len(seg) == 5 && seg[0] == "orgs" && seg[2] == "teams" && seg[4] == "members":
		rt.endpoint, rt.org, rt.slug = EndpointTeamMembers, seg[1], seg[3]
		return rt
	case len(seg) >= 3 && seg[0] == "repos" && seg[1] != "" && seg[2] != "":
		rt.repoRef, tail = seg[1]+"/"+seg[2], seg[3:]
	case len(seg) >= 2 && seg[0] == "repositories" && seg[1] != "":
		rt.repoRef, tail = "#"+seg[1], seg[2:]
	default:
		return rt
	}
	if len(tail) > 0 {
		rt.rest = "/" + strings.Join(tail, "/")
	}
	num := func(s string) bool {
		n, err := strconv.Atoi(s)
		rt.number = n
		return err == nil && n > 0
	}
	switch {
	case len(tail) == 0:
		rt.endpoint = EndpointRepo
	case len(tail) == 1 && tail[0] == "issues":
		rt.endpoint = EndpointIssues
	case len(tail) == 1 && tail[0] == "milestones":
		rt.endpoint = EndpointMilestones
	case len(tail) == 2 && tail[0] == "issues" && tail[1] == "events":
		rt.endpoint = EndpointRepoEvents
	case len(tail) == 2 && tail[0] == "issues" && tail[1] == "comments":
		rt.endpoint = EndpointComments
	case len(tail) == 2 && tail[0] == "issues" && num(tail[1]):
		rt.endpoint = EndpointIssue
	case len(tail) == 3 && tail[0] == "issues" && tail[2] == "events" && num(tail[1]):
		rt.endpoint = EndpointIssueEvents
	case len(tail) == 3 && tail[0] == "issues" && tail[2] == "comments" && num(tail[1]):
		rt.endpoint = EndpointIssueComments
	case len(tail) == 3 && tail[0] == "pulls" && tail[2] == "reviews" && num(tail[1]):
		rt.endpoint = EndpointReviews
	case len(tail) == 4 && tail[0] == "issues" && tail[2] == "dependencies" && tail[3] == "blocked_by" && num(tail[1]):
		rt.endpoint = EndpointIssueBlockedBy
	}
	return rt
}

// ServeHTTP answers one request; see the package documentation.
func (g *GitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix, path := "", r.URL.Path
	if path == "/graphql" || path == "/api/graphql" {
		g.serveGraphQL(w, r)
		return
	}
	if path == "/api/v3" || strings.HasPrefix(path, "/api/v3/") {
		prefix, path = "/api/v3", strings.TrimPrefix(path, "/api/v3")
	}
	rec := fakeapi.Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Conditional: r.Header.Get("If-None-Match") != "",
	}

	// Injected latency, outside the lock.
	g.mu.Lock()
	f := g.faults
	spikeDraw, secDraw, errDraw, bodyDraw := g.rng.Float64(), g.rng.Float64(), g.rng.Float64(), g.rng.Float64()
	g.mu.Unlock()
	fault, ok := f.Delay(r.Context(), spikeDraw)
	rec.Fault = fault
	if !ok {
		return
	}

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	rep := g.decide(r, &rec, decideIn{
		path: path, api: scheme + "://" + r.Host + prefix,
		secDraw: secDraw, errDraw: errDraw, bodyDraw: bodyDraw,
	})

	h := w.Header()
	for k, v := range rep.header {
		h[k] = v
	}
	if rep.status != http.StatusNotModified {
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(rep.body)))
	}
	w.WriteHeader(rep.status)
	if rep.status != http.StatusNotModified {
		_, _ = w.Write(rep.body)
	}
}

type decideIn struct {
	path                       string
	api                        string
	secDraw, errDraw, bodyDraw float64
}

// decide computes the answer under g.mu (and the Org read lock) and logs it.
func (g *GitHub) decide(r *http.Request, rec *fakeapi.Request, in decideIn) (rep reply) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.org.now()
	g.seq++
	rec.ID, rec.Time = g.seq, now
	reqID := fmt.Sprintf("FA%02X:%04X:%06X:%06X:%08X", g.seq%251, g.seq%65521, g.seq*7%16777213, g.seq*13%16777213, g.seq)
	rep.header = http.Header{}
	rep.header.Set("X-GitHub-Request-Id", reqID)
	rep.header.Set("X-GitHub-Media-Type", "github.v3; format=json")
	rep.header.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	rep.header.Set("Cache-Control", "private, max-age=60, s-maxage=60")
	rep.header.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
	rep.header.Set("X-Content-Type-Options", "nosniff")
	rep.header.Set("X-Frame-Options", "deny")
	rep.header.Set("Access-Control-Expose-Headers", "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset")
	defer func() {
		rec.Status = rep.status
		g.Record(*rec)
	}()
	rt := parseRoute(in.path)
	rec.Endpoint = rt.endpoint

	tok, ok := g.authenticate(r)
	rec.Token = tok
	if !ok {
		rep.status = http.StatusUnauthorized
		msg := "Bad credentials"
		if r.Header.Get("Authorization") == "" {
			msg = "Requires authentication"
		}
		rep.body = errorBody(rep.status, msg, docREST)
		return rep
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		rep.status = http.StatusNotFound
		rep.body = errorBody(rep.status, "Not Found", docREST)
		return rep
	}

	q := g.quota(tok, now)
	rateHeaders := func() {
		rep.header.Set("X-RateLimit-Limit", strconv.Itoa(g.limit))
		rep.header.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, g.limit-q.used)))
		rep.header.Set("X-RateLimit-Used", strconv.Itoa(q.used))
		rep.header.Set("X-RateLimit-Reset", strconv.FormatInt(q.reset.Unix(), 10))
		rep.header.Set("X-RateLimit-Resource", "core")
	}
	defer rateHeaders()

	// Primary rate limit (GET /rate_limit is always answered).
	if rt.endpoint != EndpointRateLimit && q.used >= g.limit {
		rep.status = g.primStatus
		rep.body = errorBody(rep.status, fmt.Sprintf(MsgPrimaryRateLimit, tokenUserID(tok), reqID), docRateLimits)
		return rep
	}

	// Secondary rate limit episodes.
	f := g.faults
	episode, withHeader := f.RetryAfterValue()
	if !now.Before(q.episodeUntil) && in.secDraw < f.SecondaryRate+f.TooManyRate {
		q.episodeStatus = http.StatusForbidden
		if in.secDraw >= f.SecondaryRate {
			q.episodeStatus = http.StatusTooManyRequests
		}
		q.episodeUntil = now.Add(episode)
	}
	if now.Before(q.episodeUntil) {
		rec.Fault = "secondary"
		rep.status = q.episodeStatus
		if withHeader {
			secs := int64((q.episodeUntil.Sub(now) + time.Second - 1) / time.Second)
			rep.header.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		}
		rep.body = errorBody(rep.status, fmt.Sprintf(MsgSecondaryRateLimit, reqID), docSecondary)
		return rep
	}

	// Transient server errors.
	if in.errDraw < f.ServerErrorRate {
		rec.Fault = "5xx"
		g.n5xx++
		if g.n5xx%2 == 1 {
			rep.status = http.StatusBadGateway
			rep.body = fakeapi.Marshal(map[string]string{"message": "Server Error"})
		} else {
			rep.status = http.StatusServiceUnavailable
			rep.body = fakeapi.Marshal(map[string]string{"message": "No server is currently available to service your request. Sorry about that. Please try resubmitting your request and contact us if the problem persists."})
		}
		return rep
	}

	auth := r.Header.Get("Authorization")
	rep.status, rep.body, rep.header = g.serve(r, rec, rt, f, in.api, now, q, rep.header)
	if rec.Fault == "broken" || rt.endpoint == EndpointRateLimit {
		return rep // neither costs primary quota
	}
	if rep.status == http.StatusOK {
		tag := etag(auth, rep.body)
		rep.header.Set("ETag", tag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, tag) {
			rep.status, rep.body = http.StatusNotModified, nil
			return rep
		}
	}
	q.used++
	rec.Cost = true
	if rep.status == http.StatusOK {
		switch {
		case in.bodyDraw < f.TruncateRate:
			rec.Fault = "truncate"
			rep.body = rep.body[:len(rep.body)/2]
		case in.bodyDraw < f.TruncateRate+f.MalformedRate:
			rec.Fault = "malformed"
			mid := len(rep.body) / 2
			rep.body = append(append(append([]byte(nil), rep.body[:mid]...), "\"}{,"...), rep.body[mid:]...)
		}
	}
	return rep
}

// etag computes a strong ETag from the Authorization header value and the
// body, as GitHub does (so an ETag obtained with one token never matches
// under another).
func etag(auth string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(auth))
	h.Write([]byte{0})
	h.Write(body)
	return `"` + hex.EncodeToString(h.Sum(nil)) + `"`
}

func etagMatches(header, tag string) bool {
	for _, p := range strings.Split(header, ",") {
		p = strings.TrimSpace(p)
		if p == "*" || strings.TrimPrefix(p, "W/") == tag {
			return true
		}
	}
	return false
}

// serve answers a routed request from the Org; it holds the Org read lock.
func (g *GitHub) serve(r *http.Request, rec *fakeapi.Request, rt route, f fakeapi.Faults, api string, now time.Time, q *quota, h http.Header) (int, []byte, http.Header) {
	g.org.mu.RLock()
	defer g.org.mu.RUnlock()
	c := &renderer{o: g.org, api: api, html: g.htmlURL}
	query := r.URL.Query()
	notFound := func() (int, []byte, http.Header) {
		return http.StatusNotFound, errorBody(http.StatusNotFound, "Not Found", docREST), h
	}
	ok := func(v any) (int, []byte, http.Header) { return http.StatusOK, fakeapi.Marshal(v), h }

	switch rt.endpoint {
	case fakeapi.EndpointUnknown:
		return notFound()
	case EndpointRateLimit:
		return ok(g.rateLimitBody(q, now))
	case EndpointOrgRepos:
		var list []*wRepo
		for _, rp := range g.org.repoList {
			if strings.EqualFold(rp.owner, rt.org) {
				list = append(list, c.repo(rp))
			}
		}
		if _, known := g.org.orgIDs[strings.ToLower(rt.org)]; !known {
			return notFound()
		}
		lk := linker{base: api + "/orgs/" + rt.org + "/repos", q: query}
		page := pageOf(list, query)
		setLink(h, lk.pageLinks(page.page, page.last, 0))
		return ok(nonNil(page.items))
	case EndpointTeamMembers:
		t := g.org.teams[strings.ToLower(rt.org+"/"+rt.slug)]
		if t == nil {
			return notFound()
		}
		users := make([]*wUser, len(t.Members))
		for i, m := range t.Members {
			users[i] = c.user(m)
		}
		lk := linker{base: api + "/orgs/" + rt.org + "/teams/" + rt.slug + "/members", q: query}
		page := pageOf(users, query)
		setLink(h, lk.pageLinks(page.page, page.last, 0))
		return ok(page.items)
	}

	// Repository endpoints.
	var rp *repo
	if strings.HasPrefix(rt.repoRef, "#") {
		if id, err := strconv.ParseInt(rt.repoRef[1:], 10, 64); err == nil {
			rp = g.org.reposByID[id]
		}
	} else {
		rp = g.org.repos[strings.ToLower(rt.repoRef)]
	}
	if rp == nil {
		return notFound()
	}
	rec.Repo = rp.fullName()
	if fakeapi.RepoIn(f.NotFoundRepos, rp.fullName()) {
		rec.Fault = "notfound"
		return notFound()
	}
	if fakeapi.RepoIn(f.BrokenRepos, rp.fullName()) {
		rec.Fault = "broken"
		return http.StatusInternalServerError, fakeapi.Marshal(map[string]string{"message": "Server Error"}), h
	}
	base := api + "/repositories/" + strconv.FormatInt(rp.id, 10) + rt.rest
	if g.linkByName {
		base = api + "/repos/" + rp.fullName() + rt.rest
	}
	lk := linker{base: base, q: query}

	switch rt.endpoint {
	case EndpointRepo:
		return ok(c.repo(rp))
	case EndpointIssue:
		is := rp.issues[rt.number]
		if is == nil {
			return notFound()
		}
		return ok(c.issue(rp, is))
	case EndpointIssues:
		return g.listIssues(c, rp, query, lk, f, h)
	case EndpointRepoEvents:
		n := len(rp.events)
		per, page := pageParams(query)
		last := (n + per - 1) / per
		if f.EventsHorizon > 0 && page > f.EventsHorizon {
			return http.StatusUnprocessableEntity, errorBody(http.StatusUnprocessableEntity, MsgEventsHorizon, "https://docs.github.com/v3/#pagination"), h
		}
		lastLink := last
		if f.EventsHorizon > 0 && lastLink > f.EventsHorizon {
			lastLink = f.EventsHorizon
		}
		out := []*wEvent{}
		for i := n - 1 - (page-1)*per; i >= 0 && i > n-1-page*per; i-- {
			out = append(out, c.event(rp, rp.events[i], true))
		}
		links := lk.pageLinks(page, last, lastLink)
		setLink(h, links)
		return ok(out)
	case EndpointIssueBlockedBy:
		is := rp.issues[rt.number]
		if is == nil || is.PullRequest {
			return notFound()
		}
		page := pageOf(c.blockedByList(is), query)
		setLink(h, lk.pageLinks(page.page, page.last, 0))
		return ok(page.items)
	case EndpointIssueEvents:
		is := rp.issues[rt.number]
		if is == nil {
			return notFound()
		}
		out := make([]*wEvent, len(is.events))
		for i, e := range is.events {
			out[i] = c.event(rp, e, false)
		}
		page := pageOf(out, query)
		setLink(h, lk.pageLinks(page.page, page.last, 0))
		return ok(page.items)
	case EndpointComments, EndpointIssueComments:
		var list []*Comment
		if rt.endpoint == EndpointIssueComments {
			if rp.issues[rt.number] == nil {
				return notFound()
			}
		}
		since, err := parseSince(query.Get("since"))
		if err != nil {
			return validationFailed("IssueComment", "since", h)
		}
		for _, cm := range rp.comments {
			if rt.endpoint == EndpointIssueComments && cm.Issue != rt.number {
				continue
			}
			if !since.IsZero() && cm.UpdatedAt.Before(since) {
				continue
			}
			list = append(list, cm)
		}
		if rt.endpoint == EndpointComments {
			key := func(cm *Comment) time.Time { return cm.CreatedAt }
			if query.Get("sort") == "updated" {
				key = func(cm *Comment) time.Time { return cm.UpdatedAt }
			}
			desc := query.Get("sort") != "" && query.Get("direction") == "desc"
			sort.SliceStable(list, func(i, j int) bool {
				a, b := key(list[i]), key(list[j])
				if !a.Equal(b) {
					return a.Before(b) != desc
				}
				return (list[i].ID < list[j].ID) != desc
			})
		}
		page := pageOf(list, query)
		out := make([]*wComment, len(page.items))
		for i, cm := range page.items {
			out[i] = c.comment(rp, cm)
		}
		setLink(h, lk.pageLinks(page.page, page.last, 0))
		return ok(out)
	case EndpointMilestones:
		state := query.Get("state")
		if state == "" {
			state = "open"
		}
		if state != "open" && state != "closed" && state != "all" {
			return validationFailed("Milestone", "state", h)
		}
		var list []Milestone
		for _, m := range rp.milestones {
			if state == "all" || m.State == state {
				list = append(list, g.org.milestoneWithCounts(rp, m))
			}
		}
		desc := query.Get("direction") == "desc"
		byCompleteness := query.Get("sort") == "completeness"
		sort.SliceStable(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if byCompleteness {
				ca, cb := completeness(a), completeness(b)
				if ca != cb {
					return (ca < cb) != desc
				}
			} else if !a.DueOn.Equal(b.DueOn) {
				switch {
				case a.DueOn.IsZero():
					return desc
				case b.DueOn.IsZero():
					return !desc
				}
				return a.DueOn.Before(b.DueOn) != desc
			}
			return (a.Number < b.Number) != desc
		})
		page := pageOf(list, query)
		out := make([]*wMilestone, len(page.items))
		for i, m := range page.items {
			out[i] = c.milestone(rp, rp.milestones[m.Number-1])
		}
		setLink(h, lk.pageLinks(page.page, page.last, 0))
		return ok(out)
	case EndpointReviews:
		is := rp.issues[rt.number]
		if is == nil || !is.PullRequest {
			return notFound()
		}
		list := rp.reviews[rt.number]
		page := pageOf(list, query)
		out := make([]*wReview, len(page.items))
		for i, rv := range page.items {
			out[i] = c.review(rp, rv)
		}
		setLink(h, lk.pageLinks(page.page, page.last, 0))
		return ok(out)
	}
	return notFound()
}

func completeness(m Milestone) float64 {
	if m.OpenIssues+m.ClosedIssues == 0 {
		return 0
	}
	return float64(m.ClosedIssues) / float64(m.OpenIssues+m.ClosedIssues)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func validationFailed(resource, field string, h http.Header) (int, []byte, http.Header) {
	return http.StatusUnprocessableEntity, fakeapi.Marshal(wError{
		Message:          "Validation Failed",
		Errors:           []map[string]any{{"resource": resource, "field": field, "code": "invalid"}},
		DocumentationURL: docREST, Status: "422",
	}), h
}

func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse("2006-01-02", s)
	return t.UTC(), err
}

func (g *GitHub) rateLimitBody(q *quota, now time.Time) any {
	core := wRate{Limit: g.limit, Used: q.used, Remaining: max(0, g.limit-q.used), Reset: q.reset.Unix()}
	minute := now.Add(time.Minute).Unix()
	hour := now.Add(time.Hour).Unix()
	full := func(limit int, reset int64) wRate { return wRate{Limit: limit, Remaining: limit, Reset: reset} }
	return map[string]any{
		"resources": map[string]wRate{
			"core":                        core,
			"search":                      full(30, minute),
			"graphql":                     full(5000, hour),
			"integration_manifest":        full(5000, hour),
			"source_import":               full(100, minute),
			"code_scanning_upload":        full(1000, hour),
			"actions_runner_registration": full(10000, hour),
			"scim":                        full(15000, hour),
			"dependency_snapshots":        full(100, minute),
			"code_search":                 full(10, minute),
		},
		"rate": core,
	}
}

// pageParams reads per_page (default 30, max 100) and page (default 1).
func pageParams(q url.Values) (per, page int) {
	per, page = 30, 1
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		per = min(v, 100)
	}
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		page = v
	}
	return per, page
}

type paged[T any] struct {
	items      []T
	page, last int
}

func pageOf[T any](all []T, q url.Values) paged[T] {
	per, page := pageParams(q)
	last := (len(all) + per - 1) / per
	lo := min((page-1)*per, len(all))
	hi := min(lo+per, len(all))
	return paged[T]{items: nonNil(all[lo:hi]), page: page, last: last}
}

// linker builds Link header entries that keep the request's other query
// parameters, as GitHub does.
type linker struct {
	base string
	q    url.Values
}

func (l linker) with(set map[string]string) string {
	q := url.Values{}
	for k, v := range l.q {
		q[k] = append([]string(nil), v...)
	}
	q.Del("page")
	q.Del("after")
	q.Del("before")
	for k, v := range set {
		q.Set(k, v)
	}
	return "<" + l.base + "?" + q.Encode() + ">"
}

func (l linker) page(p int) string { return l.with(map[string]string{"page": strconv.Itoa(p)}) }

// pageLinks renders prev, next, last and first for page of last pages, in
// GitHub's order. lastLink (when > 0) overrides the rel="last" page.
func (l linker) pageLinks(page, last, lastLink int) []string {
	if lastLink == 0 {
		lastLink = last
	}
	var parts []string
	if page > 1 && last > 0 {
		parts = append(parts, l.page(min(page-1, last))+`; rel="prev"`)
	}
	if page < last {
		parts = append(parts, l.page(page+1)+`; rel="next"`)
	}
	if page < lastLink {
		parts = append(parts, l.page(lastLink)+`; rel="last"`)
	}
	if page > 1 && last > 0 {
		parts = append(parts, l.page(1)+`; rel="first"`)
	}
	return parts
}

func setLink(h http.Header, parts []string) {
	if len(parts) > 0 {
		h.Set("Link", strings.Join(parts, ", "))
	}
}

// Issue list sorting and cursors.

type issueOrder struct {
	sort string // created, updated, comments
	desc bool
}

func (o issueOrder) key(is *issue) int64 {
	switch o.sort {
	case "updated":
		return is.UpdatedAt.Unix()
	case "comments":
		return int64(is.Comments)
	}
	return is.CreatedAt.Unix()
}

// cmp orders by (key, number), both in the requested direction.
func (o issueOrder) cmp(ka int64, na int, kb int64, nb int) int {
	c := 0
	switch {
	case ka < kb:
		c = -1
	case ka > kb:
		c = 1
	case na < nb:
		c = -1
	case na > nb:
		c = 1
	}
	if o.desc {
		c = -c
	}
	return c
}

func (o issueOrder) cursor(is *issue) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("cursor:v2:%s:%d:%d", o.sort, o.key(is), is.Number)))
}

func (o issueOrder) parseCursor(s string) (key int64, number int, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, 0, false
	}
	parts := strings.Split(string(raw), ":")
	if len(parts) != 5 || parts[0] != "cursor" || parts[1] != "v2" || parts[2] != o.sort {
		return 0, 0, false
	}
	key, err1 := strconv.ParseInt(parts[3], 10, 64)
	number, err2 := strconv.Atoi(parts[4])
	return key, number, err1 == nil && err2 == nil
}

func (g *GitHub) listIssues(c *renderer, rp *repo, q url.Values, lk linker, f fakeapi.Faults, h http.Header) (int, []byte, http.Header) {
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		return validationFailed("Issue", "state", h)
	}
	ord := issueOrder{sort: q.Get("sort"), desc: q.Get("direction") != "asc"}
	if ord.sort == "" {
		ord.sort = "created"
	}
	if ord.sort != "created" && ord.sort != "updated" && ord.sort != "comments" {
		return validationFailed("Issue", "sort", h)
	}
	since, err := parseSince(q.Get("since"))
	if err != nil {
		return validationFailed("Issue", "since", h)
	}
	var labels []string
	if v := q.Get("labels"); v != "" {
		labels = strings.Split(v, ",")
	}
	msFilter, assignee, creator := q.Get("milestone"), q.Get("assignee"), q.Get("creator")

	var list []*issue
	for _, is := range rp.order {
		if state != "all" && is.State != state {
			continue
		}
		if !since.IsZero() && is.UpdatedAt.Before(since) {
			continue
		}
		if creator != "" && !strings.EqualFold(is.User, creator) {
			continue
		}
		match := true
		for _, l := range labels {
			if indexOf(is.Labels, strings.TrimSpace(l)) < 0 {
				match = false
			}
		}
		switch assignee {
		case "":
		case "*":
			match = match && len(is.Assignees) > 0
		case "none":
			match = match && len(is.Assignees) == 0
		default:
			match = match && indexOf(is.Assignees, assignee) >= 0
		}
		switch msFilter {
		case "":
		case "*":
			match = match && is.Milestone != ""
		case "none":
			match = match && is.Milestone == ""
		default:
			m := rp.msByTitle[is.Milestone]
			match = match && m != nil && strconv.Itoa(m.Number) == msFilter
		}
		if match {
			list = append(list, is)
		}
	}
	sort.SliceStable(list, func(i, j int) bool {
		return ord.cmp(ord.key(list[i]), list[i].Number, ord.key(list[j]), list[j].Number) < 0
	})
	per, page := pageParams(q)
	capPages := f.PageCapValue()
	render := func(items []*issue) []byte {
		out := make([]*wIssue, len(items))
		for i, is := range items {
			out[i] = c.issue(rp, is)
		}
		return fakeapi.Marshal(out)
	}

	if after := q.Get("after"); after != "" {
		key, num, ok := ord.parseCursor(after)
		if !ok {
			return validationFailed("Issue", "after", h)
		}
		start := sort.Search(len(list), func(i int) bool {
			return ord.cmp(ord.key(list[i]), list[i].Number, key, num) > 0
		})
		end := min(start+per, len(list))
		items := list[start:end]
		if end < len(list) {
			setLink(h, []string{lk.with(map[string]string{"after": ord.cursor(list[end-1])}) + `; rel="next"`})
		}
		return http.StatusOK, render(items), h
	}

	if page > capPages {
		return http.StatusUnprocessableEntity, errorBody(http.StatusUnprocessableEntity, MsgPageCap, "https://docs.github.com/rest/issues/issues#list-repository-issues"), h
	}
	last := (len(list) + per - 1) / per
	lo := min((page-1)*per, len(list))
	hi := min(lo+per, len(list))
	items := list[lo:hi]
	var parts []string
	if page > 1 && last > 0 {
		parts = append(parts, lk.page(min(page-1, last))+`; rel="prev"`)
	}
	if page < last {
		if page+1 <= capPages {
			parts = append(parts, lk.page(page+1)+`; rel="next"`)
		} else {
			parts = append(parts, lk.with(map[string]string{"after": ord.cursor(list[hi-1])})+`; rel="next"`)
		}
	}
	if page < last && last <= capPages {
		parts = append(parts, lk.page(last)+`; rel="last"`)
	}
	if page > 1 && last > 0 {
		parts = append(parts, lk.page(1)+`; rel="first"`)
	}
	setLink(h, parts)
	return http.StatusOK, render(items), h
}
