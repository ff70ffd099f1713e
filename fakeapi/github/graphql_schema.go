package github

import (
	"context"
	_ "embed"
	"encoding/base64"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
)

// schemaSubset is the part of GitHub's public GraphQL schema the fake
// serves (testdata/graphql-schema-subset.graphql; TestSchemaSubset holds it
// to the published schema).
//
//go:embed testdata/graphql-schema-subset.graphql
var schemaSubset string

// gqlSchema is parsed once: parsing and checking the resolvers costs
// milliseconds, a query microseconds.
var gqlSchema = graphql.MustParseSchema(schemaSubset, &queryRes{}, graphql.MaxParallelism(1),
	// 100 aliases of a timeline with a dozen fragments each: GitHub takes it.
	graphql.OverlapValidationLimit(math.MaxInt))

// gqlCtxKey carries the per-request state to the resolvers.
type gqlCtxKey struct{}

// gqlReq is what one GraphQL request's resolvers share. The Org read lock
// is held for the whole execution, so resolvers read the Org's internals
// directly and never call its locking methods.
type gqlReq struct {
	o         *Org
	cost      int
	limit     int
	remaining int
	used      int
	nodes     int
	resetAt   time.Time
}

func reqOf(ctx context.Context) *gqlReq { return ctx.Value(gqlCtxKey{}).(*gqlReq) }

// gqlError is a resolver error with GitHub's error type (NOT_FOUND, ...),
// moved to the error's top-level "type" member when the answer is written.
type gqlError struct {
	typ, msg string
}

func (e *gqlError) Error() string { return e.msg }

// Extensions is how graph-gophers carries the type to the answer.
func (e *gqlError) Extensions() map[string]any { return map[string]any{"type": e.typ} }

// dateTime is GitHub's DateTime scalar (ISO 8601, seconds, UTC).
type dateTime struct{ time.Time }

func (dateTime) ImplementsGraphQLType(name string) bool { return name == "DateTime" }

func (t *dateTime) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("DateTime: want a string, got %T", input)
	}
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("DateTime: %q is not an ISO 8601 instant", s)
	}
	t.Time = v
	return nil
}

func (t dateTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(time.RFC3339) + `"`), nil
}

// bigInt is GitHub's BigInt scalar (a string of digits).
type bigInt string

func (bigInt) ImplementsGraphQLType(name string) bool { return name == "BigInt" }

func (b *bigInt) UnmarshalGraphQL(input any) error {
	switch v := input.(type) {
	case string:
		*b = bigInt(v)
	case int32:
		*b = bigInt(strconv.Itoa(int(v)))
	default:
		return fmt.Errorf("BigInt: want a string, got %T", input)
	}
	return nil
}

func (b bigInt) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(string(b))), nil }

// queryRes is Query.
type queryRes struct{}

func (*queryRes) RateLimit(ctx context.Context, _ struct{ DryRun bool }) *rateRes {
	return &rateRes{reqOf(ctx)}
}

func (*queryRes) Repository(ctx context.Context, args struct {
	FollowRenames bool
	Name          string
	Owner         string
}) (*repoRes, error) {
	rq := reqOf(ctx)
	r := rq.o.repos[strings.ToLower(args.Owner+"/"+args.Name)]
	if r == nil {
		return nil, &gqlError{"NOT_FOUND", fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", args.Owner, args.Name)}
	}
	return &repoRes{rq: rq, r: r}, nil
}

// rateRes is RateLimit.
type rateRes struct{ rq *gqlReq }

func (r *rateRes) Cost() int32       { return int32(r.rq.cost) }
func (r *rateRes) Limit() int32      { return int32(r.rq.limit) }
func (r *rateRes) NodeCount() int32  { return int32(r.rq.nodes) }
func (r *rateRes) Remaining() int32  { return int32(r.rq.remaining) }
func (r *rateRes) ResetAt() dateTime { return dateTime{r.rq.resetAt} }
func (r *rateRes) Used() int32       { return int32(r.rq.used) }

// repoRes is Repository.
type repoRes struct {
	rq *gqlReq
	r  *repo
}

func (r *repoRes) ID() graphql.ID        { return graphql.ID(nodeID("Repository", r.r.id)) }
func (r *repoRes) NameWithOwner() string { return r.r.fullName() }

func (r *repoRes) IssueOrPullRequest(args struct{ Number int32 }) (*itemRes, error) {
	is := r.r.issues[int(args.Number)]
	if is == nil {
		return nil, &gqlError{"NOT_FOUND", fmt.Sprintf("Could not resolve to an issue or pull request with the number of %d.", args.Number)}
	}
	return &itemRes{rq: r.rq, r: r.r, is: is}, nil
}

// itemRes is Issue and PullRequest (and the IssueOrPullRequest union).
type itemRes struct {
	rq *gqlReq
	r  *repo
	is *issue
}

func (i *itemRes) ToIssue() (*itemRes, bool)       { return i, !i.is.PullRequest }
func (i *itemRes) ToPullRequest() (*itemRes, bool) { return i, i.is.PullRequest }

func (i *itemRes) ID() graphql.ID {
	if i.is.PullRequest {
		return graphql.ID(nodeID("PullRequest", i.is.ID))
	}
	return graphql.ID(nodeID("Issue", i.is.ID))
}

func (i *itemRes) Number() int32 { return int32(i.is.Number) }

type timelineArgs struct {
	After     *string
	Before    *string
	First     *int32
	ItemTypes *[]string
	Last      *int32
	Since     *dateTime
	Skip      *int32
}

// eventTypes maps the REST event types to their GraphQL timeline types.
// Types outside the served subset (head_ref_deleted, ...) are not served.
var eventTypes = map[string]string{
	EventLabeled: "LabeledEvent", EventUnlabeled: "UnlabeledEvent",
	EventAssigned: "AssignedEvent", EventUnassigned: "UnassignedEvent",
	EventReviewRequested: "ReviewRequestedEvent", EventReviewRequestRemoved: "ReviewRequestRemovedEvent",
	EventClosed: "ClosedEvent", EventReopened: "ReopenedEvent", EventMerged: "MergedEvent",
	EventMilestoned: "MilestonedEvent", EventDemilestoned: "DemilestonedEvent",
	EventRenamed: "RenamedTitleEvent", EventReadyForReview: "ReadyForReviewEvent",
	EventConvertToDraft: "ConvertToDraftEvent", EventReferenced: "ReferencedEvent",
	EventSubscribed: "SubscribedEvent", EventMentioned: "MentionedEvent",
}

// itemTypeName is the ItemType enum value of a timeline type name
// (LabeledEvent -> LABELED_EVENT).
func itemTypeName(typ string) string {
	var b strings.Builder
	for i, c := range typ {
		if i > 0 && c >= 'A' && c <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(c)
	}
	return strings.ToUpper(b.String())
}

// TimelineItems serves the item's timeline in chronological order (events,
// comments and reviews merged by time; at the same instant events first,
// then comments, then reviews, each by id), filtered by itemTypes and
// since, paged by first/after or last/before with opaque cursors.
func (i *itemRes) TimelineItems(args timelineArgs) (*connRes, error) {
	var want map[string]bool
	if args.ItemTypes != nil && len(*args.ItemTypes) > 0 {
		want = map[string]bool{}
		for _, t := range *args.ItemTypes {
			want[t] = true
		}
	}
	var since time.Time
	if args.Since != nil {
		since = args.Since.Time
	}
	var all []*tlItem
	add := func(t *tlItem) {
		if !i.is.PullRequest && !issueTimelineTypes[t.typ] {
			return
		}
		if want != nil && !want[itemTypeName(t.typ)] {
			return
		}
		if !since.IsZero() && t.at.Before(since) {
			return
		}
		t.rq = i.rq
		all = append(all, t)
	}
	for _, e := range i.is.events {
		if typ, ok := eventTypes[e.Type]; ok {
			add(&tlItem{typ: typ, at: e.CreatedAt, rank: 0, id: e.ID, ev: e, owner: i.r.owner})
		}
	}
	for _, c := range i.is.comments {
		add(&tlItem{typ: "IssueComment", at: c.CreatedAt, rank: 1, id: c.ID, cm: c})
	}
	if i.is.PullRequest {
		for _, rv := range i.r.reviews[i.is.Number] {
			add(&tlItem{typ: "PullRequestReview", at: rv.SubmittedAt, rank: 2, id: rv.ID, rv: rv})
		}
	}
	sort.SliceStable(all, func(a, b int) bool {
		x, y := all[a], all[b]
		if !x.at.Equal(y.at) {
			return x.at.Before(y.at)
		}
		if x.rank != y.rank {
			return x.rank < y.rank
		}
		return x.id < y.id
	})
	lo, hi := 0, len(all)
	if args.After != nil {
		n, err := parseCursor(*args.After)
		if err != nil {
			return nil, err
		}
		lo = min(max(lo, n+1), hi)
	}
	if args.Before != nil {
		n, err := parseCursor(*args.Before)
		if err != nil {
			return nil, err
		}
		hi = max(min(hi, n), lo)
	}
	if args.Skip != nil {
		lo = min(lo+int(max(*args.Skip, 0)), hi)
	}
	if args.First != nil && int(*args.First) < hi-lo {
		hi = lo + int(*args.First)
	}
	if args.Last != nil && int(*args.Last) < hi-lo {
		lo = hi - int(*args.Last)
	}
	return &connRes{nodes: all[lo:hi], lo: lo, total: len(all), hasNext: hi < len(all)}, nil
}

// issueTimelineTypes are the members of IssueTimelineItems the fake serves.
var issueTimelineTypes = map[string]bool{
	"AssignedEvent": true, "ClosedEvent": true, "DemilestonedEvent": true, "IssueComment": true,
	"LabeledEvent": true, "MentionedEvent": true, "MilestonedEvent": true, "ReferencedEvent": true,
	"RenamedTitleEvent": true, "ReopenedEvent": true, "SubscribedEvent": true, "UnassignedEvent": true,
	"UnlabeledEvent": true,
}

func cursorOf(n int) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:v2:" + strconv.Itoa(n)))
}

func parseCursor(s string) (int, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(b), "cursor:v2:"); ok {
			if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
				return n, nil
			}
		}
	}
	return 0, &gqlError{"INVALID_CURSOR_ARGUMENTS", fmt.Sprintf("`%s` does not appear to be a valid cursor.", s)}
}

// connRes is IssueTimelineItemsConnection and
// PullRequestTimelineItemsConnection.
type connRes struct {
	nodes     []*tlItem
	lo, total int
	hasNext   bool
}

func (c *connRes) Nodes() *[]*tlItem { return &c.nodes }
func (c *connRes) TotalCount() int32 { return int32(c.total) }
func (c *connRes) PageInfo() *pageInfoRes {
	p := &pageInfoRes{hasNext: c.hasNext}
	if len(c.nodes) > 0 {
		s := cursorOf(c.lo + len(c.nodes) - 1)
		p.end = &s
	}
	return p
}

type pageInfoRes struct {
	end     *string
	hasNext bool
}

func (p *pageInfoRes) EndCursor() *string { return p.end }
func (p *pageInfoRes) HasNextPage() bool  { return p.hasNext }

// tlItem is one timeline item: an event, a comment or a review. It
// resolves every event type of the subset (their fields are a subset of
// the union of its methods) and converts to the union members.
type tlItem struct {
	rq    *gqlReq
	typ   string
	at    time.Time
	rank  int
	id    int64
	ev    *Event
	cm    *Comment
	rv    *Review
	owner string
}

func (t *tlItem) is(typ string) (*tlItem, bool) { return t, t.typ == typ }

func (t *tlItem) ToAssignedEvent() (*tlItem, bool)       { return t.is("AssignedEvent") }
func (t *tlItem) ToClosedEvent() (*tlItem, bool)         { return t.is("ClosedEvent") }
func (t *tlItem) ToConvertToDraftEvent() (*tlItem, bool) { return t.is("ConvertToDraftEvent") }
func (t *tlItem) ToDemilestonedEvent() (*tlItem, bool)   { return t.is("DemilestonedEvent") }
func (t *tlItem) ToLabeledEvent() (*tlItem, bool)        { return t.is("LabeledEvent") }
func (t *tlItem) ToMentionedEvent() (*tlItem, bool)      { return t.is("MentionedEvent") }
func (t *tlItem) ToMergedEvent() (*tlItem, bool)         { return t.is("MergedEvent") }
func (t *tlItem) ToMilestonedEvent() (*tlItem, bool)     { return t.is("MilestonedEvent") }
func (t *tlItem) ToReadyForReviewEvent() (*tlItem, bool) { return t.is("ReadyForReviewEvent") }
func (t *tlItem) ToReferencedEvent() (*tlItem, bool)     { return t.is("ReferencedEvent") }
func (t *tlItem) ToRenamedTitleEvent() (*tlItem, bool)   { return t.is("RenamedTitleEvent") }
func (t *tlItem) ToReopenedEvent() (*tlItem, bool)       { return t.is("ReopenedEvent") }
func (t *tlItem) ToReviewRequestRemovedEvent() (*tlItem, bool) {
	return t.is("ReviewRequestRemovedEvent")
}
func (t *tlItem) ToReviewRequestedEvent() (*tlItem, bool) { return t.is("ReviewRequestedEvent") }
func (t *tlItem) ToSubscribedEvent() (*tlItem, bool)      { return t.is("SubscribedEvent") }
func (t *tlItem) ToUnassignedEvent() (*tlItem, bool)      { return t.is("UnassignedEvent") }
func (t *tlItem) ToUnlabeledEvent() (*tlItem, bool)       { return t.is("UnlabeledEvent") }

func (t *tlItem) ToIssueComment() (*commentRes, bool) {
	if t.cm == nil {
		return nil, false
	}
	return &commentRes{t.cm}, true
}

func (t *tlItem) ToPullRequestReview() (*reviewRes, bool) {
	if t.rv == nil {
		return nil, false
	}
	return &reviewRes{t.rv}, true
}

func (t *tlItem) ID() graphql.ID      { return graphql.ID(nodeID(t.typ, t.id)) }
func (t *tlItem) CreatedAt() dateTime { return dateTime{t.at} }
func (t *tlItem) Actor() *actorRes    { return actor(t.ev.Actor) }

func (t *tlItem) Label() *labelRes { return &labelRes{t.ev.Label} }

func (t *tlItem) Assignee() *actorRes { return actor(t.ev.Assignee) }

func (t *tlItem) RequestedReviewer() *reviewerRes {
	if t.ev.RequestedReviewer != "" {
		return &reviewerRes{user: actor(t.ev.RequestedReviewer)}
	}
	if t.ev.RequestedTeam == "" {
		return nil
	}
	name := t.ev.RequestedTeam
	_, slug, _ := strings.Cut(name, "/")
	if tm := t.rq.o.teams[strings.ToLower(name)]; tm != nil {
		name, slug = tm.Name, tm.Slug
	}
	return &reviewerRes{team: &teamRes{slug: slug, name: name}}
}

func (t *tlItem) MilestoneTitle() string { return t.ev.Milestone }
func (t *tlItem) CurrentTitle() string   { return t.ev.Title }
func (t *tlItem) PreviousTitle() string  { return t.ev.RenamedFrom }

// actor returns the Actor of a login: logins ending in "[bot]" are Bots,
// whose GraphQL login lacks the suffix (as on GitHub: REST
// "dependabot[bot]", GraphQL Bot "dependabot").
func actor(login string) *actorRes {
	if login == "" {
		return nil
	}
	if b, ok := strings.CutSuffix(login, "[bot]"); ok {
		return &actorRes{login: b, bot: true}
	}
	return &actorRes{login: login}
}

// actorRes is the Actor interface and the Assignee union.
type actorRes struct {
	login string
	bot   bool
}

func (a *actorRes) Login() string             { return a.login }
func (a *actorRes) ToUser() (*actorRes, bool) { return a, !a.bot }
func (a *actorRes) ToBot() (*actorRes, bool)  { return a, a.bot }

// reviewerRes is the RequestedReviewer union.
type reviewerRes struct {
	user *actorRes
	team *teamRes
}

func (r *reviewerRes) ToUser() (*actorRes, bool) {
	if r.user == nil {
		return nil, false
	}
	return r.user.ToUser()
}

func (r *reviewerRes) ToBot() (*actorRes, bool) {
	if r.user == nil {
		return nil, false
	}
	return r.user.ToBot()
}

func (r *reviewerRes) ToTeam() (*teamRes, bool) { return r.team, r.team != nil }

type teamRes struct{ slug, name string }

func (t *teamRes) Slug() string { return t.slug }
func (t *teamRes) Name() string { return t.name }

type labelRes struct{ name string }

func (l *labelRes) Name() string { return l.name }

// commentRes is IssueComment.
type commentRes struct{ c *Comment }

func (c *commentRes) ID() graphql.ID      { return graphql.ID(nodeID("IssueComment", c.c.ID)) }
func (c *commentRes) Author() *actorRes   { return actor(c.c.User) }
func (c *commentRes) CreatedAt() dateTime { return dateTime{c.c.CreatedAt} }
func (c *commentRes) DatabaseID() *int32  { return int32Of(c.c.ID) }

// reviewRes is PullRequestReview.
type reviewRes struct{ r *Review }

func (r *reviewRes) ID() graphql.ID          { return graphql.ID(nodeID("PullRequestReview", r.r.ID)) }
func (r *reviewRes) Author() *actorRes       { return actor(r.r.User) }
func (r *reviewRes) CreatedAt() dateTime     { return dateTime{r.r.SubmittedAt} }
func (r *reviewRes) DatabaseID() *int32      { return int32Of(r.r.ID) }
func (r *reviewRes) FullDatabaseID() *bigInt { b := bigInt(strconv.FormatInt(r.r.ID, 10)); return &b }
func (r *reviewRes) State() string           { return r.r.State }
func (r *reviewRes) SubmittedAt() *dateTime  { return &dateTime{r.r.SubmittedAt} }

// int32Of is GitHub's Int databaseId: null when the id does not fit.
func int32Of(id int64) *int32 {
	if id > 1<<31-1 {
		return nil
	}
	v := int32(id)
	return &v
}
