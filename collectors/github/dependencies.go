package github

// Issue dependencies ("blocked by"), for cross-team dependencies
// (engine/records.go). For each issue (not pull request) the issue list
// returned — changed issues only; noted in the deps_pending cursor with
// the issues page, so a sync interrupted before this step checks them
// next time — one conditional
// GET /repos/{o}/{r}/issues/{n}/dependencies/blocked_by (a 304 when nothing
// changed costs no rate limit). The answer is compared with the list stored
// for the issue (cursor "deps:<n>"): blocking issues that appeared are
// stored as blocked_by_added, those that went away as blocked_by_removed,
// Value = the blocking issue's key ("owner/repo#12"). The API gives no
// instant for a dependency, so both are stored at the issue's updated_at
// as listed (adding or removing a dependency updates the issue). A server
// without the endpoint (GitHub Enterprise Server before issue
// dependencies: 404) is skipped for the rest of the sync, with one log
// line. dependencies.github: false turns all of it off.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/store"
)

// dependencyKey is the item key of a blocking issue from its API object.
func dependencyKey(is *gh.Issue) string {
	// repository_url: {api}/repos/{owner}/{repo}
	repo := is.GetRepositoryURL()
	if i := strings.Index(repo, "/repos/"); i >= 0 {
		repo = repo[i+len("/repos/"):]
	}
	if repo == "" || is.GetNumber() == 0 {
		return ""
	}
	return repo + "#" + strconv.Itoa(is.GetNumber())
}

func (rs *repoSync) wantDeps() bool { return rs.c.cfg != nil && rs.c.cfg.Dependencies.GitHub }

// loadDepsPending reads the issues whose dependencies are still to fetch.
func (rs *repoSync) loadDepsPending(ctx context.Context) error {
	rs.depsPending = map[int]time.Time{}
	if !rs.wantDeps() {
		return nil
	}
	v, _, err := rs.cursor(ctx, "deps_pending")
	if err != nil {
		return err
	}
	rs.depsPending = decodePending(v)
	return nil
}

// noteDeps adds the issues of a listed page that have or had a blocking
// issue to deps_pending, written with the page (the same transaction that
// moves the issues watermark). Whether an issue has one is read from its
// issue_dependencies_summary.total_blocked_by, whether it had one from its
// stored list: an issue that never had a dependency costs no request
// (most issues). A server that does not send the summary gets the request
// for every listed issue, and so does an issue whose stored list cannot be
// read (dependencies then reads it again and reports the error).
func (rs *repoSync) noteDeps(ctx context.Context, list []*wireIssue, p *store.Page) {
	if !rs.wantDeps() {
		return
	}
	added := false
	for _, w := range list {
		is := &w.Issue
		if is.IsPullRequest() {
			continue
		}
		if w.blockedBy() == 0 {
			if prev, _, err := rs.cursor(ctx, fmt.Sprintf("deps:%d", is.GetNumber())); err == nil && prev == "" {
				continue // none now, none stored: nothing to diff
			}
		}
		if u := utc(is.GetUpdatedAt().Time); u.After(rs.depsPending[is.GetNumber()]) {
			rs.depsPending[is.GetNumber()] = u
			added = true
		}
	}
	if added {
		if p.Cursors == nil {
			p.Cursors = map[string]string{}
		}
		p.Cursors[rs.key("deps_pending")] = encodePending(rs.depsPending)
	}
}

// dependencies syncs the blocked-by lists of the pending issues.
func (rs *repoSync) dependencies(ctx context.Context) error {
	c := rs.c
	if !rs.wantDeps() {
		return nil
	}
	var nums []int
	for n := range rs.depsPending {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	// Written every depsBatch issues (and at the end): the pending set is
	// one cursor, rewritten whole, so not once per issue.
	const depsBatch = 100
	p := rs.page()
	p.Cursors, p.ETags = map[string]string{}, map[string]string{}
	flush := func() error {
		p.Cursors[rs.key("deps_pending")] = encodePending(rs.depsPending)
		if err := rs.apply(ctx, p); err != nil {
			return fmt.Errorf("issue dependencies: %w", err)
		}
		p = rs.page()
		p.Cursors, p.ETags = map[string]string{}, map[string]string{}
		return nil
	}
	for i, n := range nums {
		if i > 0 && i%depsBatch == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
		path := rs.path(fmt.Sprintf("/issues/%d/dependencies/blocked_by", n)) + "?per_page=100"
		etagKey := rs.key(fmt.Sprintf("deps:%d etag", n))
		etag := c.storedETag(ctx, etagKey, path)
		var blocking []*gh.Issue
		next, firstTag, unchanged := path, "", false
		for next != "" {
			var list []*gh.Issue
			tag := ""
			if next == path {
				tag = etag
			}
			res, err := c.get(ctx, next, tag, &list)
			var ge *gh.ErrorResponse
			if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusNotFound {
				c.logger.Info("issue dependencies are not available on this server; skipping them", "repo", rs.full)
				return flush()
			}
			if err != nil {
				if ferr := flush(); ferr != nil {
					return ferr
				}
				return rs.fail(fmt.Sprintf("issue #%d dependencies", n), err)
			}
			if res.notModified {
				unchanged = true
				break
			}
			if next == path {
				firstTag = res.etag
			}
			blocking = append(blocking, list...)
			next = res.next
		}
		at := rs.depsPending[n]
		delete(rs.depsPending, n)
		if unchanged {
			continue
		}
		cursor := fmt.Sprintf("deps:%d", n)
		prevS, _, err := rs.cursor(ctx, cursor)
		if err != nil {
			return err
		}
		prev := map[string]bool{}
		for _, k := range strings.Split(prevS, ",") {
			if k != "" {
				prev[k] = true
			}
		}
		cur := map[string]bool{}
		var keys []string
		for _, b := range blocking {
			if k := dependencyKey(b); k != "" && !cur[k] {
				cur[k] = true
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		item := rs.itemKey(n)
		stamp := strconv.FormatInt(at.Unix(), 10)
		for _, k := range keys {
			if !prev[k] {
				p.Events = append(p.Events, model.Event{Source: model.SourceGitHub, ID: "dep:" + item + ":+" + k + "@" + stamp,
					ItemKey: item, At: at, Kind: model.EventBlockedByAdded, Value: k})
			}
		}
		var gone []string
		for k := range prev {
			if !cur[k] {
				gone = append(gone, k)
			}
		}
		sort.Strings(gone)
		for _, k := range gone {
			p.Events = append(p.Events, model.Event{Source: model.SourceGitHub, ID: "dep:" + item + ":-" + k + "@" + stamp,
				ItemKey: item, At: at, Kind: model.EventBlockedByRemoved, Value: k})
		}
		if len(keys) > 0 || prevS != "" {
			p.Cursors[rs.key(cursor)] = strings.Join(keys, ",")
		}
		if firstTag != "" {
			p.ETags[etagKey] = path + " " + firstTag
		}
	}
	return flush()
}
