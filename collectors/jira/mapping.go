package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crossteam/crossteam/internal/cpulane"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/store"
)

// batcher collects searched issues and writes them in batches: on Cloud up
// to 1000 issues (one bulkfetch call: fewer once the histories per issue
// are known, so they fit one answer), on Data Center one search page. The
// watermark is written with the last batch only.
type batcher struct {
	c           *Collector
	cursor      string
	w           time.Time // watermark the window started from (zero on a full sync)
	stored      bool      // w is this cursor's own stored value (not inherited)
	limit       time.Time // the watermark never passes this (start - overlap)
	from        time.Time // window start; zero = everything
	incremental bool

	scope string // the scope and window JQL, without ORDER BY (signal searches)
	// sig: signal name -> ids it matches in scope, searched once per sync
	// (nil until the first batch with issues); sigSince: issues updated
	// from then on are checked on their own.
	sig      map[string]map[string]bool
	sigSince time.Time

	pending       []rawIssue
	take          int // issues the next flush writes (0: all pending)
	maxUpdated    time.Time
	seen          int
	refreshedMeta bool

	// writing is the result of the batch write running while the search
	// goes on (nil: none); see flush. batches counts the flushes.
	writing chan error
	batches int
}

// wait waits for the batch write in progress, if any, and returns its
// error.
func (b *batcher) wait() error {
	if b.writing == nil {
		return nil
	}
	err := <-b.writing
	b.writing = nil
	return err
}

func (b *batcher) add(ctx context.Context, issues []rawIssue) error {
	b.pending = append(b.pending, issues...)
	// A Cloud full sync writes one bulkfetch call's issues per batch,
	// sized so their histories fit one answer (bulkBatch).
	for b.c.cloud && len(b.pending) >= b.c.bulkBatch() {
		b.take = b.c.bulkBatch()
		if err := b.flush(ctx, false); err != nil {
			return err
		}
	}
	return nil
}

// finish writes the remaining issues and the new watermark: the largest
// updated seen, capped at start - overlap, never moving backwards. Nothing
// is written when nothing was seen.
func (b *batcher) finish(ctx context.Context) error {
	if len(b.pending) == 0 && b.seen == 0 {
		return nil
	}
	return b.flush(ctx, true)
}

// parsed is an issue decoded from search fields.
type parsed struct {
	id, key    string
	summary    string
	status     status
	assignee   *user
	reporter   *user
	created    time.Time
	updated    time.Time
	resolved   time.Time
	due        time.Time
	itype      *issueType
	versions   []version
	components []named
	labels     []string
	parent     *parentRef
	team       string
	changelog  *changelog
	comments   *commentPage      // nil: the answer had no comment field
	links      []issueLink       // issuelinks (links.go)
	dates      map[string]string // record date fields: field id -> YYYY-MM-DD
}

// decodeIssue decodes the fields the mapping reads; errors name the issue
// and the field.
func (c *Collector) decodeIssue(r *rawIssue) (*parsed, error) {
	p := &parsed{id: r.ID, key: r.Key, changelog: r.Changelog}
	if p.key == "" || p.id == "" {
		return nil, fmt.Errorf("issue %q (id %q): missing key or id", r.Key, r.ID)
	}
	dec := func(name string, v any) error {
		raw, ok := r.Fields[name]
		if !ok || string(raw) == "null" {
			return nil
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("issue %s: field %s: %w", p.key, name, err)
		}
		return nil
	}
	tm := func(name string, dst *time.Time, required bool) error {
		var s string
		if err := dec(name, &s); err != nil {
			return err
		}
		if s == "" {
			if required {
				return fmt.Errorf("issue %s: field %s: missing", p.key, name)
			}
			return nil
		}
		t, err := parseJiraTime(s)
		if err != nil {
			return fmt.Errorf("issue %s: field %s: %w", p.key, name, err)
		}
		*dst = t
		return nil
	}
	var due string
	var st *status
	for _, err := range []error{
		dec("summary", &p.summary), dec("status", &st), dec("assignee", &p.assignee), dec("reporter", &p.reporter),
		tm("created", &p.created, true), tm("updated", &p.updated, true), tm("resolutiondate", &p.resolved, false),
		dec("duedate", &due), dec("issuetype", &p.itype), dec("fixVersions", &p.versions),
		dec("components", &p.components), dec("labels", &p.labels), dec("parent", &p.parent),
		dec("comment", &p.comments),
	} {
		if err != nil {
			return nil, err
		}
	}
	if st != nil {
		p.status = *st
	}
	if due != "" {
		d, err := time.Parse("2006-01-02", due)
		if err != nil {
			return nil, fmt.Errorf("issue %s: field duedate: %w", p.key, err)
		}
		p.due = endOfDay(d)
	}
	if err := c.decodeRecordFields(r, p); err != nil {
		return nil, err
	}
	if c.teamFieldID != "" {
		v, err := teamValue(r.Fields[c.teamFieldID])
		if err != nil {
			return nil, fmt.Errorf("issue %s: field %s (team): %w", p.key, c.teamFieldID, err)
		}
		p.team = v
	}
	return p, nil
}

// teamValue reads a team field: a string, an option {value}, an Atlassian
// team {name|title}, or a list of those (the first).
func teamValue(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	type opt struct{ Value, Name, Title string }
	pick := func(o opt) string {
		switch {
		case o.Value != "":
			return o.Value
		case o.Name != "":
			return o.Name
		}
		return o.Title
	}
	var o opt
	if json.Unmarshal(raw, &o) == nil {
		return pick(o), nil
	}
	var l []opt
	if err := json.Unmarshal(raw, &l); err != nil {
		return "", fmt.Errorf("unexpected value %.80s", raw)
	}
	if len(l) == 0 {
		return "", nil
	}
	return pick(l[0]), nil
}

func endOfDay(d time.Time) time.Time {
	y, m, dd := d.UTC().Date()
	return time.Date(y, m, dd, 23, 59, 59, 0, time.UTC)
}

// userID is how the deployment names a user in changelog from/to.
func (c *Collector) userID(u *user) string {
	if u == nil {
		return ""
	}
	if c.cloud {
		return u.AccountID
	}
	if u.Name != "" {
		return u.Name
	}
	return u.Key
}

// identitiesOf lists the facts a user object reports besides the id
// events carry (userID): the Data Center key when it differs from the
// name, and the email address when the site exposes it. Only the engine
// matches them against configured members.
func (c *Collector) identitiesOf(u *user) []model.Identity {
	id := c.userID(u)
	if id == "" {
		return nil
	}
	var out []model.Identity
	if u.Key != "" && u.Key != id {
		out = append(out, model.Identity{Source: model.SourceJira, Account: id, Kind: model.IdentityKey, Value: u.Key})
	}
	if u.EmailAddress != "" {
		out = append(out, model.Identity{Source: model.SourceJira, Account: id, Kind: model.IdentityEmail, Value: u.EmailAddress})
	}
	return out
}

// category returns a status's category key from its id, else its name.
func (c *Collector) category(id, name string) (string, bool) {
	if k, ok := c.statusCat[id]; ok && id != "" {
		return k, true
	}
	k, ok := c.statusByNm[strings.ToLower(name)]
	return k, ok
}

// fieldOf names a changelog item's field: its fieldId (Cloud), or for Data
// Center (no fieldId) the display name mapped to the id.
func (c *Collector) fieldOf(it *histItem) string {
	switch strings.ToLower(it.FieldID) {
	case "":
	case "issueparentassociation", "parent":
		return "parent"
	default:
		return it.FieldID
	}
	switch f := strings.ToLower(it.Field); f {
	case "status", "assignee", "labels", "resolution":
		return f
	case "fix version", "fixversions":
		return "fixVersions"
	case "component", "components":
		return "components"
	case "parent", "epic link", "issueparentassociation":
		return "parent"
	}
	if c.teamFieldID != "" && (strings.EqualFold(it.Field, c.target.TeamField) || strings.EqualFold(it.Field, c.teamFieldID)) {
		return c.teamFieldID
	}
	return ""
}

// bulkFields are the changelog fields bulkfetch is asked for (at most 10).
func (c *Collector) bulkFields() []string {
	f := []string{"status", "assignee", "fixVersions", "components", "parent"}
	if c.teamFieldID != "" {
		f = append(f, c.teamFieldID)
	}
	if c.wantLinks() {
		f = append(f, "issuelinks")
	}
	for _, d := range c.dateFields() {
		if len(f) < 10 {
			f = append(f, d)
		}
	}
	return f
}

// bulkfetch returns the filtered histories of the issues, by issue id.
// Calls are sized to fit one answer: a call for more histories than
// maxResults needs a second page for the overflow (in the large benchmark
// 86 calls where 50 carry the histories), so after the first call each
// batch holds as many issues as the histories per issue seen so far let
// fit in 90% of a page (up to bulkIssues).
func (c *Collector) bulkfetch(ctx context.Context, ids []string) (map[string][]history, error) {
	out := map[string][]history{}
	for i := 0; i < len(ids); {
		n := c.bulkBatch()
		chunk := ids[i:min(len(ids), i+n)]
		i += len(chunk)
		req := bulkRequest{IssueIDsOrKeys: chunk, FieldIDs: c.bulkFields(), MaxResults: c.bulkMax}
		seen := map[string]bool{}
		histories := 0
		for {
			var page bulkPage
			if err := c.call(ctx, http.MethodPost, c.api+"/changelog/bulkfetch", req, &page); err != nil {
				return nil, fmt.Errorf("changelog bulkfetch: %w", err)
			}
			for _, l := range page.IssueChangeLogs {
				out[l.IssueID] = append(out[l.IssueID], l.ChangeHistories...)
				histories += len(l.ChangeHistories)
			}
			if page.NextPageToken == "" {
				break
			}
			if seen[page.NextPageToken] {
				return nil, fmt.Errorf("changelog bulkfetch: nextPageToken %q repeated; stopping instead of looping", page.NextPageToken)
			}
			seen[page.NextPageToken] = true
			req.NextPageToken = page.NextPageToken
		}
		c.bulkLearn(len(chunk), histories)
	}
	return out, nil
}

// bulkBatch is the number of issues the next bulkfetch call asks for.
func (c *Collector) bulkBatch() int {
	if c.histPerIssue <= 0 {
		return bulkIssues
	}
	return max(1, min(bulkIssues, int(0.9*float64(c.bulkMax)/c.histPerIssue)))
}

// bulkLearn updates the histories-per-issue estimate from one call: the
// larger of the last call's ratio and a slow average, so one quiet batch
// does not make the next overflow.
func (c *Collector) bulkLearn(issues, histories int) {
	if issues == 0 {
		return
	}
	r := float64(histories) / float64(issues)
	if c.histPerIssue <= 0 {
		c.histPerIssue = r
		return
	}
	c.histPerIssue = max(r, 0.8*c.histPerIssue+0.2*r)
}

// signalMatches returns the ids that jql matches within scope (a JQL
// without ORDER BY) or, when ids is set, among ids.
func (c *Collector) signalMatches(ctx context.Context, jql, scope string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	q := "(" + jql + ") AND " + scope
	if ids != nil {
		q = "(" + jql + ") AND id in (" + strings.Join(ids, ", ") + ")"
	}
	if c.cloud {
		req := searchJQLRequest{JQL: q, MaxResults: idSearchPage, Fields: []string{"id"}}
		seen := map[string]bool{}
		for {
			var page searchJQLPage
			if err := c.call(ctx, http.MethodPost, c.api+"/search/jql", req, &page); err != nil {
				return nil, err
			}
			for _, is := range page.Issues {
				out[is.ID] = true
			}
			if page.IsLast || page.NextPageToken == "" || seen[page.NextPageToken] {
				return out, nil
			}
			seen[page.NextPageToken] = true
			req.NextPageToken = page.NextPageToken
		}
	}
	for startAt := 0; ; {
		var page searchDCPage
		body := map[string]any{"jql": q, "startAt": startAt, "maxResults": 1000, "fields": []string{"id"}}
		if err := c.call(ctx, http.MethodPost, c.api+"/search", body, &page); err != nil {
			return nil, err
		}
		for _, is := range page.Issues {
			out[is.ID] = true
		}
		startAt += len(page.Issues)
		if len(page.Issues) == 0 || startAt >= page.Total {
			return out, nil
		}
	}
}

// flush maps and writes the pending issues in one transaction; the last
// batch (final) carries the new watermark.
//
// The requests of a batch (histories, signals, comments) are made here;
// its mapping and write then run beside the next search page's request
// (local CPU against remote time; one request in flight still), and the
// next flush, the final one included, waits for them first. Nothing the
// search request reads is changed by a write, and the watermark moves
// only with the final batch, written before flush returns: a sync
// interrupted anywhere skips nothing.
func (b *batcher) flush(ctx context.Context, final bool) error {
	if err := b.wait(); err != nil {
		return err
	}
	fetched, err := b.fetch(ctx)
	if err != nil {
		return err
	}
	b.batches++
	b.writing = make(chan error, 1)
	go func(n int) {
		if b.c.hook != nil {
			b.c.hook("write", n)
		}
		b.writing <- b.write(ctx, fetched, final)
	}(b.batches)
	if final {
		return b.wait()
	}
	return nil
}

// write maps a fetched batch and writes it in one transaction, with the
// new watermark when final.
func (b *batcher) write(ctx context.Context, fetched *fetched, final bool) error {
	var page store.Page
	err := cpulane.Do(ctx, func() (err error) {
		page, err = b.c.mapBatch(fetched)
		return err
	})
	if err != nil {
		return err
	}
	page.CommentLists = fetched.lists
	var w time.Time
	if final {
		w = b.maxUpdated
		if w.After(b.limit) {
			w = b.limit
		}
		if w.Before(b.w) {
			w = b.w
		}
		if !w.IsZero() && (!w.Equal(b.w) || !b.stored) {
			page.Cursors = map[string]string{b.cursor: w.UTC().Format(time.RFC3339Nano)}
		}
	}
	if len(page.Items) == 0 && len(page.Cursors) == 0 {
		return nil
	}
	c := b.c
	if err := c.store.ApplyPage(ctx, page); err != nil {
		return err
	}
	c.rememberLists(page.CommentLists)
	for _, p := range fetched.issues {
		c.recent[p.id] = p.updated
	}
	for _, id := range page.Identities {
		c.identities[id] = true
	}
	if final {
		// Keep only what the next window finds again. It starts at
		// w - overlap rounded down to whole minutes (JQL's relative
		// "updated >= -Nm"), so up to a minute earlier; one more minute
		// covers the clocks of collector and site drifting apart. Pruning
		// at w - overlap made a no-change sync write those issues again
		// and run a signal search for them (3 requests instead of 1 in
		// the large benchmark).
		keep := w.Add(-c.overlap - 2*time.Minute)
		for id, u := range c.recent {
			if u.Before(keep) {
				delete(c.recent, id)
			}
		}
	}
	c.logger.Debug("jira batch stored", "issues", len(page.Items), "events", len(page.Events), "final", final)
	return nil
}

// fetched is what one batch fetched: the changed issues with their
// complete histories and comments, and the signals each matches. Mapping
// it into a page needs no further request.
type fetched struct {
	issues  []*parsed
	hist    map[string][]history // issue id -> histories
	signals map[string][]string  // issue id -> signal names
	lists   []store.CommentList  // comment lists cut by the search
}

// fetch decodes the pending search results and completes them over the
// network: histories (bulkfetch on a Cloud full sync; embedded changelogs
// otherwise, completed by bulkfetch where Cloud cut them), comment lists
// Cloud cut at 20, status metadata for unknown ids, signal membership.
// Issues an earlier sync wrote in exactly this state are skipped.
func (b *batcher) fetch(ctx context.Context) (*fetched, error) {
	c := b.c
	issues := b.pending
	b.pending = nil
	if n := b.take; n > 0 && n < len(issues) {
		// Keep the rest for the next batch (copied: the taken slice is
		// still read while the next pages are appended).
		issues, b.pending = issues[:n:n], append([]rawIssue(nil), issues[n:]...)
	}
	b.take = 0
	f := &fetched{hist: map[string][]history{}, signals: map[string][]string{}}
	for i := range issues {
		p, err := c.decodeIssue(&issues[i])
		if err != nil {
			return nil, err
		}
		if p.updated.After(b.maxUpdated) {
			b.maxUpdated = p.updated
		}
		b.seen++
		if u, ok := c.recent[p.id]; ok && u.Equal(p.updated) {
			continue // written by an earlier sync in exactly this state
		}
		f.issues = append(f.issues, p)
	}

	var complete []string
	for _, p := range f.issues {
		if !c.cloud || b.incremental {
			if cl := p.changelog; cl != nil {
				f.hist[p.id] = cl.Histories
				if cl.Total > len(cl.Histories) {
					if !c.cloud {
						c.logger.Warn("changelog truncated on Data Center; older history of this issue is missing",
							"issue", p.key, "total", cl.Total, "got", len(cl.Histories))
					} else if oldestAtOrAfter(cl.Histories, b.from) {
						complete = append(complete, p.id)
					}
				}
			} else if c.cloud {
				complete = append(complete, p.id)
			}
		} else {
			complete = append(complete, p.id)
		}
	}
	if len(complete) > 0 {
		got, err := c.bulkfetch(ctx, complete)
		if err != nil {
			return nil, err
		}
		for _, id := range complete {
			f.hist[id] = mergeHistories(f.hist[id], got[id])
		}
	}

	// Unknown status ids: refresh /status once per sync.
	if !b.refreshedMeta && c.unknownStatus(f.issues, f.hist) {
		b.refreshedMeta = true
		if err := c.loadMeta(ctx, true); err != nil {
			return nil, err
		}
	}

	if len(f.issues) > 0 {
		if err := b.matchSignals(ctx, f); err != nil {
			return nil, err
		}
	}

	// Comments: Cloud's search embeds at most 20 per issue; the rest of a
	// longer list (total says so) comes from the comment endpoint, from
	// what is stored on, and only when it can change a figure
	// (comments.go). Only issues changed in this sync are here, so an
	// unchanged issue never costs a comment request. After the signals:
	// they are part of the item the policy judges.
	if err := b.completeComments(ctx, f); err != nil {
		return nil, err
	}
	return f, nil
}

// matchSignals finds the signals each fetched issue matches. The first
// batch with issues runs one id-only search per signal over the whole
// scope and window of this sync (`(<signal>) AND <scope>`), kept for the
// later batches: one search per signal per sync instead of one per batch.
// An issue updated after that search began (less the overlap, for clock
// skew) may have changed since, so it is checked on its own with the
// per-batch `id in (..)` form, which a quiet sync never needs.
func (b *batcher) matchSignals(ctx context.Context, f *fetched) error {
	c := b.c
	if b.sig == nil {
		b.sig = map[string]map[string]bool{}
		b.sigSince = c.now().UTC().Add(-c.overlap)
		for _, s := range c.cfg.Signals {
			if strings.TrimSpace(s.JiraJQL) == "" {
				continue
			}
			m, err := c.signalMatches(ctx, s.JiraJQL, b.scope, nil)
			if err != nil {
				return fmt.Errorf("signal %s: %w", s.Name, err)
			}
			b.sig[s.Name] = m
		}
	}
	var late []string
	for _, p := range f.issues {
		if !p.updated.Before(b.sigSince) {
			late = append(late, p.id)
		}
	}
	lateSet := map[string]bool{}
	for _, id := range late {
		lateSet[id] = true
	}
	for _, s := range c.cfg.Signals {
		if strings.TrimSpace(s.JiraJQL) == "" {
			continue
		}
		for _, p := range f.issues {
			if !lateSet[p.id] && b.sig[s.Name][p.id] {
				f.signals[p.id] = append(f.signals[p.id], s.Name)
			}
		}
		for i := 0; i < len(late); i += bulkIssues {
			chunk := late[i:min(len(late), i+bulkIssues)]
			m, err := c.signalMatches(ctx, s.JiraJQL, "", chunk)
			if err != nil {
				return fmt.Errorf("signal %s: %w", s.Name, err)
			}
			for _, id := range chunk {
				if m[id] {
					f.signals[id] = append(f.signals[id], s.Name)
				}
			}
		}
	}
	return nil
}

// mapBatch maps a fetched batch into one store page: items, the milestones
// they carry, events, and the identity facts of every user object in it
// not stored yet. It makes no request; it reads only the site metadata
// loaded before (status categories, the team field's id).
func (c *Collector) mapBatch(f *fetched) (store.Page, error) {
	page := store.Page{Source: model.SourceJira, Target: c.Name()}
	msSeen := map[string]bool{}
	idSeen := map[model.Identity]bool{}
	fact := func(u *user) {
		for _, id := range c.identitiesOf(u) {
			if !c.identities[id] && !idSeen[id] {
				idSeen[id] = true
				page.Identities = append(page.Identities, id)
			}
		}
	}
	for _, p := range f.issues {
		item, ms := c.mapItem(p, f.signals[p.id])
		page.Items = append(page.Items, item)
		for _, m := range ms {
			if !msSeen[m.Key] {
				msSeen[m.Key] = true
				page.Milestones = append(page.Milestones, m)
			}
		}
		evs, err := c.mapEvents(p, f.hist[p.id])
		if err != nil {
			return store.Page{}, err
		}
		page.Events = append(page.Events, evs...)
		fact(p.assignee)
		fact(p.reporter)
		for i := range f.hist[p.id] {
			fact(f.hist[p.id][i].Author)
		}
		if p.comments != nil {
			for i := range p.comments.Comments {
				fact(p.comments.Comments[i].Author)
			}
		}
	}
	return page, nil
}

// fetchComments reads the comments of an issue from startAt on (the
// oldest startAt are stored) from GET /issue/{key}/comment,
// commentPageSize per page, oldest first, and the total the API reports.
func (c *Collector) fetchComments(ctx context.Context, key string, startAt int) ([]comment, int, error) {
	var out []comment
	for {
		var page commentPage
		path := fmt.Sprintf("%s/issue/%s/comment?startAt=%d&maxResults=%d", c.api, url.PathEscape(key), startAt, commentPageSize)
		if err := c.call(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, 0, fmt.Errorf("issue %s: comments: %w", key, err)
		}
		out = append(out, page.Comments...)
		startAt += len(page.Comments)
		if len(page.Comments) == 0 || startAt >= page.Total {
			return out, page.Total, nil
		}
	}
}

// mergeComments unions two comment lists by id (b wins).
func mergeComments(a, b []comment) []comment {
	byID := make(map[string]bool, len(b))
	out := append([]comment(nil), b...)
	for _, x := range b {
		byID[x.ID] = true
	}
	for _, x := range a {
		if !byID[x.ID] {
			out = append(out, x)
		}
	}
	return out
}

// oldestAtOrAfter reports whether the oldest of hs is at or after from (so
// histories between from and it may be missing).
func oldestAtOrAfter(hs []history, from time.Time) bool {
	if len(hs) == 0 {
		return true
	}
	oldest := hs[0].Created.Time
	for _, h := range hs[1:] {
		if h.Created.Before(oldest) {
			oldest = h.Created.Time
		}
	}
	return !oldest.Before(from)
}

// mergeHistories unions two history lists by id (b wins).
func mergeHistories(a, b []history) []history {
	if len(a) == 0 {
		return b
	}
	byID := map[string]bool{}
	out := append([]history(nil), b...)
	for _, h := range b {
		byID[h.ID] = true
	}
	for _, h := range a {
		if !byID[h.ID] {
			out = append(out, h)
		}
	}
	return out
}

func (c *Collector) unknownStatus(ps []*parsed, hist map[string][]history) bool {
	for _, p := range ps {
		if p.status.ID != "" {
			if _, ok := c.statusCat[p.status.ID]; !ok {
				return true
			}
		}
		for _, h := range hist[p.id] {
			for i := range h.Items {
				it := &h.Items[i]
				if c.fieldOf(it) != "status" {
					continue
				}
				for _, id := range []string{str(it.From), str(it.To)} {
					if _, ok := c.statusCat[id]; id != "" && !ok {
						return true
					}
				}
			}
		}
	}
	return false
}

func (c *Collector) epicValue(p *parsed) string {
	if p.parent == nil || p.parent.Key == "" || (p.itype != nil && p.itype.Subtask) {
		return ""
	}
	if p.parent.Fields.IssueType != nil && !p.parent.Fields.IssueType.isEpic() {
		return ""
	}
	return model.JiraEpicPrefix + p.parent.Key
}

// mapItem builds the item and the milestone records it carries.
func (c *Collector) mapItem(p *parsed, signals []string) (model.Item, []model.Milestone) {
	it := model.Item{
		Source: model.SourceJira, Key: p.key, Target: c.Name(), Kind: model.KindJiraIssue,
		URL: c.browse + "/browse/" + p.key, Title: p.summary, Author: c.userID(p.reporter),
		Created: p.created, Closed: p.resolved, Updated: p.updated, Status: p.status.Name, TeamValue: p.team,
		Labels: p.labels, Signals: signals,
	}
	if cat, _ := c.category(p.status.ID, p.status.Name); it.Closed.IsZero() && cat == "done" {
		it.Closed = p.updated
	}
	if a := c.userID(p.assignee); a != "" {
		it.Assignees = []string{a}
	}
	for _, comp := range p.components {
		it.Components = append(it.Components, comp.Name)
	}
	var ms []model.Milestone
	project, _, _ := strings.Cut(p.key, "-")
	for _, v := range p.versions {
		it.Milestones = append(it.Milestones, v.Name)
		m := model.Milestone{Source: model.SourceJira, Key: model.JiraVersionPrefix + v.ID, Title: v.Name,
			URL: c.browse + "/projects/" + project + "/versions/" + v.ID}
		if d, err := time.Parse("2006-01-02", v.ReleaseDate); err == nil {
			m.Due = endOfDay(d)
			if v.Released {
				m.Closed = m.Due
			}
		}
		ms = append(ms, m)
	}
	if e := c.epicValue(p); e != "" {
		it.Milestones = append(it.Milestones, e)
		ms = append(ms, model.Milestone{Source: model.SourceJira, Key: e, Title: p.parent.Fields.Summary,
			URL: c.browse + "/browse/" + p.parent.Key})
	}
	if p.itype.isEpic() {
		ms = append(ms, model.Milestone{Source: model.SourceJira, Key: model.JiraEpicPrefix + p.key, Title: p.summary,
			URL: it.URL, Due: p.due, Closed: it.Closed})
	}
	return it, ms
}

// mapEvents turns an issue's histories into events, oldest first; ids are
// "<history id>/<field>[/<+|-><value>]" so the same change fetched through
// search expand and through bulkfetch is one event.
func (c *Collector) mapEvents(p *parsed, hs []history) ([]model.Event, error) {
	sort.SliceStable(hs, func(i, j int) bool {
		if !hs[i].Created.Equal(hs[j].Created.Time) {
			return hs[i].Created.Before(hs[j].Created.Time)
		}
		a, _ := strconv.ParseInt(hs[i].ID, 10, 64)
		b, _ := strconv.ParseInt(hs[j].ID, 10, 64)
		return a < b
	})
	evs := []model.Event{{Source: model.SourceJira, ID: p.id + "/created", ItemKey: p.key, At: p.created,
		Actor: c.userID(p.reporter), Kind: model.EventCreated}}
	subtask := p.itype != nil && p.itype.Subtask
	seen := map[string]bool{}
	for hi := range hs {
		h := &hs[hi]
		if h.ID == "" || h.Created.IsZero() {
			return nil, fmt.Errorf("issue %s: changelog history %q: missing id or created", p.key, h.ID)
		}
		if seen[h.ID] {
			continue
		}
		seen[h.ID] = true
		actor := c.userID(h.Author)
		ev := func(suffix string, kind model.EventKind) model.Event {
			return model.Event{Source: model.SourceJira, ID: h.ID + "/" + suffix, ItemKey: p.key, At: h.Created.Time,
				Actor: actor, Kind: kind}
		}
		for ii := range h.Items {
			it := &h.Items[ii]
			from, to, fromS, toS := str(it.From), str(it.To), str(it.FromString), str(it.ToString)
			switch f := c.fieldOf(it); f {
			case "status":
				e := ev("status", model.EventStatusChanged)
				e.From, e.To = fromS, toS
				evs = append(evs, e)
				fc, _ := c.category(from, fromS)
				tc, _ := c.category(to, toS)
				if fc != "done" && tc == "done" {
					evs = append(evs, ev("closed", model.EventClosed))
				} else if fc == "done" && tc != "done" {
					evs = append(evs, ev("reopened", model.EventReopened))
				}
			case "assignee":
				if from != "" {
					e := ev("assignee/-"+from, model.EventUnassigned)
					e.Value = from
					evs = append(evs, e)
				}
				if to != "" {
					e := ev("assignee/+"+to, model.EventAssigned)
					e.Value = to
					evs = append(evs, e)
				}
			case "components", "fixVersions":
				add, rm := model.EventComponentAdded, model.EventComponentRemoved
				if f == "fixVersions" {
					add, rm = model.EventMilestoned, model.EventDemilestoned
				}
				if fromS != "" {
					e := ev(f+"/-"+fromS, rm)
					e.Value = fromS
					evs = append(evs, e)
				}
				if toS != "" {
					e := ev(f+"/+"+toS, add)
					e.Value = toS
					evs = append(evs, e)
				}
			case "parent":
				if subtask {
					continue
				}
				if fromS != "" {
					e := ev("parent/-"+fromS, model.EventDemilestoned)
					e.Value = model.JiraEpicPrefix + fromS
					evs = append(evs, e)
				}
				if toS != "" {
					e := ev("parent/+"+toS, model.EventMilestoned)
					e.Value = model.JiraEpicPrefix + toS
					evs = append(evs, e)
				}
			case "":
			default:
				if f == c.teamFieldID {
					e := ev("team", model.EventTeamFieldChanged)
					e.From, e.To = fromS, toS
					evs = append(evs, e)
				}
			}
		}
	}
	// Comments: activity by their author (a pickup when a member of the
	// receiving team writes first); ids are site-wide, so "comment:<id>"
	// is one event however often the comment is fetched.
	if p.comments != nil {
		cseen := map[string]bool{}
		for i := range p.comments.Comments {
			cm := &p.comments.Comments[i]
			if cm.ID == "" || cm.Created.IsZero() {
				return nil, fmt.Errorf("issue %s: comment %q: missing id or created", p.key, cm.ID)
			}
			if cseen[cm.ID] {
				continue
			}
			cseen[cm.ID] = true
			evs = append(evs, commentEvent(p.key, cm, c.userID(cm.Author)))
		}
	}
	evs = append(evs, c.recordEvents(p, hs)...)
	return evs, nil
}
