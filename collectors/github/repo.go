package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/store"
)

// maxSettleRounds bounds how often a since-walk restarts at its new
// watermark to learn that URL's ETag.
const maxSettleRounds = 3

// repoSync is the sync of one repository.
type repoSync struct {
	c                 *Collector
	full, owner, name string

	seen map[int]seenIssue // issues/PRs listed in this sync
	// pending: pull requests listed (by this or an interrupted earlier
	// sync) whose reviews have not been checked yet, with the updated_at
	// they were listed with. Stored as the reviews_pending cursor with
	// every issues page, so a sync that stops between the issue list and
	// the reviews never forgets a PR whose issue watermark already moved.
	pending   map[int]time.Time
	reviewReq map[int]bool // PRs with a review request seen in this sync
	// depsPending: issues listed whose dependencies are not fetched yet
	// (dependencies.go), kept like pending.
	depsPending map[int]time.Time
}

type seenIssue struct {
	created, updated time.Time
	pr               bool
}

// Cursor and ETag names, scoped by repository (the store scopes them by
// target).
func (rs *repoSync) key(name string) string { return rs.full + ":" + name }

func (rs *repoSync) path(rest string) string {
	return "repos/" + url.PathEscape(rs.owner) + "/" + url.PathEscape(rs.name) + rest
}

func (rs *repoSync) itemKey(n int) string { return rs.full + "#" + strconv.Itoa(n) }

func (rs *repoSync) page() store.Page {
	return store.Page{Source: model.SourceGitHub, Target: rs.c.Name()}
}

func (rs *repoSync) apply(ctx context.Context, p store.Page) error {
	if err := rs.c.store.ApplyPage(ctx, p); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func (rs *repoSync) cursor(ctx context.Context, name string) (string, bool, error) {
	v, ok, err := rs.c.store.Cursor(ctx, model.SourceGitHub, rs.c.Name(), rs.key(name))
	if err != nil {
		return "", false, fmt.Errorf("store: %w", err)
	}
	return v, ok, nil
}

func (rs *repoSync) fail(step string, err error) error {
	return fmt.Errorf("%s: %w", step, describe(err, "repository "+rs.full))
}

func (rs *repoSync) sync(ctx context.Context) error {
	rs.seen = map[int]seenIssue{}
	rs.reviewReq = map[int]bool{}
	v, _, err := rs.cursor(ctx, "reviews_pending")
	if err != nil {
		return err
	}
	rs.pending = decodePending(v)
	if err := rs.loadDepsPending(ctx); err != nil {
		return err
	}
	if err := rs.issues(ctx); err != nil {
		return err
	}
	if err := rs.events(ctx); err != nil {
		return err
	}
	if err := rs.pendingIssueEvents(ctx); err != nil {
		return err
	}
	if err := rs.comments(ctx); err != nil {
		return err
	}
	if err := rs.milestones(ctx); err != nil {
		return err
	}
	if err := rs.reviews(ctx); err != nil {
		return err
	}
	return rs.dependencies(ctx) // dependencies.go
}

// sinceWalk lists path?params&since=W (sort=updated asc) page by page from
// the stored watermark, writing each page with the watermark advanced to
// the last updated_at on it (never past now). The first page is
// conditional on the ETag stored for exactly that URL. When the watermark
// moved, the walk runs once more at the new watermark, so the ETag stored
// is the one of the URL the next sync will ask for.
func sinceWalk[T any](ctx context.Context, rs *repoSync, step, path, cursorName string, params url.Values,
	conv func(list []T, p *store.Page) (last time.Time)) error {
	c := rs.c
	w, ok, err := rs.cursor(ctx, cursorName)
	if err != nil {
		return err
	}
	if !ok && !c.since.IsZero() {
		w = c.since.Format(time.RFC3339)
	}
	etagKey := rs.key(cursorName + " etag")
	for round := 0; round < maxSettleRounds; round++ {
		q := url.Values{}
		for k, v := range params {
			q[k] = v
		}
		if w != "" {
			q.Set("since", w)
		}
		first := path + "?" + q.Encode()
		etag := c.storedETag(ctx, etagKey, first)
		next, firstTag, newW := first, "", w
		for next != "" {
			var list []T
			tag := ""
			if next == first {
				tag = etag
			}
			res, err := c.get(ctx, next, tag, &list)
			if err != nil {
				return rs.fail(step, err)
			}
			if res.notModified {
				return nil
			}
			if next == first {
				firstTag = res.etag
			}
			p := rs.page()
			last := conv(list, &p)
			if !last.IsZero() {
				if now := c.now().UTC(); last.After(now) {
					last = now
				}
				if s := last.UTC().Format(time.RFC3339); newW == "" || later(s, newW) {
					newW = s
				}
			}
			if newW != "" {
				if p.Cursors == nil {
					p.Cursors = map[string]string{}
				}
				p.Cursors[rs.key(cursorName)] = newW
			}
			next = res.next
			if next == "" && firstTag != "" {
				p.ETags = map[string]string{etagKey: first + " " + firstTag}
			}
			if err := rs.apply(ctx, p); err != nil {
				return fmt.Errorf("%s: %w", step, err)
			}
		}
		if newW == w {
			return nil
		}
		w = newW
	}
	return nil
}

// later reports whether RFC 3339 instant a is after b.
func later(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339, a)
	tb, err2 := time.Parse(time.RFC3339, b)
	if err1 != nil || err2 != nil {
		return a > b
	}
	return ta.After(tb)
}

// issues syncs the issue and pull request list.
func (rs *repoSync) issues(ctx context.Context) error {
	params := url.Values{"state": {"all"}, "sort": {"updated"}, "direction": {"asc"}, "per_page": {"100"}}
	return sinceWalk(ctx, rs, "list issues", rs.path("/issues"), "issues_since", params,
		func(list []*wireIssue, p *store.Page) time.Time {
			var last time.Time
			prs := false
			defer func() {
				if prs {
					if p.Cursors == nil {
						p.Cursors = map[string]string{}
					}
					p.Cursors[rs.key("reviews_pending")] = encodePending(rs.pending)
				}
			}()
			for _, w := range list {
				is := &w.Issue
				it := rs.item(is)
				p.Items = append(p.Items, it)
				if e, ok := createdEvent(it); ok {
					p.Events = append(p.Events, e)
				}
				rs.seen[is.GetNumber()] = seenIssue{created: it.Created, updated: it.Updated, pr: it.Kind == model.KindPullRequest}
				if it.Kind == model.KindPullRequest {
					if it.Updated.After(rs.pending[is.GetNumber()]) {
						rs.pending[is.GetNumber()] = it.Updated
					}
					prs = true
				}
				if it.Updated.After(last) {
					last = it.Updated
				}
			}
			rs.noteDeps(ctx, list, p)
			return last
		})
}

// createdEvent is the created event an issue page stores for each item
// with a creation instant.
func createdEvent(it model.Item) (model.Event, bool) {
	if it.Created.IsZero() {
		return model.Event{}, false
	}
	return model.Event{
		Source: model.SourceGitHub, ID: "created:" + it.Key, ItemKey: it.Key,
		At: it.Created, Actor: it.Author, Kind: model.EventCreated,
	}, true
}

func (rs *repoSync) item(is *gh.Issue) model.Item {
	it := model.Item{
		Source: model.SourceGitHub, Key: rs.itemKey(is.GetNumber()), Target: rs.c.Name(),
		Kind: model.KindIssue, URL: is.GetHTMLURL(), Title: is.GetTitle(), Author: is.GetUser().GetLogin(),
		Created: is.GetCreatedAt().Time.UTC(), Closed: utc(is.GetClosedAt().Time), Updated: is.GetUpdatedAt().Time.UTC(),
	}
	if is.IsPullRequest() {
		it.Kind = model.KindPullRequest
	}
	if m := is.GetMilestone(); m != nil && m.GetTitle() != "" {
		it.Milestones = []string{m.GetTitle()}
	}
	for _, l := range is.Labels {
		if l.GetName() != "" {
			it.Labels = append(it.Labels, l.GetName())
		}
	}
	for _, a := range is.Assignees {
		if a.GetLogin() != "" {
			it.Assignees = append(it.Assignees, a.GetLogin())
		}
	}
	return it
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// mapEvent converts an issue event of issue n; ok is false for types that
// are not kept.
func (rs *repoSync) mapEvent(ev *gh.IssueEvent, n int) (model.Event, bool) {
	e := model.Event{
		Source: model.SourceGitHub, ID: strconv.FormatInt(ev.GetID(), 10), ItemKey: rs.itemKey(n),
		At: utc(ev.GetCreatedAt().Time), Actor: ev.GetActor().GetLogin(),
	}
	switch ev.GetEvent() {
	case "labeled", "unlabeled":
		e.Kind, e.Value = model.EventKind(ev.GetEvent()), ev.GetLabel().GetName()
	case "assigned", "unassigned":
		e.Kind, e.Value = model.EventKind(ev.GetEvent()), ev.GetAssignee().GetLogin()
	case "review_requested", "review_request_removed":
		e.Kind = model.EventKind(ev.GetEvent())
		if u := ev.GetRequestedReviewer(); u != nil && u.GetLogin() != "" {
			e.Value = u.GetLogin()
		} else if t := ev.GetRequestedTeam(); t != nil && t.GetSlug() != "" {
			e.Team = rs.owner + "/" + t.GetSlug()
		}
	case "closed":
		e.Kind = model.EventClosed
	case "reopened":
		e.Kind = model.EventReopened
	case "merged":
		e.Kind = model.EventMerged
	case "milestoned", "demilestoned":
		e.Kind, e.Value = model.EventKind(ev.GetEvent()), ev.GetMilestone().GetTitle()
	default:
		return model.Event{}, false
	}
	if ev.GetID() == 0 || e.At.IsZero() || n == 0 {
		return model.Event{}, false
	}
	return e, true
}

// events walks the repository issue events feed, newest first, down to the
// last stored event id. Pages of new events are written as they arrive
// without moving the cursor; a final page moves events_last_id (and stores
// the first page's ETag) once every newer event is stored.
func (rs *repoSync) events(ctx context.Context) error {
	c := rs.c
	var lastID int64
	if v, ok, err := rs.cursor(ctx, "events_last_id"); err != nil {
		return err
	} else if ok {
		lastID, _ = strconv.ParseInt(v, 10, 64)
	}
	first := rs.path("/issues/events?per_page=100")
	etagKey := rs.key("events etag")
	etag := c.storedETag(ctx, etagKey, first)
	next, firstTag, newest := first, "", lastID
	var oldest time.Time
	horizon, seenAny := false, false
	// A walk interrupted (crash, error) after some pages resumes at the
	// page it had reached instead of re-fetching from the newest page. That
	// is safe although the feed is newest first: events that arrived since
	// only push older ones to later pages, so nothing unseen is skipped.
	if v, ok, err := rs.cursor(ctx, "events_walk"); err != nil {
		return err
	} else if ok && v != "" {
		var w eventsWalk
		if json.Unmarshal([]byte(v), &w) == nil && w.LastID == lastID && w.Next != "" {
			next, firstTag, newest, oldest, seenAny = w.Next, w.FirstTag, w.Newest, w.Oldest, w.SeenAny
		}
	}
	for next != "" {
		var wire []*wireEvent
		tag := ""
		if next == first {
			tag = etag
		}
		res, err := c.get(ctx, next, tag, &wire)
		list := issueEvents(wire)
		if err != nil {
			var er *gh.ErrorResponse
			if next != first && errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnprocessableEntity {
				horizon = true
				c.logger.Info("events history horizon reached", "repo", rs.full, "oldest", oldest)
				break
			}
			return rs.fail("list issue events", err)
		}
		if res.notModified {
			return nil
		}
		if next == first {
			firstTag = res.etag
		}
		m := rs.mapEventsPage(list, lastID, walkState{newest: newest, oldest: oldest, seenAny: seenAny})
		newest, oldest, seenAny = m.newest, m.oldest, m.seenAny
		stop := m.stop
		p := rs.page()
		p.Events = m.events
		for _, n := range m.reviewRequested {
			rs.reviewReq[n] = true
			if p.Cursors == nil {
				p.Cursors = map[string]string{}
			}
			p.Cursors[rs.key("review_requested:"+strconv.Itoa(n))] = "1"
		}
		if !stop && res.next != "" {
			b, _ := json.Marshal(eventsWalk{LastID: lastID, Newest: newest, Next: res.next, FirstTag: firstTag, Oldest: oldest, SeenAny: seenAny})
			if p.Cursors == nil {
				p.Cursors = map[string]string{}
			}
			p.Cursors[rs.key("events_walk")] = string(b)
		}
		if len(p.Events) > 0 || len(p.Cursors) > 0 {
			if err := rs.apply(ctx, p); err != nil {
				return fmt.Errorf("list issue events: %w", err)
			}
		}
		if stop {
			break
		}
		next = res.next
	}
	p := rs.page()
	p.Cursors = map[string]string{rs.key("events_walk"): ""}
	if newest > lastID {
		p.Cursors[rs.key("events_last_id")] = strconv.FormatInt(newest, 10)
	}
	if firstTag != "" {
		p.ETags = map[string]string{etagKey: first + " " + firstTag}
	}
	if horizon {
		pending, _, err := rs.cursor(ctx, "issue_events_pending")
		if err != nil {
			return err
		}
		set := map[int]bool{}
		for _, n := range parseInts(pending) {
			set[n] = true
		}
		for n, s := range rs.seen {
			if !seenAny || s.created.Before(oldest) {
				set[n] = true
			}
		}
		p.Cursors[rs.key("issue_events_pending")] = joinInts(set)
	}
	return rs.apply(ctx, p)
}

// walkState is what an events walk knows after the pages it read.
type walkState struct {
	newest  int64     // newest event id seen
	oldest  time.Time // oldest event instant seen
	seenAny bool
}

// mappedEvents is one page of the events feed, mapped.
type mappedEvents struct {
	walkState
	events          []model.Event
	reviewRequested []int // numbers of items with a review request in the page
	stop            bool  // the page reached an event stored before (id <= lastID)
}

// mapEventsPage maps one page of the repository events feed (newest
// first) into events, without a request: events above lastID in feed
// order, the walk's state moved on by them, and where the walk reached
// what an earlier sync stored.
func (rs *repoSync) mapEventsPage(list []*gh.IssueEvent, lastID int64, w walkState) mappedEvents {
	m := mappedEvents{walkState: w}
	for _, ev := range list {
		id := ev.GetID()
		if id <= lastID {
			m.stop = true
			break
		}
		m.newest = max(m.newest, id)
		if at := ev.GetCreatedAt().Time; !at.IsZero() && (!m.seenAny || at.Before(m.oldest)) {
			m.oldest, m.seenAny = at.UTC(), true
		}
		n := ev.GetIssue().GetNumber()
		e, ok := rs.mapEvent(ev, n)
		if !ok {
			continue
		}
		m.events = append(m.events, e)
		if e.Kind == model.EventReviewRequested {
			m.reviewRequested = append(m.reviewRequested, n)
		}
	}
	return m
}

// eventsWalk is the progress of an events walk, stored with every page so
// that an interrupted walk resumes where it stopped.
type eventsWalk struct {
	LastID   int64     `json:"last_id"`   // events_last_id the walk started from
	Newest   int64     `json:"newest"`    // newest event id seen so far
	Next     string    `json:"next"`      // the next page to fetch
	FirstTag string    `json:"first_tag"` // ETag of the first page, stored when the walk ends
	Oldest   time.Time `json:"oldest"`    // oldest event instant seen (history horizon)
	SeenAny  bool      `json:"seen_any"`
}

// pendingIssueEvents fetches, once per issue, the events of issues older
// than the events feed's history horizon.
func (rs *repoSync) pendingIssueEvents(ctx context.Context) error {
	pending, ok, err := rs.cursor(ctx, "issue_events_pending")
	if err != nil || !ok || pending == "" {
		return err
	}
	for _, n := range parseInts(pending) {
		doneKey := "issue_events_done:" + strconv.Itoa(n)
		if _, done, err := rs.cursor(ctx, doneKey); err != nil {
			return err
		} else if done {
			continue
		}
		next := rs.path("/issues/" + strconv.Itoa(n) + "/events?per_page=100")
		for next != "" {
			var wire []*wireEvent
			res, err := rs.c.get(ctx, next, "", &wire)
			list := issueEvents(wire)
			if err != nil {
				return rs.fail(fmt.Sprintf("list events of #%d", n), err)
			}
			p := rs.page()
			for _, ev := range list {
				if e, ok := rs.mapEvent(ev, n); ok {
					p.Events = append(p.Events, e)
					if e.Kind == model.EventReviewRequested {
						rs.reviewReq[n] = true
					}
				}
			}
			next = res.next
			if next == "" {
				p.Cursors = map[string]string{rs.key(doneKey): "1"}
			}
			if err := rs.apply(ctx, p); err != nil {
				return fmt.Errorf("list events of #%d: %w", n, err)
			}
		}
	}
	p := rs.page()
	p.Cursors = map[string]string{rs.key("issue_events_pending"): ""}
	return rs.apply(ctx, p)
}

// comments syncs issue and PR comments updated since the watermark.
func (rs *repoSync) comments(ctx context.Context) error {
	params := url.Values{"sort": {"updated"}, "direction": {"asc"}, "per_page": {"100"}}
	return sinceWalk(ctx, rs, "list comments", rs.path("/issues/comments"), "comments_since", params,
		func(list []*gh.IssueComment, p *store.Page) time.Time {
			var last time.Time
			for _, cm := range list {
				if u := cm.GetUpdatedAt().Time; u.After(last) {
					last = u
				}
				n := issueNumber(cm.GetIssueURL())
				at := utc(cm.GetCreatedAt().Time)
				if n == 0 || at.IsZero() || cm.GetID() == 0 {
					continue
				}
				p.Events = append(p.Events, model.Event{
					Source: model.SourceGitHub, ID: "comment:" + strconv.FormatInt(cm.GetID(), 10),
					ItemKey: rs.itemKey(n), At: at, Actor: cm.GetUser().GetLogin(), Kind: model.EventCommented,
				})
			}
			return last
		})
}

// issueNumber is the trailing number of an issue API URL.
func issueNumber(u string) int {
	i := strings.LastIndexByte(u, '/')
	n, err := strconv.Atoi(u[i+1:])
	if err != nil {
		return 0
	}
	return n
}

// milestones syncs the milestone list (all states), conditionally.
func (rs *repoSync) milestones(ctx context.Context) error {
	c := rs.c
	first := rs.path("/milestones?per_page=100&state=all")
	etagKey := rs.key("milestones etag")
	etag := c.storedETag(ctx, etagKey, first)
	list, tag, unchanged, err := listAll[*gh.Milestone](ctx, c, first, etag)
	if err != nil {
		return rs.fail("list milestones", err)
	}
	if unchanged {
		return nil
	}
	p := rs.page()
	for _, m := range list {
		if m.GetNumber() == 0 {
			continue
		}
		p.Milestones = append(p.Milestones, model.Milestone{
			Source: model.SourceGitHub, Key: rs.full + "/milestones/" + strconv.Itoa(m.GetNumber()),
			Title: m.GetTitle(), URL: m.GetHTMLURL(), Due: utc(m.GetDueOn().Time), Closed: utc(m.GetClosedAt().Time),
		})
	}
	if tag != "" {
		p.ETags = map[string]string{etagKey: first + " " + tag}
	}
	if err := rs.apply(ctx, p); err != nil {
		return fmt.Errorf("list milestones: %w", err)
	}
	return nil
}

// reviews fetches the reviews of pull requests listed in this sync that
// have (or had) a review request, when they were updated after the last
// reviews fetch.
func (rs *repoSync) reviews(ctx context.Context) error {
	nums := make([]int, 0, len(rs.pending))
	for n := range rs.pending {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	// done removes n from the pending set; the set is stored with the next
	// page written, or at the end.
	dirty := false
	done := func(n int) { delete(rs.pending, n); dirty = true }
	for _, n := range nums {
		updated := rs.pending[n]
		if !rs.reviewReq[n] {
			_, ok, err := rs.cursor(ctx, "review_requested:"+strconv.Itoa(n))
			if err != nil {
				return err
			}
			if !ok {
				done(n)
				continue
			}
		}
		curName := "reviews_since:" + strconv.Itoa(n)
		if v, ok, err := rs.cursor(ctx, curName); err != nil {
			return err
		} else if ok {
			if t, err := time.Parse(time.RFC3339, v); err == nil && !updated.After(t) {
				done(n)
				continue
			}
		}
		next := rs.path("/pulls/" + strconv.Itoa(n) + "/reviews?per_page=100")
		for next != "" {
			var list []*gh.PullRequestReview
			res, err := rs.c.get(ctx, next, "", &list)
			if err != nil {
				return rs.fail(fmt.Sprintf("list reviews of #%d", n), err)
			}
			p := rs.page()
			for _, rv := range list {
				at := utc(rv.GetSubmittedAt().Time)
				if at.IsZero() || rv.GetID() == 0 {
					continue // pending reviews have no submission time
				}
				p.Events = append(p.Events, model.Event{
					Source: model.SourceGitHub, ID: "review:" + strconv.FormatInt(rv.GetID(), 10), ItemKey: rs.itemKey(n),
					At: at, Actor: rv.GetUser().GetLogin(), Kind: model.EventReviewed, Value: strings.ToLower(rv.GetState()),
				})
			}
			next = res.next
			if next == "" {
				done(n)
				p.Cursors = map[string]string{
					rs.key(curName):           updated.UTC().Format(time.RFC3339),
					rs.key("reviews_pending"): encodePending(rs.pending),
				}
				dirty = false
			}
			if err := rs.apply(ctx, p); err != nil {
				return fmt.Errorf("list reviews of #%d: %w", n, err)
			}
		}
	}
	if !dirty {
		return nil
	}
	p := rs.page()
	p.Cursors = map[string]string{rs.key("reviews_pending"): encodePending(rs.pending)}
	return rs.apply(ctx, p)
}

// encodePending and decodePending store the pending-reviews set as
// "number=updated_at" pairs, sorted by number.
func encodePending(m map[int]time.Time) string {
	nums := make([]int, 0, len(m))
	for n := range m {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	var b strings.Builder
	for i, n := range nums {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(n))
		b.WriteByte('=')
		b.WriteString(m[n].UTC().Format(time.RFC3339))
	}
	return b.String()
}

func decodePending(s string) map[int]time.Time {
	m := map[int]time.Time{}
	for _, f := range strings.Split(s, ",") {
		num, at, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		n, err1 := strconv.Atoi(num)
		t, err2 := time.Parse(time.RFC3339, at)
		if err1 == nil && err2 == nil && n > 0 {
			m[n] = t
		}
	}
	return m
}

func parseInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

func joinInts(set map[int]bool) string {
	ns := make([]int, 0, len(set))
	for n := range set {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}
