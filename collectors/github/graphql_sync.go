package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/store"
)

// syncGraphQL syncs one repository with GraphQL history: the issues list
// newest first (conditional, the change detector) with the timelines of
// each page's items fetched in one GraphQL query and written in the same
// transaction as the page, then the milestones (conditional REST). A 404
// from /graphql under graphql: auto switches the collector to the REST
// path for good (one log line) and syncs this repository through it.
func (rs *repoSync) syncGraphQL(ctx context.Context) error {
	c := rs.c
	if err := rs.loadDepsPending(ctx); err != nil {
		return err
	}
	err := rs.issuesGraphQL(ctx)
	if errors.Is(err, errNoGraphQL) {
		if c.gqlMode == config.GraphQLOn {
			return fmt.Errorf("%w; the target sets graphql: on (auto falls back to REST)", err)
		}
		if c.gqlOff.CompareAndSwap(false, true) { // once, whichever repository met it first
			c.logger.Warn("the GitHub endpoint has no GraphQL API (404 on /graphql); syncing history through REST", "repo", rs.full)
		}
		return rs.sync(ctx)
	}
	if err != nil {
		return err
	}
	if err := rs.milestones(ctx); err != nil {
		return err
	}
	return rs.dependencies(ctx) // dependencies.go: the issues listed above
}

// gqlWalk is the progress of a newest-first issues walk, stored with every
// page so an interrupted walk resumes at the page it reached (items
// updated meanwhile move to the top, and change the first page, whose new
// ETag sends the next sync down again).
type gqlWalk struct {
	Since    string `json:"since"`     // watermark the walk started from: it stops below it
	Newest   string `json:"newest"`    // newest updated_at seen: the next watermark
	Next     string `json:"next"`      // the next page
	FirstTag string `json:"first_tag"` // the first page's ETag, stored when the walk ends
}

// issuesGraphQL walks GET /issues?sort=updated&direction=desc from the
// newest item down to the watermark (the newest updated_at of the last
// walk; inclusive, as since= is), storing each page's items with their
// timelines. The first page is conditional on its stored ETag: an
// unchanged repository costs one free 304 and no GraphQL query. The URL
// is fixed (no since=), so no extra request is needed to learn the ETag
// the next sync sends.
//
// A page is written while the next one is fetched (one request in
// flight, the store write beside it: remote time against local CPU).
// Each page still carries its own walk cursor and only one write runs at
// a time, in page order, so the store moves exactly as in a serial walk:
// a sync interrupted anywhere resumes at the first page not written.
// Mapping a page reads nothing the previous page's write changes that
// could change what is mapped (review_requested is set only from a
// timeline, which says the same again).
func (rs *repoSync) issuesGraphQL(ctx context.Context) (err error) {
	c := rs.c
	first := rs.path("/issues?direction=desc&per_page=100&sort=updated&state=all")
	etagKey := rs.key("gql_issues etag")
	w, have, err := rs.cursor(ctx, "gql_issues_since")
	if err != nil {
		return err
	}
	if !have {
		// A store the REST path synced: start from what it completed.
		if w, err = rs.restWatermark(ctx); err != nil {
			return err
		}
	}
	floor := w
	if floor == "" && !c.since.IsZero() {
		floor = c.since.UTC().Format(time.RFC3339)
	}
	var floorT time.Time
	if floor != "" {
		if floorT, err = time.Parse(time.RFC3339, floor); err != nil {
			return fmt.Errorf("cursor gql_issues_since %q: %w", floor, err)
		}
	}
	walk := gqlWalk{Since: w}
	next, etag := first, c.storedETag(ctx, etagKey, first)
	if v, ok, err := rs.cursor(ctx, "gql_issues_walk"); err != nil {
		return err
	} else if ok && v != "" {
		var prev gqlWalk
		if json.Unmarshal([]byte(v), &prev) == nil && prev.Since == w && prev.Next != "" {
			walk, next, etag = prev, prev.Next, ""
		}
	}
	var newestT time.Time
	if walk.Newest != "" {
		newestT, _ = time.Parse(time.RFC3339, walk.Newest)
	}
	// writing is the previous page's write, if one runs; every return
	// waits for it, and its error is the walk's (it came first).
	var writing chan error
	defer func() {
		if writing != nil {
			if werr := <-writing; werr != nil {
				err = werr
			}
		}
	}()
	for n := 1; next != ""; n++ {
		var list []*wireIssue
		tag := ""
		if next == first {
			tag = etag
		}
		res, err := c.get(ctx, next, tag, &list)
		if err != nil {
			return rs.fail("list issues", err)
		}
		if res.notModified {
			return nil
		}
		if next == first {
			walk.FirstTag = res.etag
		}
		p := rs.page()
		stop := false
		targets := make([]gqlTarget, 0, len(list))
		for _, w := range list {
			is := &w.Issue
			it := rs.item(is)
			if !floorT.IsZero() && it.Updated.Before(floorT) {
				stop = true // newest first: everything below is stored
				break
			}
			if it.Updated.After(newestT) {
				newestT = it.Updated
			}
			p.Items = append(p.Items, it)
			if e, ok := createdEvent(it); ok {
				p.Events = append(p.Events, e)
			}
			targets = append(targets, gqlTarget{number: is.GetNumber(), pr: is.IsPullRequest()})
		}
		tls, err := rs.timelines(ctx, targets)
		if err != nil {
			return err
		}
		p.Cursors = map[string]string{}
		rs.noteDeps(ctx, list[:len(targets)], &p) // the items stored with this page
		for _, t := range targets {
			nodes := tls[t.number]
			requested := false
			if t.pr && hasReviews(nodes) {
				if _, ok, err := rs.cursor(ctx, "review_requested:"+strconv.Itoa(t.number)); err != nil {
					return err
				} else if ok {
					requested = true
				}
			}
			evs, saw := rs.mapTimeline(t.number, nodes, requested)
			p.Events = append(p.Events, evs...)
			if saw && !requested {
				// What the REST path records: a later REST sync (after a
				// fallback) then reads this PR's reviews.
				p.Cursors[rs.key("review_requested:"+strconv.Itoa(t.number))] = "1"
			}
		}
		if !newestT.IsZero() {
			if now := c.now().UTC(); newestT.After(now) {
				newestT = now
			}
			walk.Newest = newestT.UTC().Format(time.RFC3339)
		}
		walk.Next = res.next
		if stop {
			walk.Next = ""
		}
		if walk.Next != "" {
			b, _ := json.Marshal(walk)
			p.Cursors[rs.key("gql_issues_walk")] = string(b)
		} else {
			p.Cursors[rs.key("gql_issues_walk")] = ""
			if walk.Newest != "" {
				p.Cursors[rs.key("gql_issues_since")] = walk.Newest
			}
			if walk.FirstTag != "" {
				p.ETags = map[string]string{etagKey: first + " " + walk.FirstTag}
			}
		}
		if c.hook != nil {
			c.hook("fetched", rs.full, n)
		}
		if writing != nil {
			werr := <-writing
			writing = nil
			if werr != nil {
				return werr
			}
		}
		writing = make(chan error, 1)
		go func(n int, p store.Page) {
			if c.hook != nil {
				c.hook("write", rs.full, n)
			}
			if err := rs.apply(ctx, p); err != nil {
				writing <- fmt.Errorf("list issues: %w", err)
				return
			}
			writing <- nil
		}(n, p)
		next = walk.Next
	}
	return nil
}

func hasReviews(nodes []gqlNode) bool {
	for i := range nodes {
		if nodes[i].Typename == "PullRequestReview" {
			return true
		}
	}
	return false
}

// restWatermark is where a GraphQL walk may start on a store the REST path
// synced, so that switching paths (an upgrade, graphql: off -> auto) does
// not fetch the whole history again: the older of the REST issues and
// comments watermarks, when the REST sync that set them finished every
// step (no events walk, review check or per-issue event list pending).
// Everything updated before it is stored with its events, comments and
// reviews. "" (walk everything) otherwise.
func (rs *repoSync) restWatermark(ctx context.Context) (string, error) {
	issues, ok, err := rs.cursor(ctx, "issues_since")
	if err != nil || !ok || issues == "" {
		return "", err
	}
	for _, name := range []string{"events_walk", "reviews_pending", "issue_events_pending"} {
		v, _, err := rs.cursor(ctx, name)
		if err != nil {
			return "", err
		}
		if v != "" {
			return "", nil
		}
	}
	if _, ok, err := rs.cursor(ctx, "events_last_id"); err != nil || !ok {
		return "", err
	}
	w := issues
	if comments, ok, err := rs.cursor(ctx, "comments_since"); err != nil {
		return "", err
	} else if ok && later(w, comments) {
		w = comments
	}
	return w, nil
}
