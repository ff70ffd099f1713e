package jira

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
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

// Jira deployments served by API.
const (
	Cloud      = "cloud"
	DataCenter = "datacenter"
)

// Endpoint names of the Jira handler in the request log (fakeapi.Request.Endpoint).
const (
	EndpointSearchJQL      = "jira_search_jql"          // GET|POST /rest/api/{2,3}/search/jql (Cloud)
	EndpointSearch         = "jira_search"              // GET|POST /rest/api/{2,3}/search (DC; 410 on Cloud)
	EndpointBulkChangelog  = "jira_changelog_bulkfetch" // POST /rest/api/3/changelog/bulkfetch (Cloud)
	EndpointIssueChangelog = "jira_issue_changelog"     // GET /rest/api/3/issue/{key}/changelog (Cloud)
	EndpointIssueComment   = "jira_issue_comment"       // GET /rest/api/{2,3}/issue/{key}/comment
	EndpointField          = "jira_field"               // GET /rest/api/{2,3}/field
	EndpointStatus         = "jira_status"              // GET /rest/api/{2,3}/status
	EndpointMyself         = "jira_myself"              // GET /rest/api/{2,3}/myself
)

// MsgJiraSearchRemoved is the verbatim body Jira Cloud answers (410 Gone) on
// the removed /rest/api/{2,3}/search (CHANGE-2046).
const MsgJiraSearchRemoved = `{"errorMessages":["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"]}`

// Jira limits the fake enforces.
const (
	ChangelogCap              = 40    // histories embedded by search/jql expand=changelog (the newest)
	CommentCap                = 20    // comments in search/jql's comment field (the first, oldest first)
	jiraIssueCommentMax       = 100   // issue comment page (maxResults cap and default)
	jiraSearchJQLDefault      = 50    // search/jql maxResults default
	jiraSearchJQLMaxFields    = 100   // search/jql page cap when fields other than id/key are requested
	jiraSearchJQLMaxIDs       = 5000  // search/jql page cap for id/key only
	jiraSearchDCMax           = 1000  // jira.search.views.default.max
	jiraBulkMaxIssues         = 1000  // bulkfetch issueIdsOrKeys
	jiraBulkMaxFields         = 10    // bulkfetch fieldIds
	jiraBulkDefault           = 1000  // bulkfetch maxResults default
	jiraBulkMax               = 10000 // bulkfetch maxResults max
	jiraIssueChangelogDefault = 100   // issue changelog page
)

// Options configure a API handler.
type Options struct {
	// Deployment is Cloud (default) or DataCenter.
	Deployment string
	// Users are HTTP Basic credentials: on Cloud email -> API token, on
	// Data Center user name -> password (still accepted there unless an
	// admin disabled it).
	Users map[string]string
	// Tokens are Data Center personal access tokens (Bearer).
	Tokens []string
	// NoAuth accepts any request.
	NoAuth bool
	// SearchLag makes search eventually consistent: changes younger than
	// this (on the site clock) are not yet visible to search/jql and
	// /search, which then return the issue's older state, or not the issue
	// at all when it was created within the lag. Changelog endpoints are
	// always current. At most one hour. The lag applies to changes made
	// after the first handler with a lag was created for the site (before
	// that the site keeps no per-change snapshots).
	SearchLag time.Duration
	// RateLimit is the request budget per credential and RateWindow
	// (defaults 10000 per minute, on the site clock). Past it: 429 with
	// Retry-After until the window ends.
	RateLimit  int
	RateWindow time.Duration
	// MaxLog bounds the request log (default 100000).
	MaxLog int
	// Faults are the initial fault knobs (see SetFaults). For Jira:
	// ServerErrorRate answers 503 with Retry-After; TooManyRate answers 429
	// with Retry-After and RateLimit-Reason: jira-burst-based; RetryAfter is
	// their Retry-After (default 5s; negative: no header); Latency,
	// SpikeRate, TruncateRate, MalformedRate and Seed as for GitHub;
	// NearLimit sends X-RateLimit-NearLimit: true. The GitHub-only knobs are
	// ignored.
	Faults fakeapi.Faults
}

// API is an http.Handler serving a Site as the Jira REST API of
// one deployment (Cloud or Data Center). Create it with NewAPI; all
// methods are safe for concurrent use while serving.
//
// Cloud: GET|POST /rest/api/{2,3}/search/jql (nextPageToken, isLast, no
// total; fields default to id only; expand=changelog embeds at most the 40
// newest histories with changelog.total; the comment field holds at most
// the first 20 comments with comment.total), POST
// /rest/api/3/changelog/bulkfetch, GET /rest/api/3/issue/{key}/changelog,
// GET /rest/api/{2,3}/issue/{key}/comment (startAt, maxResults up to 100,
// total), /field, /status, /myself; the
// removed /rest/api/{2,3}/search answers 410 with MsgJiraSearchRemoved.
// Comment bodies are Atlassian Document Format on /rest/api/3 and plain
// strings on /rest/api/2; the comment field is served only when asked for
// by name (or *all). Changelog items carry fieldId; `created` is an epoch-milliseconds number in
// bulkfetch and a string elsewhere. Auth: Basic email:API token.
//
// Data Center: GET|POST /rest/api/2/search (startAt, maxResults, total;
// expand=changelog embeds full histories, the comment field every comment),
// /rest/api/2/issue/{key}/comment, /rest/api/2/field, /status, /myself;
// search/jql, bulkfetch and /rest/api/3 answer 404. Changelog items
// carry no fieldId and assignee from/to are user names. Auth: Bearer PAT
// (or Basic user:password from Users).
type API struct {
	site *Site

	mu        sync.Mutex
	cloud     bool
	users     map[string]string
	tokens    map[string]bool
	noAuth    bool
	lag       time.Duration
	limit     int
	window    time.Duration
	faults    fakeapi.Faults
	rng       *rand.Rand
	nearLimit bool
	windows   map[string]*jiraWindow
	fakeapi.RequestLog
	// The last search's result, reused by the next page of the same walk.
	cacheKey  string
	cacheHits []jiraHit
	seq       int64
}

type jiraWindow struct {
	used  int
	reset time.Time
}

// NewAPI returns a handler serving site.
func NewAPI(site *Site, opts Options) *API {
	j := &API{
		site: site, cloud: opts.Deployment != DataCenter, users: map[string]string{}, tokens: map[string]bool{},
		noAuth: opts.NoAuth, lag: min(max(opts.SearchLag, 0), maxSearchLag), limit: opts.RateLimit, window: opts.RateWindow,
		windows: map[string]*jiraWindow{},
	}
	for e, t := range opts.Users {
		j.users[strings.ToLower(e)] = t
	}
	for _, t := range opts.Tokens {
		j.tokens[t] = true
	}
	if j.limit <= 0 {
		j.limit = 10000
	}
	if j.window <= 0 {
		j.window = time.Minute
	}
	j.RequestLog.Max = opts.MaxLog
	if j.RequestLog.Max <= 0 {
		j.RequestLog.Max = 100000
	}
	j.SetFaults(opts.Faults)
	if j.lag > 0 {
		site.trackSearchLag()
	}
	return j
}

// Site returns the site served.
func (j *API) Site() *Site { return j.site }

// SetFaults replaces the fault knobs and reseeds the fault RNG with f.Seed.
func (j *API) SetFaults(f fakeapi.Faults) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.faults = f
	j.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
}

// Faults returns the current fault knobs.
func (j *API) Faults() fakeapi.Faults {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.faults
}

// SetSearchLag changes the search lag (see Options.SearchLag).
func (j *API) SetSearchLag(d time.Duration) {
	if d > 0 {
		j.site.trackSearchLag()
	}
	j.mu.Lock()
	j.lag = min(max(d, 0), maxSearchLag)
	j.mu.Unlock()
}

// SetNearLimit forces X-RateLimit-NearLimit: true on every answer (it is
// also sent when less than 20% of a window's budget remains).
func (j *API) SetNearLimit(on bool) {
	j.mu.Lock()
	j.nearLimit = on
	j.mu.Unlock()
}

// SetRateLimit changes the budget per credential and window.
func (j *API) SetRateLimit(limit int) {
	j.mu.Lock()
	if limit > 0 {
		j.limit = limit
	}
	j.mu.Unlock()
}

func jiraErrorBody(msgs ...string) []byte {
	return fakeapi.Marshal(map[string]any{"errorMessages": msgs, "errors": map[string]string{}})
}

// jiraRoute is a parsed Jira REST path.
type jiraRoute struct {
	endpoint string
	version  string // "2" or "3"
	key      string // issue key (or id) for the changelog and comment endpoints
}

func parseJiraRoute(path string) jiraRoute {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	rt := jiraRoute{endpoint: fakeapi.EndpointUnknown}
	if len(seg) < 4 || seg[0] != "rest" || seg[1] != "api" || (seg[2] != "2" && seg[2] != "3") {
		return rt
	}
	rt.version = seg[2]
	tail := seg[3:]
	switch {
	case len(tail) == 1 && tail[0] == "search":
		rt.endpoint = EndpointSearch
	case len(tail) == 2 && tail[0] == "search" && tail[1] == "jql":
		rt.endpoint = EndpointSearchJQL
	case len(tail) == 2 && tail[0] == "changelog" && tail[1] == "bulkfetch":
		rt.endpoint = EndpointBulkChangelog
	case len(tail) == 3 && tail[0] == "issue" && tail[2] == "changelog" && tail[1] != "":
		rt.endpoint, rt.key = EndpointIssueChangelog, tail[1]
	case len(tail) == 3 && tail[0] == "issue" && tail[2] == "comment" && tail[1] != "":
		rt.endpoint, rt.key = EndpointIssueComment, tail[1]
	case len(tail) == 1 && tail[0] == "field":
		rt.endpoint = EndpointField
	case len(tail) == 1 && tail[0] == "status":
		rt.endpoint = EndpointStatus
	case len(tail) == 1 && tail[0] == "myself":
		rt.endpoint = EndpointMyself
	case len(tail) == 1 && tail[0] == "issueLinkType":
		rt.endpoint = EndpointIssueLinkType
	}
	return rt
}

// allowed reports whether the deployment serves the route with the method.
func (j *API) allowed(rt jiraRoute, method string) bool {
	get, post := method == http.MethodGet || method == http.MethodHead, method == http.MethodPost
	if !j.cloud && rt.version == "3" {
		return false
	}
	switch rt.endpoint {
	case EndpointSearchJQL:
		return j.cloud && (get || post)
	case EndpointSearch:
		return get || post
	case EndpointBulkChangelog:
		return j.cloud && rt.version == "3" && post
	case EndpointIssueChangelog:
		return j.cloud && rt.version == "3" && get
	case EndpointField, EndpointStatus, EndpointMyself, EndpointIssueComment, EndpointIssueLinkType:
		return get
	}
	return false
}

// authenticate returns the credential's identity (email or PAT) and whether
// it is valid.
func (j *API) authenticate(r *http.Request) (string, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", j.noAuth
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "basic"):
		b, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return "", j.noAuth
		}
		email, tok, _ := strings.Cut(string(b), ":")
		want, ok := j.users[strings.ToLower(email)]
		return email, j.noAuth || (ok && tok != "" && tok == want)
	case !j.cloud && strings.EqualFold(scheme, "bearer"):
		return cred, j.noAuth || j.tokens[cred]
	}
	return "", j.noAuth
}

// ServeHTTP answers one request; see the API documentation.
func (j *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := fakeapi.Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, 8<<20))
	}
	j.mu.Lock()
	f := j.faults
	spikeDraw, rateDraw, errDraw, bodyDraw := j.rng.Float64(), j.rng.Float64(), j.rng.Float64(), j.rng.Float64()
	j.mu.Unlock()
	fault, ok := f.Delay(r.Context(), spikeDraw)
	rec.Fault = fault
	if !ok {
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	rep := j.decide(r, body, &rec, scheme+"://"+r.Host, rateDraw, errDraw, bodyDraw)
	h := w.Header()
	for k, v := range rep.header {
		h[k] = v
	}
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(rep.body)
	}
}

// retryAfter is Faults.RetryAfter with Jira's default (5 s; < 0: no header).
func retryAfter(f fakeapi.Faults) (time.Duration, bool) {
	switch {
	case f.RetryAfter == 0:
		return 5 * time.Second, true
	case f.RetryAfter < 0:
		return 5 * time.Second, false
	}
	return f.RetryAfter, true
}

// reply is a fully decided answer.
type reply struct {
	status int
	body   []byte
	header http.Header
}

func (j *API) decide(r *http.Request, body []byte, rec *fakeapi.Request, base string, rateDraw, errDraw, bodyDraw float64) (rep reply) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.site.now()
	j.seq++
	rec.ID, rec.Time = j.seq, now
	rep.header = http.Header{}
	rep.header.Set("X-Arequestid", fmt.Sprintf("fa%08x", j.seq))
	rep.header.Set("X-Content-Type-Options", "nosniff")
	defer func() {
		rec.Status = rep.status
		j.Record(*rec)
	}()
	rt := parseJiraRoute(r.URL.Path)
	rec.Endpoint = rt.endpoint

	who, ok := j.authenticate(r)
	rec.Token = who
	if !ok {
		rep.status = http.StatusUnauthorized
		if j.cloud {
			rep.header.Set("WWW-Authenticate", `Basic realm="protected-area"`)
		}
		rep.body = jiraErrorBody("You are not authenticated. Authentication required to perform this operation.")
		return rep
	}

	// Rate-limit window and headers.
	win := j.windows[who]
	if win == nil || !now.Before(win.reset) {
		win = &jiraWindow{reset: now.Add(j.window)}
		j.windows[who] = win
	}
	f := j.faults
	setRate := func() {
		rem := max(0, j.limit-win.used)
		rep.header.Set("X-RateLimit-Limit", strconv.Itoa(j.limit))
		rep.header.Set("X-RateLimit-Remaining", strconv.Itoa(rem))
		rep.header.Set("X-RateLimit-Reset", win.reset.UTC().Format("2006-01-02T15:04Z"))
		if j.nearLimit || f.NearLimit || rem*5 < j.limit {
			rep.header.Set("X-RateLimit-NearLimit", "true")
		}
	}
	defer setRate()
	retry, withHeader := retryAfter(f)
	tooMany := func(wait time.Duration, reason string) reply {
		rec.Fault = "429"
		rep.status = http.StatusTooManyRequests
		rep.header.Set("RateLimit-Reason", reason)
		if withHeader {
			rep.header.Set("Retry-After", strconv.FormatInt(max(1, int64((wait+time.Second-1)/time.Second)), 10))
		}
		rep.body = jiraErrorBody("Rate limit exceeded.")
		return rep
	}
	if win.used >= j.limit {
		withHeader = true
		return tooMany(win.reset.Sub(now), "jira-burst-based")
	}
	win.used++
	if rateDraw < f.TooManyRate {
		return tooMany(retry, "jira-burst-based")
	}
	if errDraw < f.ServerErrorRate {
		rec.Fault = "5xx"
		rep.status = http.StatusServiceUnavailable
		if withHeader {
			rep.header.Set("Retry-After", strconv.FormatInt(max(1, int64(retry/time.Second)), 10))
		}
		rep.body = jiraErrorBody("Service Unavailable")
		return rep
	}

	if rt.endpoint == EndpointSearch && j.cloud {
		rep.status, rep.body = http.StatusGone, []byte(MsgJiraSearchRemoved)
		return rep
	}
	if !j.allowed(rt, r.Method) {
		rep.status = http.StatusNotFound
		rep.body = jiraErrorBody("null for uri: " + base + r.URL.Path)
		return rep
	}
	rep.status, rep.body = j.serve(r, body, rt, base, now)
	if rep.status == http.StatusOK {
		switch {
		case bodyDraw < f.TruncateRate:
			rec.Fault = "truncate"
			rep.body = rep.body[:len(rep.body)/2]
		case bodyDraw < f.TruncateRate+f.MalformedRate:
			rec.Fault = "malformed"
			mid := len(rep.body) / 2
			rep.body = append(append(append([]byte(nil), rep.body[:mid]...), "\"}{,"...), rep.body[mid:]...)
		}
	}
	return rep
}

// searchParams are the parameters of both search endpoints.
type searchParams struct {
	JQL           string   `json:"jql"`
	NextPageToken string   `json:"nextPageToken"`
	StartAt       int      `json:"startAt"`
	MaxResults    *int     `json:"maxResults"`
	Fields        []string `json:"fields"`
	Expand        any      `json:"expand"` // string (search/jql) or []string (DC /search)
	expand        []string
}

func parseSearchParams(r *http.Request, body []byte) (searchParams, error) {
	var p searchParams
	if r.Method == http.MethodPost {
		if err := json.Unmarshal(body, &p); err != nil {
			return p, fmt.Errorf("Invalid request payload. Refer to the REST API documentation and try again.")
		}
		switch e := p.Expand.(type) {
		case string:
			p.expand = splitList(e)
		case []any:
			for _, v := range e {
				if s, ok := v.(string); ok {
					p.expand = append(p.expand, splitList(s)...)
				}
			}
		}
		return p, nil
	}
	q := r.URL.Query()
	p.JQL, p.NextPageToken = q.Get("jql"), q.Get("nextPageToken")
	if v := q.Get("startAt"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, fmt.Errorf("The value '%s' is invalid for startAt.", v)
		}
		p.StartAt = n
	}
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, fmt.Errorf("The value '%s' is invalid for maxResults.", v)
		}
		p.MaxResults = &n
	}
	for _, v := range q["fields"] {
		p.Fields = append(p.Fields, splitList(v)...)
	}
	for _, v := range q["expand"] {
		p.expand = append(p.expand, splitList(v)...)
	}
	return p, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (j *API) serve(r *http.Request, body []byte, rt jiraRoute, base string, now time.Time) (int, []byte) {
	s := j.site
	s.mu.RLock()
	defer s.mu.RUnlock()
	rn := &jiraRenderer{s: s, base: base, version: rt.version, cloud: j.cloud, tz: s.tz()}
	bad := func(msg string) (int, []byte) { return http.StatusBadRequest, jiraErrorBody(msg) }
	switch rt.endpoint {
	case EndpointField:
		out := make([]map[string]any, 0, len(s.fields))
		for _, f := range s.fields {
			out = append(out, rn.field(f))
		}
		return http.StatusOK, fakeapi.Marshal(out)
	case EndpointStatus:
		out := make([]map[string]any, 0, len(s.statuses))
		for _, st := range s.statuses {
			out = append(out, rn.status(st))
		}
		return http.StatusOK, fakeapi.Marshal(out)
	case EndpointIssueLinkType:
		return http.StatusOK, fakeapi.Marshal(rn.linkTypes())
	case EndpointMyself:
		u := &User{AccountID: "fake-api-user", DisplayName: "API user", Name: "api-user", Key: "api-user"}
		m := rn.user(u)
		m["timeZone"] = s.tz().String()
		return http.StatusOK, fakeapi.Marshal(m)
	case EndpointSearchJQL, EndpointSearch:
		p, err := parseSearchParams(r, body)
		if err != nil {
			return bad(err.Error())
		}
		return j.search(rn, p, rt.endpoint == EndpointSearchJQL, now)
	case EndpointBulkChangelog:
		return j.bulkChangelog(rn, body)
	case EndpointIssueChangelog:
		is := s.issueByKeyOrID(rt.key)
		if is == nil {
			return http.StatusNotFound, jiraErrorBody("Issue does not exist or you do not have permission to see it.")
		}
		start, end, maxR := pageWindow(r.URL.Query(), len(is.histories), jiraIssueChangelogDefault)
		vals := make([]map[string]any, 0, end-start)
		for _, h := range is.histories[start:end] {
			vals = append(vals, rn.history(h, false, nil))
		}
		self := fmt.Sprintf("%s/rest/api/3/issue/%s/changelog?startAt=%d&maxResults=%d", base, is.cur.Key, start, maxR)
		out := map[string]any{"self": self, "maxResults": maxR, "startAt": start, "total": len(is.histories),
			"isLast": end >= len(is.histories), "values": vals}
		if end < len(is.histories) {
			out["nextPage"] = fmt.Sprintf("%s/rest/api/3/issue/%s/changelog?&startAt=%d&maxResults=%d", base, is.cur.Key, end, maxR)
		}
		return http.StatusOK, fakeapi.Marshal(out)
	case EndpointIssueComment:
		is := s.issueByKeyOrID(rt.key)
		if is == nil {
			return http.StatusNotFound, jiraErrorBody("Issue does not exist or you do not have permission to see it.")
		}
		start, end, maxR := pageWindow(r.URL.Query(), len(is.comments), jiraIssueCommentMax)
		list := make([]map[string]any, 0, end-start)
		for _, c := range is.comments[start:end] {
			list = append(list, rn.comment(is, c))
		}
		return http.StatusOK, fakeapi.Marshal(map[string]any{"startAt": start, "maxResults": maxR, "total": len(is.comments), "comments": list})
	}
	return http.StatusNotFound, jiraErrorBody("null for uri: " + base + r.URL.Path)
}

func pageToken(kind string, offset int, fingerprint string) string {
	h := fnv.New64a()
	h.Write([]byte(fingerprint))
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%s:%d:%x", kind, offset, h.Sum64())))
}

func parsePageToken(tok, kind, fingerprint string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != kind {
		return 0, false
	}
	n, err := strconv.Atoi(parts[1])
	h := fnv.New64a()
	h.Write([]byte(fingerprint))
	if err != nil || n < 0 || parts[2] != fmt.Sprintf("%x", h.Sum64()) {
		return 0, false
	}
	return n, true
}

func (j *API) search(rn *jiraRenderer, p searchParams, jql bool, now time.Time) (int, []byte) {
	s := j.site
	q, err := parseJQL(p.JQL, s.tz())
	if err != nil {
		return http.StatusBadRequest, jiraErrorBody(err.Error())
	}
	if jql && q.where == nil {
		return http.StatusBadRequest, jiraErrorBody("Unbounded JQL queries are not allowed here. Please add a search restriction to your query.")
	}
	if v := unknownProject(q.where, s); v != "" {
		return http.StatusBadRequest, jiraErrorBody(fmt.Sprintf("The value '%s' does not exist for the field 'project'.", v))
	}
	env := &jqlEnv{now: now, tz: s.tz()}
	cut := now.Add(-j.lag)
	// A walk over pages of one query reuses the first page's result while
	// the site is unchanged (and, for relative dates or a search lag, the
	// clock too): large simulated sites are searched page by page.
	key := fmt.Sprintf("%s|%d|%v", p.JQL, s.version, j.lag)
	if hasRelative(q.where) || j.lag > 0 {
		key += "|" + now.Format(time.RFC3339Nano)
	}
	var hits []jiraHit
	if j.cacheKey == key {
		hits = j.cacheHits
	} else {
		for _, is := range s.issues {
			st, nHist, nComm, ok := is.visible(cut, j.lag > 0)
			if !ok {
				continue
			}
			if q.where == nil || q.where.eval(env, st) {
				hits = append(hits, jiraHit{is, st, nHist, nComm})
			}
		}
		if len(q.order) > 0 && !(len(q.order) == 1 && q.order[0].field != "updated" && q.order[0].field != "created" && !q.order[0].desc) {
			sort.SliceStable(hits, func(a, b int) bool {
				x, y := &hits[a], &hits[b]
				for _, o := range q.order {
					var c int
					switch o.field {
					case "updated":
						c = x.st.Updated.Compare(y.st.Updated)
					case "created":
						c = x.st.Created.Compare(y.st.Created)
					default: // id, key
						c = cmpInt(x.is.idNum, y.is.idNum)
					}
					if o.desc {
						c = -c
					}
					if c != 0 {
						return c < 0
					}
				}
				return false
			})
		}
		j.cacheKey, j.cacheHits = key, hits
	}
	fields := map[string]bool{}
	idOnly := true
	for _, f := range p.Fields {
		fields[f] = true
		if f != "id" && f != "key" {
			idOnly = false
		}
	}
	if !jql && len(p.Fields) == 0 {
		fields["*navigable"], idOnly = true, false
	}
	expandCL := false
	for _, e := range p.expand {
		if e == "changelog" {
			expandCL, idOnly = true, false
		}
	}
	capN := jiraSearchDCMax
	def := 50
	if jql {
		def, capN = jiraSearchJQLDefault, jiraSearchJQLMaxFields
		if idOnly {
			capN = jiraSearchJQLMaxIDs
		}
	}
	n := def
	if p.MaxResults != nil && *p.MaxResults > 0 {
		n = *p.MaxResults
	}
	n = min(n, capN)
	start := p.StartAt
	fp := p.JQL + "|" + strings.Join(p.Fields, ",")
	if jql {
		start = 0
		if p.NextPageToken != "" {
			off, ok := parsePageToken(p.NextPageToken, "s", fp)
			if !ok {
				return http.StatusBadRequest, jiraErrorBody("The provided next page token is invalid or expired.")
			}
			start = off
		}
	}
	start = min(start, len(hits))
	end := min(len(hits), start+n)
	issues := make([]map[string]any, 0, end-start)
	for _, h := range hits[start:end] {
		issues = append(issues, rn.issue(h.is, h.st, h.nHist, h.nComm, fields, expandCL, jql && len(p.Fields) == 0))
	}
	if jql {
		out := map[string]any{"issues": issues, "isLast": end >= len(hits)}
		if end < len(hits) {
			out["nextPageToken"] = pageToken("s", end, fp)
		}
		return http.StatusOK, fakeapi.Marshal(out)
	}
	return http.StatusOK, fakeapi.Marshal(map[string]any{"expand": "schema,names", "startAt": start, "maxResults": n,
		"total": len(hits), "issues": issues})
}

// unknownProject returns the first project value of the query that is not a
// project of the site (Jira rejects those with a 400), or "".
func unknownProject(n jqlNode, s *Site) string {
	switch n := n.(type) {
	case jqlAnd:
		if v := unknownProject(n.a, s); v != "" {
			return v
		}
		return unknownProject(n.b, s)
	case jqlOr:
		if v := unknownProject(n.a, s); v != "" {
			return v
		}
		return unknownProject(n.b, s)
	case jqlNot:
		return unknownProject(n.a, s)
	case jqlSet:
		if n.field == "project" {
			for _, v := range n.values {
				if s.projects[strings.ToUpper(v)] == nil {
					return v
				}
			}
		}
	}
	return ""
}

// jiraHit is an issue a search matched, in the state the search saw.
type jiraHit struct {
	is    *jiraIssue
	st    *Issue
	nHist int
	nComm int
}

func hasRelative(n jqlNode) bool {
	switch n := n.(type) {
	case jqlAnd:
		return hasRelative(n.a) || hasRelative(n.b)
	case jqlOr:
		return hasRelative(n.a) || hasRelative(n.b)
	case jqlNot:
		return hasRelative(n.a)
	case jqlDate:
		return n.isRel
	}
	return false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type bulkRequest struct {
	IssueIDsOrKeys []string `json:"issueIdsOrKeys"`
	FieldIDs       []string `json:"fieldIds"`
	MaxResults     *int     `json:"maxResults"`
	NextPageToken  string   `json:"nextPageToken"`
}

func (j *API) bulkChangelog(rn *jiraRenderer, body []byte) (int, []byte) {
	s := j.site
	var req bulkRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return http.StatusBadRequest, jiraErrorBody("Invalid request payload. Refer to the REST API documentation and try again.")
	}
	if len(req.IssueIDsOrKeys) < 1 || len(req.IssueIDsOrKeys) > jiraBulkMaxIssues {
		return http.StatusBadRequest, jiraErrorBody(fmt.Sprintf("issueIdsOrKeys must contain between 1 and %d items.", jiraBulkMaxIssues))
	}
	if len(req.FieldIDs) > jiraBulkMaxFields {
		return http.StatusBadRequest, jiraErrorBody(fmt.Sprintf("fieldIds must contain at most %d items.", jiraBulkMaxFields))
	}
	seenField := map[string]bool{}
	for _, f := range req.FieldIDs {
		if seenField[f] {
			return http.StatusBadRequest, jiraErrorBody("fieldIds must be unique.")
		}
		seenField[f] = true
	}
	maxR := jiraBulkDefault
	if req.MaxResults != nil {
		maxR = *req.MaxResults
	}
	if maxR < 1 {
		maxR = jiraBulkDefault
	}
	maxR = min(maxR, jiraBulkMax)
	fp := strings.Join(req.IssueIDsOrKeys, ",") + "|" + strings.Join(req.FieldIDs, ",")
	start := 0
	if req.NextPageToken != "" {
		off, ok := parsePageToken(req.NextPageToken, "c", fp)
		if !ok {
			return http.StatusBadRequest, jiraErrorBody("The provided next page token is invalid or expired.")
		}
		start = off
	}
	var refs []jiraHistRef
	seen := map[*jiraIssue]bool{}
	for _, k := range req.IssueIDsOrKeys {
		is := s.issueByKeyOrID(k)
		if is == nil || seen[is] {
			continue
		}
		seen[is] = true
		for _, h := range is.histories {
			if len(seenField) == 0 || historyHas(h, seenField) {
				refs = append(refs, jiraHistRef{is, h})
			}
		}
	}
	sortHistRefs(refs)
	start = min(start, len(refs))
	end := min(len(refs), start+maxR)
	var logs []map[string]any
	var cur *jiraIssue
	var hs []map[string]any
	flush := func() {
		if cur != nil {
			logs = append(logs, map[string]any{"issueId": cur.cur.ID, "changeHistories": hs})
		}
	}
	for _, ref := range refs[start:end] {
		if ref.is != cur {
			flush()
			cur, hs = ref.is, nil
		}
		hs = append(hs, rn.history(ref.h, true, seenField))
	}
	flush()
	out := map[string]any{"issueChangeLogs": nonNilMaps(logs)}
	if end < len(refs) {
		out["nextPageToken"] = pageToken("c", end, fp)
	}
	return http.StatusOK, fakeapi.Marshal(out)
}

func nonNilMaps(l []map[string]any) []map[string]any {
	if l == nil {
		return []map[string]any{}
	}
	return l
}

func historyHas(h *History, fields map[string]bool) bool {
	for _, it := range h.Items {
		if fields[it.FieldID] {
			return true
		}
	}
	return false
}

// jiraRenderer renders site objects in one deployment's JSON shapes. It is
// used under the site read lock.
type jiraRenderer struct {
	s       *Site
	base    string
	version string
	cloud   bool
	tz      *time.Location
}

func (rn *jiraRenderer) api() string { return rn.base + "/rest/api/" + rn.version }

func (rn *jiraRenderer) time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.In(rn.tz).Format(TimeLayout)
}

var jiraCategories = map[string]map[string]any{
	CategoryNew:           {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
	CategoryIndeterminate: {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
	CategoryDone:          {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}

func (rn *jiraRenderer) status(st *Status) map[string]any {
	c := jiraCategories[st.Category]
	cat := map[string]any{"self": fmt.Sprintf("%s/statuscategory/%v", rn.api(), c["id"])}
	for k, v := range c {
		cat[k] = v
	}
	return map[string]any{
		"self": rn.api() + "/status/" + st.ID, "description": "", "iconUrl": rn.base + "/images/icons/statuses/generic.png",
		"name": st.Name, "id": st.ID, "statusCategory": cat,
	}
}

func (rn *jiraRenderer) field(f *Field) map[string]any {
	schema := map[string]any{"type": f.SchemaType}
	if f.Custom {
		schema["custom"] = f.SchemaCustom
		if n, err := strconv.Atoi(strings.TrimPrefix(f.ID, "customfield_")); err == nil {
			schema["customId"] = n
		}
	} else {
		schema["system"] = f.ID
	}
	clause := []string{strings.ToLower(f.ID)}
	if f.Custom {
		clause = []string{f.Name, "cf[" + strings.TrimPrefix(f.ID, "customfield_") + "]"}
	}
	return map[string]any{"id": f.ID, "key": f.ID, "name": f.Name, "custom": f.Custom, "orderable": true,
		"navigable": true, "searchable": true, "clauseNames": clause, "schema": schema}
}

func (rn *jiraRenderer) user(u *User) map[string]any {
	m := map[string]any{"displayName": u.DisplayName, "active": true, "timeZone": "UTC"}
	if u.Email != "" {
		m["emailAddress"] = u.Email
	}
	if rn.cloud {
		m["self"] = rn.api() + "/user?accountId=" + url.QueryEscape(u.AccountID)
		m["accountId"] = u.AccountID
		m["accountType"] = "atlassian"
	} else {
		m["self"] = rn.api() + "/user?username=" + url.QueryEscape(u.Name)
		m["name"] = u.Name
		m["key"] = u.Key
	}
	return m
}

func (rn *jiraRenderer) userRef(accountID string) any {
	if accountID == "" {
		return nil
	}
	if u := rn.s.users[accountID]; u != nil {
		return rn.user(u)
	}
	return rn.user(&User{AccountID: accountID, DisplayName: accountID, Name: accountID, Key: accountID})
}

// userName is what a Data Center changelog shows for a user in from/to.
func (rn *jiraRenderer) userName(accountID string) string {
	if u := rn.s.users[accountID]; u != nil {
		return u.Name
	}
	return accountID
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// history renders a changelog history; epoch renders `created` as epoch
// milliseconds (bulkfetch), only keeps items of the given fields when set.
func (rn *jiraRenderer) history(h *History, epoch bool, only map[string]bool) map[string]any {
	items := make([]map[string]any, 0, len(h.Items))
	for _, it := range h.Items {
		if len(only) > 0 && !only[it.FieldID] {
			continue
		}
		from, to := it.From, it.To
		if !rn.cloud && it.FieldID == FieldAssignee {
			if from != "" {
				from = rn.userName(from)
			}
			if to != "" {
				to = rn.userName(to)
			}
		}
		m := map[string]any{"field": it.Field, "fieldtype": it.FieldType, "from": nullable(from),
			"fromString": nullable(it.FromString), "to": nullable(to), "toString": nullable(it.ToString)}
		if rn.cloud {
			m["fieldId"] = it.FieldID
		}
		items = append(items, m)
	}
	out := map[string]any{"id": h.ID, "items": items}
	if h.Author != "" {
		out["author"] = rn.userRef(h.Author)
	}
	if epoch {
		out["created"] = h.Created.UnixMilli()
	} else {
		out["created"] = rn.time(h.Created)
	}
	return out
}

// comment renders a comment; the body is a plain string on v2 and an
// Atlassian Document Format document on v3, as Jira serves them.
func (rn *jiraRenderer) comment(is *jiraIssue, c *Comment) map[string]any {
	var body any = c.Body
	if rn.version == "3" {
		body = map[string]any{"type": "doc", "version": 1, "content": []any{
			map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": c.Body}}}}}
	}
	return map[string]any{"self": rn.api() + "/issue/" + is.cur.ID + "/comment/" + c.ID, "id": c.ID,
		"author": rn.userRef(c.Author), "updateAuthor": rn.userRef(c.Author), "body": body,
		"created": rn.time(c.Created), "updated": rn.time(c.Updated), "jsdPublic": true}
}

func (rn *jiraRenderer) issueType(name string) map[string]any {
	level, sub := 0, false
	switch strings.ToLower(name) {
	case "epic":
		level = 1
	case "sub-task", "subtask":
		level, sub = -1, true
	}
	return map[string]any{"self": rn.api() + "/issuetype/" + optionID(name), "id": optionID(name), "description": "",
		"name": name, "subtask": sub, "hierarchyLevel": level}
}

// issue renders an issue in state sn. idOnly renders just {"id"} (Cloud
// search/jql without fields).
func (rn *jiraRenderer) issue(is *jiraIssue, st *Issue, nHist, nComm int, fields map[string]bool, changelog, idOnly bool) map[string]any {
	if idOnly {
		return map[string]any{"id": st.ID}
	}
	out := map[string]any{"expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
		"id": st.ID, "self": rn.api() + "/issue/" + st.ID, "key": st.Key}
	all := fields["*all"] || fields["*navigable"]
	want := func(f string) bool { return all || fields[f] }
	p := rn.s.projects[strings.ToUpper(st.Project)]
	fm := map[string]any{}
	if want("summary") {
		fm["summary"] = st.Summary
	}
	if want("status") {
		if s := rn.s.statusLocked(st.Status); s != nil {
			fm["status"] = rn.status(s)
		}
	}
	if want("assignee") {
		fm["assignee"] = rn.userRef(st.Assignee)
	}
	if want("reporter") {
		fm["reporter"] = rn.userRef(st.Reporter)
	}
	if want("created") {
		fm["created"] = rn.time(st.Created)
	}
	if want("updated") {
		fm["updated"] = rn.time(st.Updated)
	}
	if want("resolutiondate") {
		fm["resolutiondate"] = rn.time(st.Resolved)
	}
	if want("resolution") {
		if st.Resolution == "" {
			fm["resolution"] = nil
		} else {
			fm["resolution"] = map[string]any{"self": rn.api() + "/resolution/" + optionID(st.Resolution), "id": optionID(st.Resolution), "name": st.Resolution, "description": ""}
		}
	}
	if want("duedate") {
		if st.DueDate.IsZero() {
			fm["duedate"] = nil
		} else {
			fm["duedate"] = st.DueDate.Format("2006-01-02")
		}
	}
	if want("issuetype") {
		fm["issuetype"] = rn.issueType(st.Type)
	}
	if want("project") && p != nil {
		fm["project"] = map[string]any{"self": rn.api() + "/project/" + p.ID, "id": p.ID, "key": p.Key, "name": p.Name, "projectTypeKey": "software"}
	}
	if want("components") {
		cs := make([]map[string]any, 0, len(st.Components))
		for _, c := range st.Components {
			id := ""
			if p != nil {
				id = p.components[strings.ToLower(c)]
			}
			cs = append(cs, map[string]any{"self": rn.api() + "/component/" + id, "id": id, "name": c})
		}
		fm["components"] = cs
	}
	if want("fixVersions") {
		vs := make([]map[string]any, 0, len(st.FixVersions))
		for _, name := range st.FixVersions {
			var v *Version
			if p != nil {
				v = p.version(name)
			}
			if v == nil {
				continue
			}
			m := map[string]any{"self": rn.api() + "/version/" + v.ID, "id": v.ID, "description": "", "name": v.Name,
				"archived": v.Archived, "released": v.Released}
			if !v.ReleaseDate.IsZero() {
				m["releaseDate"] = v.ReleaseDate.Format("2006-01-02")
			}
			vs = append(vs, m)
		}
		fm["fixVersions"] = vs
	}
	if want("labels") {
		fm["labels"] = append([]string{}, st.Labels...)
	}
	if want("issuelinks") {
		fm["issuelinks"] = rn.issueLinks(st)
	}
	if want("parent") && st.Parent != "" {
		if par := rn.s.byKey[strings.ToUpper(st.Parent)]; par != nil {
			pf := map[string]any{"summary": par.cur.Summary, "issuetype": rn.issueType(par.cur.Type)}
			if s := rn.s.statusLocked(par.cur.Status); s != nil {
				pf["status"] = rn.status(s)
			}
			fm["parent"] = map[string]any{"id": par.cur.ID, "key": par.cur.Key, "self": rn.api() + "/issue/" + par.cur.ID, "fields": pf}
		}
	}
	if tf := rn.s.teamField(); tf != nil && want(tf.ID) {
		if st.TeamValue == "" {
			fm[tf.ID] = nil
		} else {
			fm[tf.ID] = map[string]any{"self": rn.api() + "/customFieldOption/" + optionID(st.TeamValue), "value": st.TeamValue, "id": optionID(st.TeamValue)}
		}
	}
	// comment is not navigable here: only an explicit request (or *all)
	// gets it, so default searches stay as small as before.
	if fields["comment"] || fields["*all"] {
		cs := is.comments[:min(nComm, len(is.comments))]
		total := len(cs)
		if rn.cloud && len(cs) > CommentCap {
			cs = cs[:CommentCap]
		}
		list := make([]map[string]any, 0, len(cs))
		for _, c := range cs {
			list = append(list, rn.comment(is, c))
		}
		fm["comment"] = map[string]any{"comments": list, "self": rn.api() + "/issue/" + st.ID + "/comment",
			"maxResults": len(cs), "total": total, "startAt": 0}
	}
	out["fields"] = fm
	if changelog {
		hs := is.histories[:min(nHist, len(is.histories))]
		total := len(hs)
		if rn.cloud && len(hs) > ChangelogCap {
			hs = hs[len(hs)-ChangelogCap:]
		}
		list := make([]map[string]any, 0, len(hs))
		for _, h := range hs {
			list = append(list, rn.history(h, false, nil))
		}
		out["changelog"] = map[string]any{"startAt": 0, "maxResults": len(hs), "total": total, "histories": list}
	}
	return out
}

// pageWindow reads startAt/maxResults of an offset-paged list of n entries
// (maxResults capped at limit, which is also the default) and returns the
// slice bounds and the page size.
func pageWindow(q url.Values, n, limit int) (start, end, maxR int) {
	start, _ = strconv.Atoi(q.Get("startAt"))
	maxR = limit
	if v, err := strconv.Atoi(q.Get("maxResults")); err == nil && v > 0 {
		maxR = min(v, limit)
	}
	start = max(0, min(start, n))
	return start, min(n, start+maxR), maxR
}
