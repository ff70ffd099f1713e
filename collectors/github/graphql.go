package github

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shurcooL/githubv4"

	"github.com/crossteam/crossteam/model"
)

// GraphQL history. The REST path reads four feeds (issues, the repository
// events feed, comments) and one review list per pull request that had a
// review requested; a large organisation's first sync then costs about ten
// token-hours, 71% of it review lists. The GraphQL path keeps the
// conditional REST issues list as the change detector (a 304 costs
// nothing, so a no-change sync is free and sends no GraphQL query) and
// fetches the timelines of the items on each page of it in one query:
// up to 100 aliases of repository.issueOrPullRequest(number:) with
// timelineItems(first: 100) of the item types the engine uses. By GitHub's
// formula that is one request per alias, so about 1 point per 100 items;
// an item with more than a page of timeline is continued alone.

// Limits of one query, shrunk (halved) when GitHub answers a timeout.
const (
	gqlMaxItems   = 100 // aliases per query
	gqlMaxPage    = 100 // timelineItems(first:)
	gqlMinPage    = 10
	gqlMaxRetries = 6 // shrink-and-retry rounds of one query
	// gqlGrowAfter: queries answered at a shrunk size before it doubles
	// back (page size first, then the batch), so one slow spell does not
	// cost small queries for the collector's life, and a size that times
	// out again costs at most one query in gqlGrowAfter.
	gqlGrowAfter = 20
)

// Item types fetched: the events mapEvent keeps, comments and reviews.
const (
	issueItemTypes = "[ASSIGNED_EVENT, CLOSED_EVENT, DEMILESTONED_EVENT, ISSUE_COMMENT, LABELED_EVENT, MILESTONED_EVENT, REOPENED_EVENT, UNASSIGNED_EVENT, UNLABELED_EVENT]"
	prItemTypes    = "[ASSIGNED_EVENT, CLOSED_EVENT, DEMILESTONED_EVENT, ISSUE_COMMENT, LABELED_EVENT, MERGED_EVENT, MILESTONED_EVENT, PULL_REQUEST_REVIEW, REOPENED_EVENT, REVIEW_REQUESTED_EVENT, REVIEW_REQUEST_REMOVED_EVENT, UNASSIGNED_EVENT, UNLABELED_EVENT]"
)

// errNoGraphQL: the endpoint has no GraphQL API (404).
var errNoGraphQL = errors.New("the endpoint has no GraphQL API (404)")

// errGQLTimeout: GitHub gave up on the query (timeout answer or 502/504
// after the transport's retries); the caller shrinks it and retries.
var errGQLTimeout = errors.New("query timed out")

type gqlActor struct {
	Typename string `graphql:"__typename" json:"__typename"`
	Login    string `graphql:"login" json:"login"`
}

// login is the REST spelling: GitHub's GraphQL Bot login lacks the
// "[bot]" suffix the REST API shows.
func (a *gqlActor) login() string {
	if a == nil {
		return ""
	}
	if a.Typename == "Bot" && a.Login != "" {
		return a.Login + "[bot]"
	}
	return a.Login
}

type gqlBase struct {
	ID        string    `graphql:"id"`
	CreatedAt time.Time `graphql:"createdAt"`
	Actor     *gqlActor `graphql:"actor"`
}

type gqlLabelEv struct {
	gqlBase
	Label struct {
		Name string `graphql:"name"`
	} `graphql:"label"`
}

type gqlAssignEv struct {
	gqlBase
	Assignee *gqlAssignee `graphql:"assignee"`
}

// gqlAssignee is the Assignee union (no common login field to ask for).
type gqlAssignee struct {
	Typename string `graphql:"__typename"`
	User     struct {
		Login string `graphql:"login"`
	} `graphql:"... on User"`
	Bot struct {
		Login string `graphql:"login"`
	} `graphql:"... on Bot"`
}

func (a *gqlAssignee) login() string {
	switch {
	case a == nil:
		return ""
	case a.Typename == "Bot" && a.Bot.Login != "":
		return a.Bot.Login + "[bot]"
	case a.Typename == "User":
		return a.User.Login
	}
	return ""
}

type gqlReviewer struct {
	Typename string `graphql:"__typename"`
	User     struct {
		Login string `graphql:"login"`
	} `graphql:"... on User"`
	Bot struct {
		Login string `graphql:"login"`
	} `graphql:"... on Bot"`
	Team struct {
		Slug string `graphql:"slug"`
	} `graphql:"... on Team"`
}

type gqlReviewReqEv struct {
	gqlBase
	RequestedReviewer *gqlReviewer `graphql:"requestedReviewer"`
}

type gqlMilestoneEv struct {
	gqlBase
	MilestoneTitle string `graphql:"milestoneTitle"`
}

// gqlIssueFrags are the fragments valid on both timelines.
type gqlIssueFrags struct {
	Labeled      gqlLabelEv     `graphql:"... on LabeledEvent"`
	Unlabeled    gqlLabelEv     `graphql:"... on UnlabeledEvent"`
	Assigned     gqlAssignEv    `graphql:"... on AssignedEvent"`
	Unassigned   gqlAssignEv    `graphql:"... on UnassignedEvent"`
	Closed       gqlBase        `graphql:"... on ClosedEvent"`
	Reopened     gqlBase        `graphql:"... on ReopenedEvent"`
	Milestoned   gqlMilestoneEv `graphql:"... on MilestonedEvent"`
	Demilestoned gqlMilestoneEv `graphql:"... on DemilestonedEvent"`
	Comment      struct {
		DatabaseID *int64    `graphql:"databaseId"`
		CreatedAt  time.Time `graphql:"createdAt"`
		Author     *gqlActor `graphql:"author"`
	} `graphql:"... on IssueComment"`
}

// gqlPRFrags are the fragments of pull request timelines only.
type gqlPRFrags struct {
	ReviewRequested      gqlReviewReqEv `graphql:"... on ReviewRequestedEvent"`
	ReviewRequestRemoved gqlReviewReqEv `graphql:"... on ReviewRequestRemovedEvent"`
	Merged               gqlBase        `graphql:"... on MergedEvent"`
	Review               struct {
		FullDatabaseID *string    `graphql:"fullDatabaseId"`
		State          string     `graphql:"state"`
		SubmittedAt    *time.Time `graphql:"submittedAt"`
		Author         *gqlActor  `graphql:"author"`
	} `graphql:"... on PullRequestReview"`
}

// gqlNode is one timeline item; only the fragment named by Typename is
// meaningful (the decoder fills same-named fields of every fragment).
type gqlNode struct {
	Typename string `graphql:"__typename"`
	gqlIssueFrags
	gqlPRFrags
}

// gqlIssueNode is an issue's timeline item (GraphQL refuses fragments of
// types an issue timeline can never hold).
type gqlIssueNode struct {
	Typename string `graphql:"__typename"`
	gqlIssueFrags
}

type gqlIssueConn struct {
	PageInfo gqlPageInfo    `graphql:"pageInfo"`
	Nodes    []gqlIssueNode `graphql:"nodes"`
}

// conn converts to the pull request form (PR fragments empty).
func (ic gqlIssueConn) conn() gqlConn {
	out := gqlConn{PageInfo: ic.PageInfo, Nodes: make([]gqlNode, len(ic.Nodes))}
	for i, n := range ic.Nodes {
		out.Nodes[i] = gqlNode{Typename: n.Typename, gqlIssueFrags: n.gqlIssueFrags}
	}
	return out
}

type gqlPageInfo struct {
	HasNextPage bool   `graphql:"hasNextPage" json:"hasNextPage"`
	EndCursor   string `graphql:"endCursor" json:"endCursor"`
}

type gqlConn struct {
	PageInfo gqlPageInfo `graphql:"pageInfo"`
	Nodes    []gqlNode   `graphql:"nodes"`
}

type gqlRateLimit struct {
	Cost      int       `graphql:"cost" json:"cost"`
	Remaining int       `graphql:"remaining" json:"remaining"`
	ResetAt   time.Time `graphql:"resetAt" json:"resetAt"`
}

// gqlItemTypes caches the alias value types (one per item kind, page
// size and continuation form), built with reflect because the tags carry
// the literal item types and page size.
func gqlItemType(pr bool, first int, after bool) reflect.Type {
	types, frag, connT := issueItemTypes, "... on Issue", reflect.TypeOf(gqlIssueConn{})
	if pr {
		types, frag, connT = prItemTypes, "... on PullRequest", reflect.TypeOf(gqlConn{})
	}
	args := "first: " + strconv.Itoa(first)
	if after {
		args += ", after: $after"
	}
	conn := reflect.StructOf([]reflect.StructField{{
		Name: "TimelineItems", Type: connT,
		Tag: reflect.StructTag(`graphql:"timelineItems(` + args + `, itemTypes: ` + types + `)"`),
	}})
	return reflect.StructOf([]reflect.StructField{{Name: "Item", Type: conn, Tag: reflect.StructTag(`graphql:"` + frag + `"`)}})
}

// gqlTarget is one item of a batch.
type gqlTarget struct {
	number int
	pr     bool
}

// timelineQuery is what one batch query asks and names in errors.
func timelineQuery(items []gqlTarget) string {
	nums := make([]string, 0, 4)
	for i, it := range items {
		if i == 3 && len(items) > 4 {
			nums = append(nums, "...", "#"+strconv.Itoa(items[len(items)-1].number))
			break
		}
		nums = append(nums, "#"+strconv.Itoa(it.number))
	}
	return fmt.Sprintf("timeline of %d items (%s)", len(items), strings.Join(nums, ", "))
}

// timelines fetches the full timelines of items (numbers of this
// repository) and returns the nodes per number. Items GitHub no longer
// knows (NOT_FOUND beside partial data) are left out. The query is split
// into batches of at most c.gqlItems aliases; a timeout halves the batch
// (then the page size) and retries.
func (rs *repoSync) timelines(ctx context.Context, items []gqlTarget) (map[int][]gqlNode, error) {
	out := make(map[int][]gqlNode, len(items))
	c := rs.c
	for len(items) > 0 {
		maxItems, page := c.gqlLimits()
		n := min(len(items), maxItems)
		batch := items[:n]
		conns, err := rs.timelineBatch(ctx, batch, page)
		if errors.Is(err, errGQLTimeout) {
			if !c.shrink(maxItems, page) {
				return nil, fmt.Errorf("graphql %s: %w (already at %d items of %d timeline entries)", timelineQuery(batch), err, maxItems, page)
			}
			maxItems, page = c.gqlLimits()
			c.logger.Info("graphql query timed out; retrying smaller", "repo", rs.full, "items", maxItems, "page", page)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("graphql %s: %w", timelineQuery(batch), err)
		}
		c.grow()
		for i, it := range batch {
			conn := conns[i]
			if conn == nil {
				continue
			}
			nodes := conn.Nodes
			for cursor := conn.PageInfo.EndCursor; conn.PageInfo.HasNextPage; cursor = conn.PageInfo.EndCursor {
				conn, err = rs.timelinePage(ctx, it, cursor)
				if err != nil {
					return nil, fmt.Errorf("graphql timeline of #%d after %s: %w", it.number, cursor, err)
				}
				if conn == nil {
					break
				}
				nodes = append(nodes, conn.Nodes...)
			}
			out[it.number] = nodes
		}
		items = items[n:]
	}
	return out, nil
}

// gqlLimits are the current aliases per query and timeline page size.
func (c *Collector) gqlLimits() (items, page int) {
	c.gqlMu.Lock()
	defer c.gqlMu.Unlock()
	return c.gqlItems, c.gqlPage
}

// shrink halves the batch, then the page size, after a query of items
// aliases and timeline pages of page timed out; false at the floor.
// When another repository's timeout already shrank the limits below
// what the query used, they are left as they are (one slow spell seen
// by several workers halves them once) and the query is retried at them.
func (c *Collector) shrink(items, page int) bool {
	c.gqlMu.Lock()
	defer c.gqlMu.Unlock()
	if c.gqlItems < items || c.gqlPage < page {
		return true
	}
	c.gqlPassed = 0
	switch {
	case c.gqlItems > 1:
		c.gqlItems = max(1, c.gqlItems/2)
	case c.gqlPage > gqlMinPage:
		c.gqlPage = max(gqlMinPage, c.gqlPage/2)
	default:
		return false
	}
	return true
}

// grow counts an answered query; after gqlGrowAfter of them at a shrunk
// size it doubles the page size back, then the batch, toward the maximum
// (the reverse of shrink).
func (c *Collector) grow() {
	c.gqlMu.Lock()
	defer c.gqlMu.Unlock()
	if c.gqlItems >= gqlMaxItems && c.gqlPage >= gqlMaxPage {
		return
	}
	if c.gqlPassed++; c.gqlPassed < gqlGrowAfter {
		return
	}
	c.gqlPassed = 0
	if c.gqlPage < gqlMaxPage {
		c.gqlPage = min(gqlMaxPage, c.gqlPage*2)
	} else {
		c.gqlItems = min(gqlMaxItems, c.gqlItems*2)
	}
	c.logger.Info("graphql queries answered again at a smaller size; growing back", "items", c.gqlItems, "page", c.gqlPage)
}

// timelineBatch runs one aliased query; conns[i] is nil for an item
// GitHub did not resolve.
//
// The query's Go type depends only on how many issues and pull requests
// the batch has and on the page size: issues come first, then pull
// requests, aliased by position (i0, i1, ...), with the numbers passed as
// variables. reflect.StructOf keeps every type it makes for the
// process's life, so a type naming the items (the first version) grew the
// exporter's heap with every batch ever fetched: 30 MiB of type names
// after a medium-size full sync, and more with each sync.
func (rs *repoSync) timelineBatch(ctx context.Context, batch []gqlTarget, page int) ([]*gqlConn, error) {
	c := rs.c
	order := make([]int, 0, len(batch)) // alias position -> batch index
	for _, pr := range []bool{false, true} {
		for i, it := range batch {
			if it.pr == pr {
				order = append(order, i)
			}
		}
	}
	prs := 0
	for _, it := range batch {
		if it.pr {
			prs++
		}
	}
	qT := gqlBatchType(len(batch)-prs, prs, page)
	q := reflect.New(qT)
	vars := map[string]any{"owner": githubv4.String(rs.owner), "name": githubv4.String(rs.name)}
	for pos, i := range order {
		vars["n"+strconv.Itoa(pos)] = githubv4.Int(batch[i].number)
	}
	ans, err := c.gqlQuery(ctx, q.Interface(), vars)
	if err != nil {
		return nil, err
	}
	c.notePoints(ans.Data.RateLimit)
	if ans.Data.Repository == nil {
		return nil, fmt.Errorf("repository %s not found", rs.full)
	}
	out := make([]*gqlConn, len(batch))
	for pos, i := range order {
		if w := ans.Data.Repository["i"+strconv.Itoa(pos)]; w != nil {
			conn := w.TimelineItems.conn()
			out[i] = &conn
		}
	}
	return out, nil
}

// gqlBatchTypes caches the batch query types by (issues, pull requests,
// page size): a bounded set, made once each.
var gqlBatchTypes sync.Map

func gqlBatchType(issues, prs, page int) reflect.Type {
	key := [3]int{issues, prs, page}
	if t, ok := gqlBatchTypes.Load(key); ok {
		return t.(reflect.Type)
	}
	fields := make([]reflect.StructField, 0, issues+prs)
	for pos := range issues + prs {
		fields = append(fields, reflect.StructField{
			Name: "I" + strconv.Itoa(pos), Type: reflect.PointerTo(gqlItemType(pos >= issues, page, false)),
			Tag: reflect.StructTag(fmt.Sprintf(`graphql:"i%d: issueOrPullRequest(number: $n%d)"`, pos, pos)),
		})
	}
	qT := reflect.StructOf([]reflect.StructField{
		{Name: "RateLimit", Type: reflect.TypeOf(gqlRateLimit{}), Tag: `graphql:"rateLimit"`},
		{Name: "Repository", Type: reflect.PointerTo(reflect.StructOf(fields)), Tag: `graphql:"repository(owner: $owner, name: $name)"`},
	})
	t, _ := gqlBatchTypes.LoadOrStore(key, qT)
	return t.(reflect.Type)
}

func connOf(v any) gqlConn {
	if ic, ok := v.(gqlIssueConn); ok {
		return ic.conn()
	}
	return v.(gqlConn)
}

// timelinePage continues one item's timeline after cursor.
func (rs *repoSync) timelinePage(ctx context.Context, it gqlTarget, cursor string) (*gqlConn, error) {
	c := rs.c
	qT := reflect.StructOf([]reflect.StructField{
		{Name: "RateLimit", Type: reflect.TypeOf(gqlRateLimit{}), Tag: `graphql:"rateLimit"`},
		{Name: "Repository", Type: reflect.PointerTo(reflect.StructOf([]reflect.StructField{{
			Name: "Item", Type: reflect.PointerTo(gqlItemType(it.pr, gqlMaxPage, true)),
			Tag: `graphql:"issueOrPullRequest(number: $number)"`,
		}})), Tag: `graphql:"repository(owner: $owner, name: $name)"`},
	})
	for round := 0; ; round++ {
		q := reflect.New(qT)
		vars := map[string]any{
			"owner": githubv4.String(rs.owner), "name": githubv4.String(rs.name),
			"number": githubv4.Int(it.number), "after": githubv4.String(cursor),
		}
		ans, err := c.gqlQuery(ctx, q.Interface(), vars)
		if errors.Is(err, errGQLTimeout) && round < gqlMaxRetries {
			continue // one item's page: nothing to shrink but time
		}
		if err != nil {
			return nil, err
		}
		c.notePoints(ans.Data.RateLimit)
		w := ans.Data.Repository["issueOrPullRequest"]
		if w == nil {
			return nil, nil
		}
		conn := w.TimelineItems.conn()
		return &conn, nil
	}
}

// gqlQuery runs q and classifies what went wrong: no GraphQL endpoint,
// a timeout, a rate limit that persisted, or GitHub's errors. Errors of
// type NOT_FOUND beside data are not failures: the alias is null.
//
// A 200 whose body does not decode (cut short, corrupted on the way) is
// asked again, up to maxServerRetries times, like a transient 5xx.
//
// The answer comes back decoded by gqlTransport into the collector's wire
// types with encoding/json: githubv4 builds the query from the typed
// structs and sends it, but its reflection decoder took 75% of the GraphQL
// path's CPU (about 50 ms per 100-item answer), so it is handed no data.
// A 200 whose body does not decode (cut short, corrupted on the way) is
// asked again, up to maxServerRetries times, like a transient 5xx.
func (c *Collector) gqlQuery(ctx context.Context, q any, vars map[string]any) (*gqlFastAnswer, error) {
	var info *gqlInfo
	var err error
	for attempt := 0; ; attempt++ {
		info = &gqlInfo{fast: &gqlFastAnswer{}}
		err = c.gql.Query(withGQLInfo(ctx, info), q, vars)
		c.gqlQueries.Add(1)
		if info.fastErr != nil && err == nil {
			err = info.fastErr
		}
		if err == nil || info.status != http.StatusOK || len(info.types) > 0 || info.timeout || attempt >= maxServerRetries || ctx.Err() != nil {
			break
		}
	}
	switch {
	case info.status == 404:
		return nil, errNoGraphQL
	case info.timeout:
		return nil, errGQLTimeout
	case info.rateLimited:
		return nil, fmt.Errorf("graphql rate limit persisted after %d waits: %w", maxRateRetries, errRateLimited)
	case info.status == 401:
		return nil, &statusError{code: 401, msg: "bad credentials (401): check the token"}
	case info.status != 0 && info.status != 200:
		return nil, fmt.Errorf("graphql answered %d", info.status)
	}
	if err == nil {
		return info.fast, nil
	}
	if info.dataPresent && info.fastErr == nil && info.onlyNotFound() {
		return info.fast, nil
	}
	if len(info.errors) > 0 {
		return nil, fmt.Errorf("graphql errors: %s", strings.Join(info.errors, "; "))
	}
	return nil, err
}

// gqlFastAnswer is a timeline answer in the collector's wire types: the
// rate limit and, by alias (i<position in the batch>, or issueOrPullRequest for a
// continuation), each item's timeline.
type gqlFastAnswer struct {
	Data struct {
		RateLimit  gqlRateLimit                `json:"rateLimit"`
		Repository map[string]*gqlWireTimeline `json:"repository"`
	} `json:"data"`
}

type gqlWireTimeline struct {
	TimelineItems gqlWireConn `json:"timelineItems"`
}

type gqlWireConn struct {
	PageInfo gqlPageInfo   `json:"pageInfo"`
	Nodes    []gqlWireNode `json:"nodes"`
}

func (w gqlWireConn) conn() gqlConn {
	out := gqlConn{PageInfo: w.PageInfo, Nodes: make([]gqlNode, len(w.Nodes))}
	for i := range w.Nodes {
		out.Nodes[i] = w.Nodes[i].node()
	}
	return out
}

// node puts a wire node's fields into the fragment its type names.
func (w *gqlWireNode) node() gqlNode {
	n := gqlNode{Typename: w.Typename}
	b := gqlBase{ID: w.ID, CreatedAt: w.CreatedAt, Actor: w.Actor}
	label := ""
	if w.Label != nil && w.Label.Name != nil {
		label = *w.Label.Name
	}
	var assignee *gqlAssignee
	if a := w.Assignee; a != nil {
		assignee = &gqlAssignee{Typename: a.Typename}
		assignee.User.Login, assignee.Bot.Login = a.Login, a.Login
	}
	var reviewer *gqlReviewer
	if r := w.RequestedReviewer; r != nil {
		reviewer = &gqlReviewer{Typename: r.Typename}
		reviewer.User.Login, reviewer.Bot.Login, reviewer.Team.Slug = r.Login, r.Login, r.Slug
	}
	switch w.Typename {
	case "LabeledEvent":
		n.Labeled.gqlBase, n.Labeled.Label.Name = b, label
	case "UnlabeledEvent":
		n.Unlabeled.gqlBase, n.Unlabeled.Label.Name = b, label
	case "AssignedEvent":
		n.Assigned.gqlBase, n.Assigned.Assignee = b, assignee
	case "UnassignedEvent":
		n.Unassigned.gqlBase, n.Unassigned.Assignee = b, assignee
	case "ReviewRequestedEvent":
		n.ReviewRequested.gqlBase, n.ReviewRequested.RequestedReviewer = b, reviewer
	case "ReviewRequestRemovedEvent":
		n.ReviewRequestRemoved.gqlBase, n.ReviewRequestRemoved.RequestedReviewer = b, reviewer
	case "ClosedEvent":
		n.Closed = b
	case "ReopenedEvent":
		n.Reopened = b
	case "MergedEvent":
		n.Merged = b
	case "MilestonedEvent":
		n.Milestoned.gqlBase, n.Milestoned.MilestoneTitle = b, w.MilestoneTitle
	case "DemilestonedEvent":
		n.Demilestoned.gqlBase, n.Demilestoned.MilestoneTitle = b, w.MilestoneTitle
	case "IssueComment":
		n.Comment.DatabaseID, n.Comment.CreatedAt, n.Comment.Author = w.DatabaseID, w.CreatedAt, w.Author
	case "PullRequestReview":
		n.Review.FullDatabaseID, n.Review.State, n.Review.SubmittedAt, n.Review.Author = w.FullDatabaseID, w.State, w.SubmittedAt, w.Author
	}
	return n
}

func (c *Collector) notePoints(rl gqlRateLimit) { c.gqlPoints.Add(int64(rl.Cost)) }

// GraphQLUse reports the GraphQL queries sent and the points their
// rateLimit.cost reported since the collector was built.
func (c *Collector) GraphQLUse() (queries, points int64) {
	return c.gqlQueries.Load(), c.gqlPoints.Load()
}

// nodeDatabaseID extracts the database id GitHub encodes in a node id,
// which is the REST id of the same object (the REST and GraphQL paths
// must store the same event ids). Legacy ids are base64 of
// "<len>:<Type><id>"; next-format ids are "<PREFIX>_" + base64url of a
// MessagePack array whose last element is the id.
func nodeDatabaseID(id string) (int64, bool) {
	if pfx, rest, ok := strings.Cut(id, "_"); ok && pfx != "" && !strings.ContainsAny(pfx, "=+/") {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(rest, "="))
		if err != nil {
			return 0, false
		}
		return msgpackLastInt(b)
	}
	b, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) || !strings.Contains(s[:i], ":") {
		return 0, false
	}
	n, err := strconv.ParseInt(s[i:], 10, 64)
	return n, err == nil && n > 0
}

// msgpackLastInt reads a MessagePack fixarray of integers and returns the
// last one (no library for ~30 lines of a fixed, tiny subset).
func msgpackLastInt(b []byte) (int64, bool) {
	if len(b) == 0 || b[0]&0xf0 != 0x90 {
		return 0, false
	}
	n := int(b[0] & 0x0f)
	b = b[1:]
	var last int64
	for k := 0; k < n; k++ {
		if len(b) == 0 {
			return 0, false
		}
		t := b[0]
		var size int
		switch {
		case t <= 0x7f:
			last, b = int64(t), b[1:]
			continue
		case t == 0xcc || t == 0xd0:
			size = 1
		case t == 0xcd || t == 0xd1:
			size = 2
		case t == 0xce || t == 0xd2:
			size = 4
		case t == 0xcf || t == 0xd3:
			size = 8
		default:
			return 0, false
		}
		if len(b) < 1+size {
			return 0, false
		}
		var v uint64
		for _, x := range b[1 : 1+size] {
			v = v<<8 | uint64(x)
		}
		last, b = int64(v), b[1+size:]
	}
	return last, n > 0 && last > 0
}

// mapTimeline converts one item's timeline into events exactly as the
// REST path stores them: issue events by their REST id, comments as
// "comment:<id>", reviews as "review:<id>" (submitted ones only, and only
// of pull requests that had a review requested: the REST path reads
// review lists of those alone). reviewRequested is true when an earlier
// sync saw a request.
func (rs *repoSync) mapTimeline(n int, nodes []gqlNode, reviewRequested bool) (events []model.Event, sawRequest bool) {
	var reviews []model.Event
	for i := range nodes {
		nd := &nodes[i]
		if nd.Typename == "ReviewRequestedEvent" {
			sawRequest = true
		}
		switch nd.Typename {
		case "IssueComment":
			cm := &nd.Comment
			if cm.DatabaseID == nil || *cm.DatabaseID == 0 || cm.CreatedAt.IsZero() {
				continue
			}
			events = append(events, model.Event{
				Source: model.SourceGitHub, ID: "comment:" + strconv.FormatInt(*cm.DatabaseID, 10),
				ItemKey: rs.itemKey(n), At: cm.CreatedAt.UTC(), Actor: cm.Author.login(), Kind: model.EventCommented,
			})
			continue
		case "PullRequestReview":
			rv := &nd.Review
			if rv.SubmittedAt == nil || rv.SubmittedAt.IsZero() || rv.FullDatabaseID == nil || *rv.FullDatabaseID == "" || *rv.FullDatabaseID == "0" {
				continue // pending reviews have no submission time
			}
			reviews = append(reviews, model.Event{
				Source: model.SourceGitHub, ID: "review:" + *rv.FullDatabaseID, ItemKey: rs.itemKey(n),
				At: rv.SubmittedAt.UTC(), Actor: rv.Author.login(), Kind: model.EventReviewed, Value: strings.ToLower(rv.State),
			})
			continue
		}
		if e, ok := rs.mapNode(nd, n); ok {
			events = append(events, e)
		}
	}
	if sawRequest || reviewRequested {
		events = append(events, reviews...)
	}
	return events, sawRequest
}

// mapNode converts a timeline event like mapEvent converts a REST one.
func (rs *repoSync) mapNode(nd *gqlNode, n int) (model.Event, bool) {
	var b *gqlBase
	e := model.Event{Source: model.SourceGitHub, ItemKey: rs.itemKey(n)}
	switch nd.Typename {
	case "LabeledEvent":
		b, e.Kind, e.Value = &nd.Labeled.gqlBase, model.EventKind("labeled"), nd.Labeled.Label.Name
	case "UnlabeledEvent":
		b, e.Kind, e.Value = &nd.Unlabeled.gqlBase, model.EventKind("unlabeled"), nd.Unlabeled.Label.Name
	case "AssignedEvent":
		b, e.Kind, e.Value = &nd.Assigned.gqlBase, model.EventKind("assigned"), nd.Assigned.Assignee.login()
	case "UnassignedEvent":
		b, e.Kind, e.Value = &nd.Unassigned.gqlBase, model.EventKind("unassigned"), nd.Unassigned.Assignee.login()
	case "ReviewRequestedEvent", "ReviewRequestRemovedEvent":
		ev := &nd.ReviewRequested
		e.Kind = model.EventReviewRequested
		if nd.Typename == "ReviewRequestRemovedEvent" {
			ev, e.Kind = &nd.ReviewRequestRemoved, model.EventKind("review_request_removed")
		}
		b = &ev.gqlBase
		if r := ev.RequestedReviewer; r != nil {
			switch r.Typename {
			case "User":
				e.Value = r.User.Login
			case "Bot":
				if r.Bot.Login != "" {
					e.Value = r.Bot.Login + "[bot]"
				}
			case "Team":
				if r.Team.Slug != "" {
					e.Team = rs.owner + "/" + r.Team.Slug
				}
			}
		}
	case "ClosedEvent":
		b, e.Kind = &nd.Closed, model.EventClosed
	case "ReopenedEvent":
		b, e.Kind = &nd.Reopened, model.EventReopened
	case "MergedEvent":
		b, e.Kind = &nd.Merged, model.EventMerged
	case "MilestonedEvent":
		b, e.Kind, e.Value = &nd.Milestoned.gqlBase, model.EventKind("milestoned"), nd.Milestoned.MilestoneTitle
	case "DemilestonedEvent":
		b, e.Kind, e.Value = &nd.Demilestoned.gqlBase, model.EventKind("demilestoned"), nd.Demilestoned.MilestoneTitle
	default:
		return model.Event{}, false
	}
	id, ok := nodeDatabaseID(b.ID)
	if !ok || b.CreatedAt.IsZero() || n == 0 {
		return model.Event{}, false
	}
	e.ID, e.At, e.Actor = strconv.FormatInt(id, 10), b.CreatedAt.UTC(), b.Actor.login()
	return e, true
}
