package jira

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/store"
)

// keyPolicy is a CommentPolicy for the collector's side of the contract:
// its answer is set per issue key by the test, and it records what it was
// asked (the engine's rule has its own tests in engine/comments_test.go).
type keyPolicy struct {
	mu     sync.Mutex
	gen    uint64
	matter map[string]bool
	asked  map[string]askedCut
}

type askedCut struct {
	comments int // commented events among the known events
	cut      time.Time
	item     bool
}

func (p *keyPolicy) CutCommentsMatter(it *model.Item, evs []model.Event, ids []model.Identity, cut time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, ev := range evs {
		if ev.Kind == model.EventCommented {
			n++
		}
	}
	p.asked[it.Key] = askedCut{comments: n, cut: cut, item: it.Title != ""}
	return p.matter[it.Key]
}

func (p *keyPolicy) Generation() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen
}

func (p *keyPolicy) set(gen uint64, keys ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen, p.matter, p.asked = gen, map[string]bool{}, map[string]askedCut{}
	for _, k := range keys {
		p.matter[k] = true
	}
}

// commentStarts lists the startAt of every comment request, per issue.
func commentStarts(e *env) map[string][]string {
	out := map[string][]string{}
	for _, r := range e.api.Requests() {
		if r.Endpoint != "jira_issue_comment" {
			continue
		}
		parts := strings.Split(r.Path, "/")
		key := parts[len(parts)-2]
		start := ""
		for _, kv := range strings.Split(r.Query, "&") {
			if v, ok := strings.CutPrefix(kv, "startAt="); ok {
				start = v
			}
		}
		out[key] = append(out[key], start)
	}
	return out
}

// TestDeferredComments: the collector asks the policy about every issue
// whose comment list the search cut, fetches the rest (from startAt 20)
// only when it says yes, and records the list in the store either way;
// when the policy's generation changes, deferred lists are judged again
// and completed from what is stored; an issue changed later is judged on
// its stored and fetched events together; nothing is asked twice.
func TestDeferredComments(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fakejira.Cloud, strings.Split(teamsYAML, "signals:")[0])
	comments := map[string][]time.Time{}
	for k, n := range map[string]int{"A-1": 25, "A-2": 30, "A-3": 5} {
		e.must(e.site.CreateIssue(fakejira.Issue{Project: "A", Key: k, Summary: k, Reporter: "acc-alice", Created: at(0)}))
		for i := 0; i < n; i++ {
			when := at(time.Hour + time.Duration(i)*time.Minute)
			e.must(e.site.AddComment(k, "automation-1", fmt.Sprintf("note %d", i), when))
			comments[k] = append(comments[k], when)
		}
	}
	pol := &keyPolicy{}
	pol.set(1, "A-2")
	deferred := -1
	c := e.collector(Options{Comments: pol, OnCommentsDeferred: func(n int) { deferred = n }})
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// Asked about the two cut lists, on the 20 embedded comments, cut at
	// the 20th; A-3 (5 comments, all embedded) is not asked about.
	if len(pol.asked) != 2 {
		t.Fatalf("asked about %v, want A-1 and A-2", pol.asked)
	}
	for _, k := range []string{"A-1", "A-2"} {
		if a := pol.asked[k]; a.comments != 20 || !a.cut.Equal(comments[k][19]) || !a.item {
			t.Errorf("%s: asked with %+v, want 20 comments cut at %v and the item", k, a, comments[k][19])
		}
	}
	if got := commentStarts(e); len(got) != 1 || strings.Join(got["A-2"], ",") != "20" {
		t.Fatalf("comment requests %v, want one for A-2 from startAt 20", got)
	}
	ds := e.load()
	if n1, n2 := len(commentEvents(ds, "A-1")), len(commentEvents(ds, "A-2")); n1 != 20 || n2 != 30 {
		t.Fatalf("stored comments A-1 %d, A-2 %d; want 20 (deferred) and 30", n1, n2)
	}
	lists, err := e.st.CommentLists(ctx, model.SourceJira, "acme-jira")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]store.CommentList{
		"A-1": {Source: model.SourceJira, Key: "A-1", Target: "acme-jira", Total: 25, Fetched: 20, Cut: comments["A-1"][19]},
		"A-2": {Source: model.SourceJira, Key: "A-2", Target: "acme-jira", Total: 30, Fetched: 30, Cut: comments["A-2"][29]},
	}
	for k, w := range want {
		if g := lists[k]; g.Total != w.Total || g.Fetched != w.Fetched || !g.Cut.Equal(w.Cut) || g.Target != w.Target {
			t.Errorf("stored list %s = %+v, want %+v", k, g, w)
		}
	}
	if len(lists) != 2 || deferred != 1 {
		t.Errorf("%d lists stored, deferred reported %d; want 2 and 1", len(lists), deferred)
	}

	// Same generation, nothing changed: one search, nothing judged.
	e.api.ResetRequests()
	e.clock.Advance(10 * time.Minute)
	pol.set(1, "A-2")
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.api.CountByEndpoint(); len(got) != 1 || got["jira_search_jql 200"] != 1 || len(pol.asked) != 0 {
		t.Fatalf("unchanged sync: %v, asked %v; want one search", got, pol.asked)
	}

	// A new generation under which A-1's rest matters: completed (the
	// whole list, from startAt 0: deletions shift positions) before the
	// search, judged on the stored events.
	e.api.ResetRequests()
	e.clock.Advance(10 * time.Minute)
	pol.set(2, "A-1")
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := commentStarts(e); len(got) != 1 || strings.Join(got["A-1"], ",") != "0" {
		t.Fatalf("after the new generation: comment requests %v, want A-1 from 0", got)
	}
	if a := pol.asked["A-1"]; a.comments != 20 || !a.cut.Equal(comments["A-1"][19]) || len(pol.asked) != 1 {
		t.Errorf("re-evaluation asked %+v, want only A-1 on its 20 stored comments", pol.asked)
	}
	if n := len(commentEvents(e.load(), "A-1")); n != 25 || deferred != 0 {
		t.Fatalf("A-1 after completion: %d comments, deferred %d; want 25 and 0", n, deferred)
	}
	if got := e.api.Count(nil); got != 2 {
		t.Errorf("completion sync: %d requests %v, want the comment page and one search", got, e.api.CountByEndpoint())
	}

	// A-2 gets a comment; under the policy its rest no longer matters:
	// judged on its 30 stored comments plus the embedded ones (the same
	// first 20), cut at its newest stored one; recorded deferred, nothing
	// fetched. The next generation that wants it asks the whole list.
	e.api.ResetRequests()
	e.clock.Advance(10 * time.Minute)
	late := e.clock.Now().Add(-time.Minute)
	e.must(e.site.AddComment("A-2", "acc-bob", "late", late))
	pol.set(2)
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if a := pol.asked["A-2"]; a.comments != 30 || !a.cut.Equal(comments["A-2"][29]) {
		t.Errorf("A-2 asked with %+v, want its 30 stored comments, cut at %v", a, comments["A-2"][29])
	}
	if got := commentStarts(e); len(got) != 0 || deferred != 1 {
		t.Fatalf("comment requests %v, deferred %d; want none and 1", got, deferred)
	}
	e.api.ResetRequests()
	pol.set(3, "A-2")
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := commentStarts(e); strings.Join(got["A-2"], ",") != "0" {
		t.Fatalf("comment requests %v, want A-2 from startAt 0", got)
	}
	got := commentEvents(e.load(), "A-2")
	if len(got) != 31 || deferred != 0 {
		t.Fatalf("A-2: %d comments, deferred %d; want 31 and 0", len(got), deferred)
	}
	found := false
	for _, ev := range got {
		found = found || (ev.Actor == "acc-bob" && ev.At.Equal(late))
	}
	if !found {
		t.Error("the late comment by acc-bob is not stored")
	}

	// A fresh process (a restart) with a policy that cannot answer yet:
	// only A-2, back in the search's overlap window, has its cut part
	// asked again, from after the 20 the search embedded (a stored count
	// is not trusted: deletions in Jira shift positions).
	e.api.ResetRequests()
	if err := e.collector(Options{Comments: &keyPolicy{}}).Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := commentStarts(e); len(got) != 1 || strings.Join(got["A-2"], ",") != "20" {
		t.Errorf("restart: comment requests %v, want A-2 from 20", got)
	}
}
