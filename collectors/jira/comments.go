package jira

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/store"
)

// CommentPolicy decides whether the comments Cloud's search cut from an
// issue's list (it embeds the oldest 20 and the total) can change a figure
// under the current configuration; the syncer injects one built from the
// engine (engine.CommentJudge). The collector never resolves teams itself:
// it asks, and fetches the rest of the list only when the answer is yes.
type CommentPolicy interface {
	// CutCommentsMatter: it is the issue, evs its known events (stored and
	// just fetched, by time), ids the identity facts of its users seen in
	// this sync, cut the instant of the newest comment stored or embedded;
	// every missing comment was written at or after it.
	CutCommentsMatter(it *model.Item, evs []model.Event, ids []model.Identity, cut time.Time) bool
	// Generation changes whenever the answers may (a configuration
	// reload, changed team members or identity facts); 0: no answer yet,
	// fetch everything.
	Generation() uint64
}

// SetCommentPolicy sets the comment policy (as Options.Comments); the
// syncer injects its own before the first sync. Not while a sync runs.
func (c *Collector) SetCommentPolicy(p CommentPolicy) { c.comments = p }

// commentLists loads the target's stored comment lists once per process
// (then kept current by the pages this collector writes).
func (c *Collector) commentLists(ctx context.Context) (map[string]store.CommentList, error) {
	if c.lists == nil {
		l, err := c.store.CommentLists(ctx, model.SourceJira, c.Name())
		if err != nil {
			return nil, err
		}
		c.lists = l
	}
	return c.lists, nil
}

// policy returns the comment policy when it can answer, else nil (fetch).
func (c *Collector) policy() CommentPolicy {
	if c.comments == nil || c.comments.Generation() == 0 {
		return nil
	}
	return c.comments
}

// completeComments settles the comment list of every fetched issue whose
// total exceeds what its search embedded: the rest is fetched, from
// startAt = the embedded count, when the policy says it can
// matter (or there is none); otherwise the list is recorded as deferred.
// Either way the page records the list's state (store.CommentList).
func (b *batcher) completeComments(ctx context.Context, f *fetched) error {
	c := b.c
	lists, err := c.commentLists(ctx)
	if err != nil {
		return err
	}
	pol := c.policy()
	for _, p := range f.issues {
		cp := p.comments
		if cp == nil {
			continue
		}
		prev, known := lists[p.key]
		// The rest is asked from after what this search embedded, not
		// from what is stored: a comment deleted in Jira shifts the
		// positions, so a stored count would skip the comment written
		// after it (the stored ones it asks again are deduplicated by id).
		have, cut := len(cp.Comments), newestComment(cp.Comments)
		if known && prev.Cut.After(cut) {
			cut = prev.Cut
		}
		if cp.Total <= have {
			if known && (prev.Total != cp.Total || prev.Fetched < cp.Total) {
				f.lists = append(f.lists, store.CommentList{Source: model.SourceJira, Key: p.key, Target: c.Name(),
					Total: cp.Total, Fetched: cp.Total, Cut: cut})
			}
			continue
		}
		if pol != nil {
			matter, err := c.cutMatters(ctx, pol, p, f, cut)
			if err != nil {
				return err
			}
			if !matter {
				f.lists = append(f.lists, store.CommentList{Source: model.SourceJira, Key: p.key, Target: c.Name(),
					Total: cp.Total, Fetched: have, Cut: cut})
				continue
			}
		}
		rest, total, err := c.fetchComments(ctx, p.key, have)
		if err != nil {
			return err
		}
		cp.Comments = mergeComments(cp.Comments, rest)
		if n := newestComment(rest); n.After(cut) {
			cut = n
		}
		f.lists = append(f.lists, store.CommentList{Source: model.SourceJira, Key: p.key, Target: c.Name(),
			Total: max(total, have+len(rest)), Fetched: have + len(rest), Cut: cut})
	}
	return nil
}

// cutMatters asks the policy about one fetched issue: its item as this
// sync maps it, and its events stored and fetched.
func (c *Collector) cutMatters(ctx context.Context, pol CommentPolicy, p *parsed, f *fetched, cut time.Time) (bool, error) {
	it, _ := c.mapItem(p, f.signals[p.id])
	evs, err := c.mapEvents(p, append([]history(nil), f.hist[p.id]...))
	if err != nil {
		return false, err
	}
	_, stored, err := c.store.ItemHistory(ctx, model.SourceJira, p.key)
	if err != nil {
		return false, err
	}
	var ids []model.Identity
	add := func(u *user) { ids = append(ids, c.identitiesOf(u)...) }
	add(p.assignee)
	add(p.reporter)
	for i := range f.hist[p.id] {
		add(f.hist[p.id][i].Author)
	}
	for i := range p.comments.Comments {
		add(p.comments.Comments[i].Author)
	}
	return pol.CutCommentsMatter(&it, mergeEvents(stored, evs), ids, cut), nil
}

// mergeEvents unions stored events and fetched ones by id (the stored copy
// wins, as in the store), ordered by time, stable.
func mergeEvents(stored, fetched []model.Event) []model.Event {
	if len(stored) == 0 {
		out := append([]model.Event(nil), fetched...)
		sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
		return out
	}
	seen := make(map[string]bool, len(stored))
	out := append([]model.Event(nil), stored...)
	for i := range stored {
		seen[stored[i].ID] = true
	}
	for i := range fetched {
		if !seen[fetched[i].ID] {
			out = append(out, fetched[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

func newestComment(cs []comment) time.Time {
	var t time.Time
	for i := range cs {
		if cs[i].Created.After(t) {
			t = cs[i].Created.Time
		}
	}
	return t
}

// reevaluate runs when the policy's generation changed since the last
// sync (a reload, new members or identity facts, a restart): every
// deferred comment list of the target is judged again on what is stored,
// and those that can now matter are completed (the whole list again),
// in one page before the sync's search, so the recomputation
// after this sync sees them.
func (c *Collector) reevaluate(ctx context.Context) error {
	pol := c.policy()
	if pol == nil || pol.Generation() == c.judged {
		return nil
	}
	gen := pol.Generation()
	lists, err := c.commentLists(ctx)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(lists))
	for k, l := range lists {
		if l.Deferred() {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	page := store.Page{Source: model.SourceJira, Target: c.Name()}
	for _, k := range keys {
		l := lists[k]
		it, evs, err := c.store.ItemHistory(ctx, model.SourceJira, k)
		if err != nil {
			return err
		}
		if it != nil && !pol.CutCommentsMatter(it, evs, nil, l.Cut) {
			continue
		}
		// The whole list, from 0: comments deleted since it was cut shift
		// the positions, so starting at the stored count could skip one.
		// The stored ones come back deduplicated by id.
		rest, total, err := c.fetchComments(ctx, k, 0)
		if err != nil {
			return err
		}
		for i := range rest {
			cm := &rest[i]
			if cm.ID == "" || cm.Created.IsZero() {
				return fmt.Errorf("issue %s: comment %q: missing id or created", k, cm.ID)
			}
			page.Events = append(page.Events, commentEvent(k, cm, c.userID(cm.Author)))
			for _, id := range c.identitiesOf(cm.Author) {
				if !c.identities[id] {
					page.Identities = append(page.Identities, id)
				}
			}
		}
		cut := l.Cut
		if n := newestComment(rest); n.After(cut) {
			cut = n
		}
		page.CommentLists = append(page.CommentLists, store.CommentList{Source: model.SourceJira, Key: k, Target: c.Name(),
			Total: max(total, len(rest)), Fetched: len(rest), Cut: cut})
	}
	if len(page.CommentLists) > 0 {
		page.Identities = dedupIdentities(page.Identities)
		if err := c.store.ApplyPage(ctx, page); err != nil {
			return err
		}
		c.rememberLists(page.CommentLists)
		for _, id := range page.Identities {
			c.identities[id] = true
		}
		c.logger.Info("deferred comments completed: the configuration now needs them", "issues", len(page.CommentLists), "comments", len(page.Events))
	}
	c.judged = gen
	return c.reportDeferred(ctx)
}

func dedupIdentities(ids []model.Identity) []model.Identity {
	seen := map[model.Identity]bool{}
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// rememberLists keeps the cached lists current after a page is stored.
func (c *Collector) rememberLists(ls []store.CommentList) {
	if c.lists == nil {
		return
	}
	for _, l := range ls {
		c.lists[l.Key] = l
	}
}

// reportDeferred tells Options.OnCommentsDeferred how many issues of the
// target have comments not fetched.
func (c *Collector) reportDeferred(ctx context.Context) error {
	if c.onDeferred == nil {
		return nil
	}
	n := 0
	if c.lists != nil {
		for _, l := range c.lists {
			if l.Deferred() {
				n++
			}
		}
	} else {
		var err error
		if n, err = c.store.DeferredComments(ctx, model.SourceJira, c.Name()); err != nil {
			return err
		}
	}
	c.onDeferred(n)
	return nil
}

// commentEvent is the event of one comment (see mapEvents).
func commentEvent(key string, cm *comment, actor string) model.Event {
	return model.Event{Source: model.SourceJira, ID: "comment:" + cm.ID, ItemKey: key,
		At: cm.Created.Time, Actor: actor, Kind: model.EventCommented}
}
