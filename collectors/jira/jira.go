// Package jira is crossteam's Jira collector: one Collector per configured
// Jira site (sources.jira[]), for Jira Cloud or Jira Server / Data Center.
// Sync fetches the issues of the configured projects that changed since the
// last sync, with their change histories, and writes them to the store as
// model items, events and milestones, one batch per transaction. A
// batch's requests are made first; its mapping and write then run while
// the next search page is requested (one request in flight; the
// watermark moves only with the last batch, written before Sync returns).
//
// # Requests
//
// Jira Cloud (go-jira v1.17.0 for the client, auth transports and
// NewRequestWithContext/Do; own structs where go-jira lacks them):
//
//  1. Metadata, once per process and again only when an unknown status id
//     appears: GET /rest/api/3/field (resolves team_field by name to its
//     customfield id), GET /rest/api/3/status (status id -> category) and,
//     unless dependencies.jira_link_types is empty, GET
//     /rest/api/3/issueLinkType (links.go: a configured type the site
//     lacks is reported by name; the target keeps syncing).
//  2. Current state: POST /rest/api/3/search/jql, one JQL for all projects
//     (`project in (..) AND (jql) [AND updated >= -Nm] ORDER BY id ASC`),
//     only the fields the engine needs (comment included), 100 per page, following
//     nextPageToken until isLast (fields and expand are re-sent on every
//     page; a token that does not advance is an error, not a loop).
//  3. History. Full sync: POST /rest/api/3/changelog/bulkfetch for up to
//     1000 issues per call, fieldIds limited to status, assignee, the team
//     field, fixVersions, components and parent, maxResults 10000, following
//     nextPageToken. Incremental sync: the search asks expand=changelog,
//     which Cloud cuts to the newest 40 histories; an issue whose
//     changelog.total exceeds what was embedded, and whose oldest embedded
//     history is not older than the window, is completed by bulkfetch.
//  4. Comments: search/jql's comment field holds the oldest 20 comments
//     with their total; for an issue changed in this sync whose total
//     exceeds what was embedded, Options.Comments (the engine's
//     rule, injected by the syncer; nil: always) decides whether the rest
//     can change a figure. If so it is read with GET
//     /rest/api/3/issue/{key}/comment from startAt = the embedded count
//     (not the stored one: a comment deleted in Jira shifts positions),
//     100 per page; if not, the list is recorded as deferred
//     (store.CommentList, written with the page) and judged again when the
//     policy's generation changes (comments.go).
//  5. Signals (signals[].jira_jql): one id-only search `(<jql>) AND <scope>`
//     per signal per sync, over the same projects and window as the main
//     search, run when the first batch with changed issues is written
//     (fields=id, 5000 ids per page). Issues updated after it began are
//     checked with `(<jql>) AND id in (..)` (none in a quiet sync).
//
// A full sync of I issues with H filtered histories therefore costs
// 3 + ceil(I/100) + about ceil(H/9000) bulkfetch calls (each sized from the
// histories per issue seen so far to fit one 10000-history answer), plus
// ceil((C-20)/100) per issue with C > 20 comments whose rest can matter,
// plus ceil(M/5000) per signal matching M issues; an incremental sync in
// which nothing changed costs exactly one request.
//
// Jira Data Center: GET /rest/api/2/search with startAt and
// expand=changelog (full histories and every comment there), 100 issues per page, plus the three
// metadata calls: 3 + ceil(I/100) for a full sync, 1 for an unchanged one.
//
// # Incremental window
//
// The cursor is the watermark W: the largest `updated` seen, never later
// than the sync's start minus Overlap (default 5 minutes). The next sync asks
// `updated >= -N m` with N the whole minutes from W - Overlap to now. The
// overlap exists because JQL dates have minute resolution, because search
// is eventually consistent (an issue changed just before the last sync may
// not have been visible to it yet), and to absorb clock skew between this
// host and Jira. The relative form is used rather than a date literal so the
// query does not depend on the API user's profile time zone (in which Jira
// evaluates date literals) and needs no /myself request. Changelog entries
// arrive more than once inside the overlap; events are keyed by history id
// and field, so the store keeps one copy, and issues found again in the
// state this process already wrote are skipped (no signal search, no write).
//
// # Mapping
//
// Item: key, summary, reporter (author), created, resolutiondate (closed;
// the updated instant when a done-category status has none), updated,
// status name, team field value, components, labels, assignee, fix version
// names and the epic (model.JiraEpicPrefix + key) as milestones, and the
// names of matching signals; issuelinks and the record date fields
// (links.go). Events per history item: status ->
// status_changed (names) plus closed / reopened when the status category
// enters or leaves done; assignee -> unassigned / assigned; team field ->
// team_field_changed (display values); components -> component_removed /
// component_added; fix versions -> demilestoned / milestoned; parent (not
// for sub-tasks) -> demilestoned / milestoned of the epic. Plus one
// created event per issue and one commented event per comment (id
// "comment:<comment id>", by its author at its created instant): a comment
// is activity, so a receiving team's first comment picks a handoff up. Milestone records: each fix version
// (model.JiraVersionPrefix + id; due = end of its release date UTC; closed
// then too when released) and each epic (model.JiraEpicPrefix + key, title =
// summary). The engine decides from milestones.jira_fix_versions and
// jira_epics which count, so changing those needs no re-fetch.
//
// Actors are Cloud account ids or Data Center user names, stored as the
// API names them; the other identities a user object reports (a Data Center
// user key, the email address Jira exposes) are stored beside them as
// model.Identity facts. The collector never resolves teams: the engine
// matches configured members against ids and facts, so a member added by
// email later needs no re-fetch.
//
// # Failures
//
// A 410 from /rest/api/2/search (a Cloud site configured as datacenter), a
// rejected JQL, or bad credentials end the sync with an error naming the
// target and what to fix; tokens never appear in errors. When the one
// combined JQL is rejected because a project does not exist (or is not
// visible), every project is synced on its own with its own watermark, so
// one bad project does not stop the others. An answer whose body does not
// decode is asked again (three attempts in all); one that still does not,
// or that decodes but carries a bad field, fails the
// batch it belongs to before anything of it is written; the watermark only
// moves in the transaction of the last batch, so nothing is skipped.
package jira

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/resilience"
	"github.com/crossteam/crossteam/store"
)

// Defaults.
const (
	// DefaultOverlap is how far before the watermark each incremental query
	// starts (see the package documentation).
	DefaultOverlap = 5 * time.Minute
	// DefaultPageSize is the Data Center search page (payloads carry full
	// changelogs, so smaller than Jira's 1000 maximum).
	DefaultPageSize = 100

	cloudSearchPage = 100   // search/jql page with fields (the endpoint's cap)
	commentPageSize = 100   // GET /issue/{key}/comment page (Cloud's cap)
	idSearchPage    = 5000  // search/jql page for ids only
	bulkIssues      = 1000  // bulkfetch issueIdsOrKeys cap
	bulkMaxResults  = 10000 // bulkfetch maxResults cap
	cursorName      = "updated"
)

// Options configure a Collector.
type Options struct {
	Config    *config.Config     // whole config: members, signals, sync.since
	Target    *config.JiraSource // this site
	Store     *store.Store
	Transport http.RoundTripper // base transport (the caller passes one that counts requests); nil = http.DefaultTransport
	Logger    *slog.Logger
	Now       func() time.Time // nil = time.Now
	// Overlap of incremental windows; 0 = DefaultOverlap.
	Overlap time.Duration
	// PageSize of Data Center searches; 0 = DefaultPageSize.
	PageSize int
	// Owns selects the projects this exporter syncs (--shard; the same
	// mechanism as the GitHub collector's Owns); nil = all. New returns
	// ErrNotInShard when it selects none.
	Owns func(project string) bool
	// OnLinkTypes is told, after each metadata load, which configured
	// dependencies.jira_link_types the site lacks (none: empty); nil = not
	// reported (they are logged either way).
	OnLinkTypes func(missing []string)
	// Comments decides whether comments Cloud's search cut can change a
	// figure (comments.go); nil fetches every comment list whole.
	Comments CommentPolicy
	// OnCommentsDeferred is told after each sync how many issues have
	// comments not fetched (crossteam_jira_comments_deferred); nil = not
	// reported.
	OnCommentsDeferred func(n int)
}

// ErrNotInShard is returned by New when Options.Owns selects none of the
// target's projects: other shards sync it.
var ErrNotInShard = errors.New("no project of this target is in this shard")

// Collector syncs one Jira site into the store. It implements
// collectors.Target. Sync must not be called concurrently with itself.
type Collector struct {
	cfg      *config.Config
	target   *config.JiraSource
	projects []string // the target's projects this shard owns
	store    *store.Store
	client   *gojira.Client
	rt       *rateTransport
	scrub    *resilience.Scrubber // between every upstream body and every error
	logger   *slog.Logger
	now      func() time.Time
	cloud    bool
	api      string // "rest/api/3" or "rest/api/2"
	browse   string // site URL for item links
	overlap  time.Duration
	pageSize int
	bulkMax  int // bulkfetch maxResults (tests lower it to exercise paging)
	// histPerIssue is the filtered histories per issue bulkfetch has
	// returned (0 before the first call): it sizes the next call.
	histPerIssue float64
	since        time.Time

	// Metadata cache (kept across syncs).
	teamFieldID string
	statusCat   map[string]string // status id -> category key
	statusByNm  map[string]string // lower-case status name -> category key
	metaLoaded  bool
	// identities already stored by this process, so each fact is written
	// once per run rather than with every batch that mentions the user.
	identities map[model.Identity]bool
	// recent holds the updated instant of issues written in the overlap
	// zone of the last sync (issue id -> updated): the next sync finds them
	// again inside its window and skips those that did not change, so an
	// unchanged sync costs one search and writes nothing. After a restart
	// the map is empty and they are written once more (the store dedups).
	recent map[string]time.Time

	// Dependencies (links.go): configured link types found on the site
	// (lower-case names), their inward descriptions, the missing ones.
	linkTypes        map[string]bool
	linkInward       []string
	missingLinkTypes []string
	onLinkTypes      func(missing []string)

	// Cut comment lists (comments.go): the policy, the generation of it
	// the deferred lists were last judged under, the stored lists.
	comments   CommentPolicy
	judged     uint64
	lists      map[string]store.CommentList
	onDeferred func(n int)

	// hook, when set (tests), is called just before batch n (from 1) of
	// a scope is mapped and written.
	hook func(stage string, n int)
}

// Source is "jira".
func (c *Collector) Source() string { return model.SourceJira }

// Name is the target name.
func (c *Collector) Name() string { return c.target.Name }

// New validates o and builds the collector and its go-jira client.
func New(o Options) (*Collector, error) {
	if o.Target == nil {
		return nil, errors.New("jira: no target")
	}
	name := o.Target.Name
	if name == "" {
		return nil, errors.New("jira: target without a name")
	}
	if o.Store == nil {
		return nil, fmt.Errorf("jira/%s: no store", name)
	}
	if len(o.Target.Projects) == 0 {
		return nil, fmt.Errorf("jira/%s: no projects", name)
	}
	for _, p := range o.Target.Projects {
		if p == "" || strings.ContainsAny(p, "\"\\") {
			return nil, fmt.Errorf("jira/%s: project key %q is not valid", name, p)
		}
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
	if o.Overlap <= 0 {
		o.Overlap = DefaultOverlap
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	base := o.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	dep := o.Target.Deployment
	if dep == "" {
		dep = config.JiraCloud
	}
	if dep != config.JiraCloud && dep != config.JiraDataCenter {
		return nil, fmt.Errorf("jira/%s: deployment %q: want %s or %s", name, dep, config.JiraCloud, config.JiraDataCenter)
	}
	u, err := url.Parse(o.Target.URL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("jira/%s: url %q is not an absolute URL", name, o.Target.URL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("jira/%s: url must not carry credentials; use email and token_file/token_env", name)
	}
	var projects []string
	for _, p := range o.Target.Projects {
		if o.Owns == nil || o.Owns(p) {
			projects = append(projects, p)
		}
	}
	if len(projects) == 0 {
		return nil, fmt.Errorf("jira/%s: %w", name, ErrNotInShard)
	}
	c := &Collector{
		cfg: o.Config, target: o.Target, projects: projects, store: o.Store, now: o.Now,
		logger: o.Logger.With("source", model.SourceJira, "target", name),
		cloud:  dep == config.JiraCloud, overlap: o.Overlap, pageSize: o.PageSize, bulkMax: bulkMaxResults,
		browse: strings.TrimRight(o.Target.URL, "/"), identities: map[model.Identity]bool{}, recent: map[string]time.Time{},
		onLinkTypes: o.OnLinkTypes, comments: o.Comments, onDeferred: o.OnCommentsDeferred,
	}
	c.api = "rest/api/2"
	if c.cloud {
		c.api = "rest/api/3"
		if o.Target.Email == "" {
			return nil, fmt.Errorf("jira/%s: deployment cloud needs email (the API token's owner)", name)
		}
	}
	c.since = o.Config.Sync.SinceTime()
	c.rt = &rateTransport{next: base, sleep: resilience.SleepCtx, backoff: defaultBackoff, pacing: nearLimitPacing}
	auth := &authTransport{email: o.Target.Email, src: o.Target.TokenSource(), next: c.rt}
	c.scrub = &resilience.Scrubber{Secrets: jiraSecrets(o.Target)}
	c.client, err = newClient(o.Target.URL, c.scrub.Transport(auth))
	if err != nil {
		return nil, fmt.Errorf("jira/%s: %w", name, err)
	}
	return c, nil
}

// wrap names the target and scrubs the error: no secret an upstream
// echoed leaves the collector.
func (c *Collector) wrap(err error) error {
	if err == nil {
		return nil
	}
	return c.scrub.Error(fmt.Errorf("jira/%s: %w", c.target.Name, err))
}

// jiraSecrets returns the site's current secrets for the scrubber: the
// token and, with an email, the "email:token" pair whose base64 is the
// Basic credential.
func jiraSecrets(j *config.JiraSource) func() []string {
	return func() []string {
		tok, err := j.TokenSource().Value()
		if err != nil {
			return nil
		}
		out := []string{tok}
		if j.Email != "" {
			out = append(out, j.Email+":"+tok)
		}
		return out
	}
}

// Sync fetches everything that changed since the last sync. See the package
// documentation for the requests and the failure rules.
func (c *Collector) Sync(ctx context.Context) error {
	start := c.now().UTC()
	if err := c.loadMeta(ctx, false); err != nil {
		return c.wrap(err)
	}
	if err := c.reevaluate(ctx); err != nil {
		return c.wrap(fmt.Errorf("deferred comments: %w", err))
	}
	err := c.syncScope(ctx, start, c.projects, cursorName)
	if err == nil {
		err = c.reportDeferred(ctx)
	}
	var ae *apiError
	if err != nil && len(c.projects) > 1 && errors.Is(err, ErrJQL) && errors.As(err, &ae) &&
		strings.Contains(strings.Join(ae.Messages, " "), "'project'") {
		// One project is missing or invisible: sync each on its own.
		c.logger.Warn("combined JQL rejected; syncing projects one by one", "err", c.scrub.Error(err))
		var errs []error
		for _, p := range c.projects {
			if ctx.Err() != nil {
				errs = append(errs, ctx.Err())
				break
			}
			if perr := c.syncScope(ctx, start, []string{p}, cursorName+":"+p); perr != nil {
				errs = append(errs, fmt.Errorf("project %s: %w", p, perr))
				if errors.Is(perr, ErrAuth) {
					break
				}
			}
		}
		return c.wrap(errors.Join(errs...))
	}
	return c.wrap(err)
}

// loadMeta fetches /field and /status unless cached (force refetches
// /status only).
func (c *Collector) loadMeta(ctx context.Context, force bool) error {
	if c.metaLoaded && !force {
		return nil
	}
	if !c.metaLoaded {
		var fields []field
		if err := c.call(ctx, http.MethodGet, c.api+"/field", nil, &fields); err != nil {
			return fmt.Errorf("fields: %w", err)
		}
		if tf := c.target.TeamField; tf != "" {
			c.teamFieldID = ""
			for _, f := range fields {
				if f.ID == tf || strings.EqualFold(f.Name, tf) {
					c.teamFieldID = f.ID
					break
				}
			}
			if c.teamFieldID == "" {
				return fmt.Errorf("team_field %q: no such field on the site (GET /field lists %d fields; check the name and that the API user can see it)", tf, len(fields))
			}
		}
		if err := c.loadLinkTypes(ctx); err != nil {
			return err
		}
	}
	var sts []status
	if err := c.call(ctx, http.MethodGet, c.api+"/status", nil, &sts); err != nil {
		return fmt.Errorf("statuses: %w", err)
	}
	c.statusCat, c.statusByNm = map[string]string{}, map[string]string{}
	for _, s := range sts {
		c.statusCat[s.ID] = s.StatusCategory.Key
		c.statusByNm[strings.ToLower(s.Name)] = s.StatusCategory.Key
	}
	c.metaLoaded = true
	return nil
}

// scopeJQL is the search for a set of projects: projects, the configured
// extra JQL, and the window when there is a watermark.
func (c *Collector) scopeJQL(projects []string, from time.Time, now time.Time) string {
	q := make([]string, len(projects))
	for i, p := range projects {
		q[i] = `"` + p + `"`
	}
	jql := "project in (" + strings.Join(q, ", ") + ")"
	if x := strings.TrimSpace(c.target.JQL); x != "" {
		jql += " AND (" + x + ")"
	}
	if !from.IsZero() {
		mins := int64((now.Sub(from) + time.Minute - 1) / time.Minute)
		jql += fmt.Sprintf(" AND updated >= -%dm", max(mins, 1))
	}
	return jql + " ORDER BY id ASC"
}

// syncScope syncs the issues of some projects under one watermark cursor.
func (c *Collector) syncScope(ctx context.Context, start time.Time, projects []string, cursor string) error {
	w, err := c.watermark(ctx, cursor)
	if err != nil {
		return err
	}
	stored := !w.IsZero()
	if w.IsZero() && cursor != cursorName {
		// A project synced alone starts from the combined watermark.
		if w, err = c.watermark(ctx, cursorName); err != nil {
			return err
		}
	}
	from := time.Time{}
	incremental := !w.IsZero()
	switch {
	case incremental:
		from = w.Add(-c.overlap)
	case !c.since.IsZero():
		from = c.since
	}
	jql := c.scopeJQL(projects, from, start)
	b := &batcher{c: c, cursor: cursor, w: w, stored: stored, limit: start.Add(-c.overlap), from: from, incremental: incremental,
		scope: strings.TrimSuffix(jql, " ORDER BY id ASC")}
	if c.cloud {
		err = c.searchCloud(ctx, jql, incremental, b)
	} else {
		err = c.searchDC(ctx, jql, b)
	}
	if werr := b.wait(); werr != nil {
		return werr // the earlier failure; a search error after it follows from it or waits for the next sync
	}
	if err != nil {
		return err
	}
	return b.finish(ctx)
}

func (c *Collector) watermark(ctx context.Context, name string) (time.Time, error) {
	v, ok, err := c.store.Cursor(ctx, model.SourceJira, c.Name(), name)
	if err != nil || !ok || v == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored cursor %s %q: %w", name, v, err)
	}
	return t.UTC(), nil
}

// searchFields are the fields asked for: what the mapping reads.
func (c *Collector) searchFields() []string {
	f := []string{"summary", "status", "assignee", "reporter", "created", "updated", "resolutiondate",
		"fixVersions", "components", "labels", "issuetype", "parent", "duedate", "comment"}
	if c.teamFieldID != "" {
		f = append(f, c.teamFieldID)
	}
	if c.wantLinks() {
		f = append(f, "issuelinks")
	}
	for _, d := range c.dateFields() {
		if d != "duedate" {
			f = append(f, d)
		}
	}
	return f
}

func (c *Collector) searchCloud(ctx context.Context, jql string, incremental bool, b *batcher) error {
	req := searchJQLRequest{JQL: jql, MaxResults: cloudSearchPage, Fields: c.searchFields()}
	if incremental {
		req.Expand = "changelog"
	}
	seen := map[string]bool{}
	for {
		var page searchJQLPage
		if err := c.call(ctx, http.MethodPost, c.api+"/search/jql", req, &page); err != nil {
			return fmt.Errorf("search: %w", err)
		}
		if err := b.add(ctx, page.Issues); err != nil {
			return err
		}
		if page.IsLast || page.NextPageToken == "" {
			return nil
		}
		if seen[page.NextPageToken] || page.NextPageToken == req.NextPageToken {
			return fmt.Errorf("search: nextPageToken %q repeated; stopping instead of looping", page.NextPageToken)
		}
		seen[page.NextPageToken] = true
		req.NextPageToken = page.NextPageToken
	}
}

func (c *Collector) searchDC(ctx context.Context, jql string, b *batcher) error {
	startAt := 0
	for {
		q := url.Values{}
		q.Set("jql", jql)
		q.Set("startAt", fmt.Sprint(startAt))
		q.Set("maxResults", fmt.Sprint(c.pageSize))
		q.Set("fields", strings.Join(c.searchFields(), ","))
		q.Set("expand", "changelog")
		var page searchDCPage
		if err := c.call(ctx, http.MethodGet, c.api+"/search?"+q.Encode(), nil, &page); err != nil {
			return fmt.Errorf("search: %w", err)
		}
		if err := b.add(ctx, page.Issues); err != nil {
			return err
		}
		// Data Center pages are small enough to write one by one.
		if err := b.flush(ctx, false); err != nil {
			return err
		}
		startAt += len(page.Issues)
		if len(page.Issues) == 0 || startAt >= page.Total {
			return nil
		}
	}
}
