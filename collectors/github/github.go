// Package github is crossteam's GitHub collector: one Collector per
// configured GitHub (or GitHub Enterprise) target.
//
// History through GraphQL (graphql: auto or on, the default; graphql.go,
// graphql_sync.go): per repository the issues list, newest first and
// conditional on the last walk's ETag, says what changed (a 304 ends the
// repository's sync for free); the timelines of each page's items
// (labels, assignments, review requests and removals, reviews, comments,
// closes, reopens, merges, milestones) come in one aliased GraphQL query
// (githubv4) of about one point, stored with the page in one transaction;
// items with more than a page of timeline are continued alone. GraphQL's
// point budget is tracked beside the REST budget in the same transport,
// RATE_LIMITED answers are waited out, timeouts shrink the query. A 404 on
// /graphql under auto switches to the REST path below, with one log line.
// Both paths store identical events (ids included).
//
// The REST path (graphql: off, or the fallback): Sync fetches, per
// repository and incrementally from the cursors in the store, the issues and
// pull requests (updated since the last sync), the repository issue events
// feed (newest first, down to the last stored event id), issue comments
// (updated since the last sync), milestones, the reviews of pull requests
// that had a review requested, and the members of the GitHub teams the
// configured teams expand, and writes them to the store one page per
// transaction.
//
// Cost. Every "anything new?" probe is a conditional request (If-None-Match
// with the ETag stored for exactly that URL), so a sync in which nothing
// changed is answered by 304s only and spends no primary rate limit. The
// `since` watermarks are pinned to the last seen updated_at so the probe
// URL is byte-identical between runs; when a sync moves a watermark it
// fetches the first page once more at the new watermark to learn that URL's
// ETag (one extra request per changed list).
//
// Concurrency. Up to sources.github[].concurrency repositories (default
// 1) sync at once, each with one request in flight; within a
// repository's GraphQL walk a page is written while the next is fetched.
// The repositories share one rate-limit view: every wait is everybody's.
//
// Rate limits are handled below go-github in a RoundTripper: secondary
// limits (403/429 with Retry-After) are waited out and retried, primary
// exhaustion waits until X-RateLimit-Reset (no request is sent before it),
// transient 5xx are retried with capped exponential backoff and jitter.
//
// Pagination follows the raw Link rel="next" URL, so the cursor (after=)
// form GitHub switches to past 100 pages of issues is followed too. A 422
// "pagination is limited" on the events feed is the history horizon: the
// issues created before the oldest event reached get their per-issue event
// list fetched once.
package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"
	"github.com/shurcooL/githubv4"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/internal/cpulane"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/resilience"
	"github.com/crossteam/crossteam/store"
)

// Options configure a Collector.
type Options struct {
	Config    *config.Config       // whole config: teams (for GitHub team expansion), sync.since
	Target    *config.GitHubSource // this target
	Store     *store.Store
	Transport http.RoundTripper // base transport (the caller passes one that counts requests); nil = http.DefaultTransport
	Logger    *slog.Logger
	Now       func() time.Time // nil = time.Now
	// Owns selects the repositories whose issues, events, comments and
	// reviews this exporter syncs (--shard); nil = all. Milestones are
	// synced for every repository (one conditional request each), so that
	// every shard knows each milestone's due date and completion.
	Owns func(repo string) bool
}

// Collector syncs one GitHub target into the store. It implements
// collectors.Target. Sync must not be called concurrently with itself;
// inside a Sync up to Target.Workers() repositories sync at once, so
// everything a repository sync touches here is safe for concurrent use:
// the rate-limit state (rateTransport, under its mutex), the GraphQL
// mode (atomic), query limits (gqlMu) and counters (atomic); the rest is
// set by New and only read.
type Collector struct {
	cfg    *config.Config
	target *config.GitHubSource
	store  *store.Store
	client *gh.Client
	rt     *rateTransport
	scrub  *resilience.Scrubber // between every upstream body and every error
	logger *slog.Logger
	now    func() time.Time
	since  time.Time // first-sync watermark from sync.since; zero = all
	owns   func(repo string) bool
	orgs   []*config.OrgPattern // compiled by config validation

	// GraphQL history (graphql.go): the client, whether it is in use
	// (graphql: auto|on and not fallen back to REST after a 404), the
	// current query limits (shrunk on timeouts, shared by the
	// repositories syncing at once) and what it spent.
	gql        *githubv4.Client
	gqlMode    string
	gqlOff     atomic.Bool
	gqlMu      sync.Mutex // gqlItems, gqlPage, gqlPassed
	gqlItems   int
	gqlPage    int
	gqlPassed  int // queries answered since the last shrink or growth (grow)
	gqlQueries atomic.Int64
	gqlPoints  atomic.Int64

	// hook, when set (tests), is called with "fetched" when a GraphQL
	// issues page (its list and timelines) is fetched and mapped, and with
	// "write" just before that page is written; n counts the pages of
	// the repository's walk from 1.
	hook func(stage, repo string, n int)
}

// Source is "github".
func (c *Collector) Source() string { return model.SourceGitHub }

// Name is the target name.
func (c *Collector) Name() string { return c.target.Name }

// New validates o and builds the collector and its go-github client.
func New(o Options) (*Collector, error) {
	if o.Target == nil {
		return nil, errors.New("github: no target")
	}
	name := o.Target.Name
	if name == "" {
		return nil, errors.New("github: target without a name")
	}
	if o.Store == nil {
		return nil, fmt.Errorf("github/%s: no store", name)
	}
	if o.Config == nil {
		o.Config = &config.Config{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	base := o.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c := &Collector{
		cfg: o.Config, target: o.Target, store: o.Store, now: o.Now, owns: o.Owns,
		logger: o.Logger.With("source", model.SourceGitHub, "target", name),
	}
	for _, r := range o.Target.Repos {
		if _, _, ok := splitRepo(r); !ok {
			return nil, fmt.Errorf("github/%s: repo %q: want owner/name", name, r)
		}
	}
	for i := range o.Target.Orgs {
		if o.Target.Orgs[i].Org == "" {
			return nil, fmt.Errorf("github/%s: orgs[%d]: missing org", name, i)
		}
		c.orgs = append(c.orgs, &o.Target.Orgs[i])
	}
	c.since = o.Config.Sync.SinceTime()

	baseURL := o.Target.BaseURL
	if baseURL == "" {
		baseURL = "https://api.github.com/"
	}
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("github/%s: base_url %q is not an absolute URL", name, o.Target.BaseURL)
	}

	c.rt = &rateTransport{next: base, now: o.Now, sleep: resilience.SleepCtx, remaining: -1, gqlRemaining: -1}
	var auth http.RoundTripper
	if app := o.Target.App; app != nil {
		key, err := app.PrivateKeySource().Value()
		if err != nil {
			return nil, fmt.Errorf("github/%s: app private key: %w", name, err)
		}
		itr, err := ghinstallation.New(c.rt, app.AppID, app.InstallationID, []byte(key))
		if err != nil {
			return nil, fmt.Errorf("github/%s: app auth: %w", name, err)
		}
		itr.BaseURL = strings.TrimRight(baseURL, "/")
		auth = itr
	} else {
		auth = &tokenTransport{src: o.Target.TokenSource(), next: c.rt}
	}
	c.scrub = &resilience.Scrubber{Secrets: githubSecrets(o.Target)}
	c.client = gh.NewClient(&http.Client{Transport: c.scrub.Transport(auth)})
	c.client.BaseURL = u

	// GraphQL: the same auth and rate transports (one budget view, one
	// set of waits), with gqlTransport above them reading GraphQL's
	// in-band errors.
	c.gqlMode, c.gqlItems, c.gqlPage = o.Target.GraphQLMode(), gqlMaxItems, gqlMaxPage
	c.gqlOff.Store(c.gqlMode == config.GraphQLOff)
	gqlRT := &gqlTransport{next: auth, now: o.Now, sleep: func(ctx context.Context, d time.Duration) error { return c.rt.sleep(ctx, d) },
		spent: func(reset time.Time) { c.rt.spent(true, reset) }}
	c.gql = githubv4.NewEnterpriseClient(graphqlURL(u), &http.Client{Transport: c.scrub.Transport(gqlRT)})
	return c, nil
}

// setSleep replaces the function used to wait for rate limits and
// backoffs (tests; the default waits on a timer and honours ctx).
func (c *Collector) setSleep(f func(ctx context.Context, d time.Duration) error) { c.rt.sleep = f }

// RateRemaining returns the last X-RateLimit-Remaining seen (-1 before the
// first answer) and the reset time.
func (c *Collector) RateRemaining() (int, time.Time) { return c.rt.rate() }

// Sync fetches everything new of every repository of the target, up to
// Target.Workers() repositories at once (in configuration order, each
// with one request in flight) under the target's one rate-limit view: a
// wait for a limit any of them meets holds them all. Each repository is
// independent: a failure is collected, wrapped with the repository name,
// and the others still sync; the joined errors are returned in
// repository order. Bad credentials stop every repository at once. The
// team members are synced after the repositories.
func (c *Collector) Sync(ctx context.Context) error {
	var errs []error
	repos, err := c.repos(ctx)
	if err != nil {
		errs = append(errs, err)
		if isAuth(err) {
			return c.wrap(errors.Join(errs...))
		}
	}
	repoErrs, stop := c.syncRepos(ctx, repos)
	errs = append(errs, repoErrs...)
	if stop {
		return c.wrap(errors.Join(errs...))
	}
	if ctx.Err() == nil {
		if err := c.syncTeams(ctx, repos); err != nil {
			errs = append(errs, err)
		}
	}
	return c.wrap(errors.Join(errs...))
}

// syncRepos syncs repos with up to Target.Workers() workers, which take
// the next repository in order when they finish one. It returns the
// repositories' errors in repository order; stop is true when the sync
// must end there (bad credentials, or ctx ended). After bad credentials
// the other workers' repositories end with the cancellation of their
// context, which is not reported as their failure.
func (c *Collector) syncRepos(ctx context.Context, repos []string) (errs []error, stop bool) {
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]error, len(repos))
	var next atomic.Int64
	var authFailed atomic.Bool
	var wg sync.WaitGroup
	for range max(1, min(c.target.Workers(), len(repos))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for work.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(repos) {
					return
				}
				err := c.syncRepo(work, repos[i])
				switch {
				case err == nil:
				case isAuth(err):
					results[i] = fmt.Errorf("repo %s: %w", repos[i], err)
					authFailed.Store(true)
					cancel()
				case authFailed.Load() && ctx.Err() == nil:
					// Stopped by another repository's bad credentials.
				default:
					results[i] = fmt.Errorf("repo %s: %w", repos[i], err)
				}
			}
		}()
	}
	wg.Wait()
	sawCtx := false
	for _, err := range results {
		if err != nil {
			errs = append(errs, err)
			sawCtx = sawCtx || (ctx.Err() != nil && errors.Is(err, ctx.Err()))
		}
	}
	if ctx.Err() != nil && !sawCtx {
		errs = append(errs, ctx.Err())
	}
	return errs, authFailed.Load() || ctx.Err() != nil
}

// syncRepo syncs one repository: its items and history through GraphQL
// or REST, or only its milestones when another shard owns it.
func (c *Collector) syncRepo(ctx context.Context, full string) error {
	rs := &repoSync{c: c, full: full}
	rs.owner, rs.name, _ = splitRepo(full)
	sync := rs.sync
	if !c.gqlOff.Load() {
		sync = rs.syncGraphQL
	}
	if c.owns != nil && !c.owns(full) {
		sync = rs.milestones // another shard syncs its items
	}
	return sync(ctx)
}

// wrap names the target and scrubs the error: no secret an upstream
// echoed (or a library repeated) leaves the collector.
func (c *Collector) wrap(err error) error {
	if err == nil {
		return nil
	}
	return c.scrub.Error(fmt.Errorf("github/%s: %w", c.target.Name, err))
}

// githubSecrets returns the target's current secrets for the scrubber.
func githubSecrets(g *config.GitHubSource) func() []string {
	return func() []string {
		var out []string
		if g.App != nil {
			if k, err := g.App.PrivateKeySource().Value(); err == nil {
				out = append(out, k)
				for _, line := range strings.Split(k, "\n") {
					if line = strings.TrimSpace(line); len(line) >= 16 && !strings.HasPrefix(line, "-----") {
						out = append(out, line)
					}
				}
			}
			return out
		}
		if tok, err := g.TokenSource().Value(); err == nil {
			out = append(out, tok)
		}
		return out
	}
}

// repos lists the configured repositories plus the matching org
// repositories, deduplicated (case-insensitively), in configuration order.
func (c *Collector) repos(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(full string) {
		k := strings.ToLower(full)
		if !seen[k] {
			seen[k] = true
			out = append(out, full)
		}
	}
	for _, r := range c.target.Repos {
		add(r)
	}
	var errs []error
	for _, f := range c.orgs {
		names, err := c.orgRepos(ctx, f.Org)
		if err != nil {
			errs = append(errs, fmt.Errorf("org %s: list repositories: %w", f.Org, describe(err, "organization "+f.Org)))
			continue
		}
		for _, n := range names {
			if f.Match(n) {
				add(f.Org + "/" + n)
			}
		}
	}
	return out, errors.Join(errs...)
}

// orgRepos lists the repository names of org, conditionally: the names are
// kept in a cursor next to the ETag of the (single) page, so an unchanged
// org costs a free 304.
func (c *Collector) orgRepos(ctx context.Context, org string) ([]string, error) {
	first := "orgs/" + url.PathEscape(org) + "/repos?per_page=100"
	etagKey, curKey := "org_repos "+org, "org_repos:"+org
	etag := ""
	stored, haveList, err := c.store.Cursor(ctx, model.SourceGitHub, c.Name(), curKey)
	if err != nil {
		return nil, err
	}
	if haveList {
		etag = c.storedETag(ctx, etagKey, first)
	}
	list, tag, unchanged, err := listAll[*gh.Repository](ctx, c, first, etag)
	if err != nil {
		return nil, err
	}
	if unchanged {
		if stored == "" {
			return nil, nil
		}
		return strings.Split(stored, ","), nil
	}
	var names []string
	for _, r := range list {
		if r.GetName() != "" {
			names = append(names, r.GetName())
		}
	}
	sort.Strings(names)
	p := store.Page{Source: model.SourceGitHub, Target: c.Name(), Cursors: map[string]string{curKey: strings.Join(names, ",")}}
	if tag != "" {
		p.ETags = map[string]string{etagKey: first + " " + tag}
	}
	if err := c.store.ApplyPage(ctx, p); err != nil {
		return nil, err
	}
	return names, nil
}

// syncTeams expands every configured GitHub team of an org this target
// covers (its org patterns and the owners of its repositories).
func (c *Collector) syncTeams(ctx context.Context, repos []string) error {
	orgs := map[string]bool{}
	for _, f := range c.orgs {
		orgs[strings.ToLower(f.Org)] = true
	}
	for _, r := range repos {
		o, _, _ := splitRepo(r)
		orgs[strings.ToLower(o)] = true
	}
	// via "org/slug" -> configured team names
	teams := map[string][]string{}
	var vias []string
	for name, t := range c.cfg.Teams {
		if t == nil {
			continue
		}
		for _, gt := range t.GitHubTeams {
			o, _, ok := splitRepo(gt)
			if !ok || !orgs[strings.ToLower(o)] {
				continue
			}
			if teams[gt] == nil {
				vias = append(vias, gt)
			}
			teams[gt] = append(teams[gt], name)
		}
	}
	sort.Strings(vias)
	var errs []error
	for _, via := range vias {
		if err := c.syncTeam(ctx, via, teams[via]); err != nil {
			errs = append(errs, fmt.Errorf("team %s: %w", via, err))
			if isAuth(err) || ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Collector) syncTeam(ctx context.Context, via string, names []string) error {
	o, slug, _ := splitRepo(via)
	first := "orgs/" + url.PathEscape(o) + "/teams/" + url.PathEscape(slug) + "/members?per_page=100"
	etagKey := "team_members " + via
	etag := c.storedETag(ctx, etagKey, first)
	users, tag, unchanged, err := listAll[*gh.User](ctx, c, first, etag)
	if err != nil {
		return fmt.Errorf("list members: %w", describe(err, "team "+via))
	}
	if unchanged {
		return nil
	}
	var logins []string
	for _, u := range users {
		if u.GetLogin() != "" {
			logins = append(logins, u.GetLogin())
		}
	}
	sort.Strings(names)
	members := make([]model.TeamMember, 0, len(logins)*len(names))
	for _, n := range names {
		for _, l := range logins {
			members = append(members, model.TeamMember{Team: n, Source: model.SourceGitHub, Identity: l, Via: via})
		}
	}
	if err := c.store.ReplaceTeamMembers(ctx, model.SourceGitHub, via, members); err != nil {
		return err
	}
	if tag != "" {
		return c.store.ApplyPage(ctx, store.Page{Source: model.SourceGitHub, Target: c.Name(),
			ETags: map[string]string{etagKey: first + " " + tag}})
	}
	return nil
}

// listAll fetches every page of a list starting at first, following Link
// next, and sends etag (if any) on the first request only. A 304 there means
// the list is unchanged: unchanged is true and nothing else is returned.
// singleTag is the first page's new ETag when the whole list fitted in one
// page, else "": page 1's ETag proves nothing about later pages.
func listAll[T any](ctx context.Context, c *Collector, first, etag string) (items []T, singleTag string, unchanged bool, err error) {
	next, pages, firstTag := first, 0, ""
	for next != "" {
		var page []T
		tag := ""
		if next == first {
			tag = etag
		}
		res, err := c.get(ctx, next, tag, &page)
		if err != nil {
			return nil, "", false, err
		}
		if res.notModified {
			return nil, "", true, nil
		}
		if next == first {
			firstTag = res.etag
		}
		pages++
		items = append(items, page...)
		next = res.next
	}
	if pages == 1 {
		singleTag = firstTag
	}
	return items, singleTag, false, nil
}

// storedETag returns the ETag stored under key if it was recorded for
// exactly u (values are "<url> <etag>").
func (c *Collector) storedETag(ctx context.Context, key, u string) string {
	v, ok, err := c.store.ETag(ctx, model.SourceGitHub, c.Name(), key)
	if err != nil || !ok {
		return ""
	}
	gotURL, tag, found := strings.Cut(v, " ")
	if !found || gotURL != u {
		return ""
	}
	return tag
}

// result is one fetched page.
type result struct {
	resp        *gh.Response
	notModified bool
	next        string // Link rel="next", "" on the last page
	etag        string
}

// get fetches u (relative to the base URL, or absolute from a Link header)
// into v, conditionally when etag is set. A 304 is not an error.
func (c *Collector) get(ctx context.Context, u, etag string, v any) (result, error) {
	req, err := c.client.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return result{}, err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.client.BareDo(ctx, req)
	if err == nil {
		// Read whole, then decoded in the CPU lane; an empty body decodes
		// to nothing, as in go-github's Do.
		if err = cpulane.Decode(ctx, resp.Body, v); err == io.EOF {
			err = nil
		}
	}
	var res result
	res.resp = resp
	if resp != nil {
		res.etag = resp.Header.Get("ETag")
		res.next = nextLink(resp.Header.Get("Link"))
		if resp.StatusCode == http.StatusNotModified {
			res.notModified = true
			return res, nil
		}
	}
	if err != nil {
		return res, err
	}
	// A next link naming the page just served (a cursor that does not
	// advance) would make every walk loop forever.
	if res.next != "" && req.URL != nil && res.next == req.URL.String() {
		return res, fmt.Errorf("GET %s: the next page link repeats the page just served (the cursor does not advance)", req.URL.Path)
	}
	return res, nil
}

// nextLink extracts the rel="next" URL of a Link header.
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		segs := strings.Split(part, ";")
		if len(segs) < 2 {
			continue
		}
		u := strings.TrimSpace(segs[0])
		if !strings.HasPrefix(u, "<") || !strings.HasSuffix(u, ">") {
			continue
		}
		for _, s := range segs[1:] {
			s = strings.TrimSpace(s)
			if s == `rel="next"` || s == "rel=next" {
				return u[1 : len(u)-1]
			}
		}
	}
	return ""
}

// describe turns a go-github error into a short message naming what was
// not found, bad credentials, or the status and GitHub's message. It never
// includes request headers (the token).
func describe(err error, what string) error {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusUnauthorized:
			return &statusError{code: 401, msg: "bad credentials (401): check the token"}
		case http.StatusNotFound:
			return &statusError{code: 404, msg: fmt.Sprintf("%s not found (404)", what)}
		}
		msg := er.Message
		if msg == "" {
			msg = http.StatusText(er.Response.StatusCode)
		}
		return &statusError{code: er.Response.StatusCode, msg: fmt.Sprintf("%d %s", er.Response.StatusCode, msg)}
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		return fmt.Errorf("primary rate limit exhausted until %s: %w", rl.Rate.Reset.Time.UTC().Format(time.RFC3339), errRateLimited)
	}
	var al *gh.AbuseRateLimitError
	if errors.As(err, &al) {
		return fmt.Errorf("secondary rate limit persisted after %d waits: %w", maxRateRetries, errRateLimited)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// Name the URL, without its query (paging and since: noise; a
		// base_url cannot carry one, config refuses it).
		where := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.Fragment, u.User = "", "", nil
			where = u.String()
		}
		return fmt.Errorf("%s %s: %w", ue.Op, where, ue.Err)
	}
	return err
}

type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

func isAuth(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.code == http.StatusUnauthorized
}

func splitRepo(full string) (owner, name string, ok bool) {
	owner, name, ok = strings.Cut(full, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", false
	}
	return owner, name, true
}
