package github

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/crossteam/crossteam/fakeapi"
)

// Issue event types the fake gives a meaning to. AddEvent accepts any other
// lower-case type as a "noise" event (subscribed, mentioned, referenced,
// head_ref_deleted, ...) that is recorded and served but changes nothing.
const (
	EventLabeled              = "labeled"
	EventUnlabeled            = "unlabeled"
	EventAssigned             = "assigned"
	EventUnassigned           = "unassigned"
	EventReviewRequested      = "review_requested"
	EventReviewRequestRemoved = "review_request_removed"
	EventClosed               = "closed"
	EventReopened             = "reopened"
	EventMerged               = "merged"
	EventMilestoned           = "milestoned"
	EventDemilestoned         = "demilestoned"
	EventRenamed              = "renamed"
	EventReadyForReview       = "ready_for_review"
	EventConvertToDraft       = "convert_to_draft"
	EventReferenced           = "referenced"
	EventSubscribed           = "subscribed"
	EventMentioned            = "mentioned"
)

// Review states accepted by AddReview (as GitHub spells them).
const (
	ReviewApproved         = "APPROVED"
	ReviewChangesRequested = "CHANGES_REQUESTED"
	ReviewCommented        = "COMMENTED"
	ReviewDismissed        = "DISMISSED"
)

// Issue is an issue or a pull request of one repository as the fake holds
// it. Values returned by Org methods are copies; change the organisation only
// through its mutators.
type Issue struct {
	Number      int   // per-repo number shared by issues and PRs; 0 in AddIssue = next free
	ID          int64 // assigned by the Org
	Title       string
	User        string   // author login (required)
	State       string   // "open" or "closed"; changed by events only
	StateReason string   // "", "completed", "not_planned", "reopened" (issues only)
	Labels      []string // current labels, in the order they were added
	Assignees   []string // current assignees, in the order they were added
	Milestone   string   // current milestone title, "" for none
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ClosedAt    time.Time // zero while open
	ClosedBy    string    // login of whoever closed it last; "" while open
	PullRequest bool      // true for pull requests
	Draft       bool      // pull requests only
	MergedAt    time.Time // pull requests only; zero unless merged
	Comments    int       // number of issue comments
}

// Event is one repository issue event (the items of
// GET /repos/{o}/{r}/issues/events). Fields other than Issue, Type and Actor
// are used according to Type.
type Event struct {
	ID        int64     // assigned by the Org, increasing across the whole Org
	Issue     int       // issue or PR number (required)
	Type      string    // one of the Event* constants or any noise type
	Actor     string    // login of whoever did it (required)
	CreatedAt time.Time // zero = Org.Now()

	Label             string // labeled, unlabeled
	Assignee          string // assigned, unassigned (the assigner is Actor)
	RequestedReviewer string // review_requested, review_request_removed: a user login ...
	RequestedTeam     string // ... or a team: "slug" or "org/slug" (org = repo owner)
	Milestone         string // milestoned, demilestoned: milestone title
	Title             string // renamed: the new title
	RenamedFrom       string // renamed: filled with the previous title
	CommitID          string // closed, merged, referenced: optional SHA (generated for merged/referenced)
	StateReason       string // closed: "completed" (default for issues) or "not_planned"
}

// Comment is an issue (or PR conversation) comment.
type Comment struct {
	ID        int64 // assigned by the Org
	Issue     int   // issue or PR number (required)
	User      string
	Body      string
	CreatedAt time.Time // zero = Org.Now()
	UpdatedAt time.Time // set to CreatedAt by AddComment
}

// Milestone is a repository milestone. OpenIssues and ClosedIssues are
// computed from the issues and PRs that carry the milestone.
type Milestone struct {
	Number       int   // assigned by the Org
	ID           int64 // assigned by the Org
	Title        string
	Description  string
	Creator      string
	State        string    // "open" (default) or "closed"
	DueOn        time.Time // zero = no due date
	CreatedAt    time.Time // zero = Org.Now()
	UpdatedAt    time.Time
	ClosedAt     time.Time // set when State becomes "closed" unless given
	OpenIssues   int       // computed
	ClosedIssues int       // computed
}

// Review is a pull request review.
type Review struct {
	ID          int64 // assigned by the Org
	PullRequest int   // PR number (required)
	User        string
	State       string // ReviewApproved, ReviewChangesRequested, ReviewCommented, ReviewDismissed
	Body        string
	SubmittedAt time.Time // zero = Org.Now()
	CommitID    string    // generated when empty
}

// Team is a GitHub team of an organisation.
type Team struct {
	Org         string // organisation login (the owner part of its repos)
	Slug        string
	Name        string // defaults to Slug
	Description string
	ID          int64    // assigned by the Org
	Members     []string // logins, in the order given
}

// Org is an in-memory GitHub: repositories (of one or more owners) with
// their issues, pull requests, issue events, comments, milestones and
// reviews, plus teams. It is safe for concurrent use and may be mutated
// while a GitHub handler serves it.
type Org struct {
	// Now is the clock used for defaults (event times, updated_at) and by
	// the handler for rate-limit windows and secondary-limit episodes. It
	// defaults to time.Now; set it before the Org is used.
	Now func() time.Time

	mu        sync.RWMutex
	repos     map[string]*repo // key: lower-case "owner/name"
	repoList  []*repo
	reposByID map[int64]*repo
	teams     map[string]*team // key: lower-case "org/slug"
	users     map[string]int64 // login -> id
	orgIDs    map[string]int64 // lower-case org login -> id
	members   map[string]map[string]bool

	seqRepo, seqUser, seqIssue, seqEvent, seqComment int64
	seqMilestone, seqReview, seqTeam, seqLabel       int64
}

type repo struct {
	id         int64
	owner      string
	name       string
	createdAt  time.Time
	updatedAt  time.Time
	issues     map[int]*issue
	order      []*issue // by number
	nextNumber int
	events     []*Event // ascending id
	comments   []*Comment
	commentIdx map[int64]*Comment
	milestones []*Milestone // by number
	msByTitle  map[string]*Milestone
	reviews    map[int][]*Review
	labels     map[string]*label // key: lower-case name
}

func (r *repo) fullName() string { return r.owner + "/" + r.name }

type issue struct {
	Issue
	events   []*Event   // this issue's events, ascending id
	comments []*Comment // this issue's comments, ascending id (the GraphQL timeline)
	deps     []depRef   // blocked by (dependencies.go)
	blocking []depRef   // the issues this one blocks
}

type label struct {
	id    int64
	name  string
	color string
}

type team struct {
	Team
}

// NewOrg returns an empty organisation whose clock is time.Now.
func NewOrg() *Org {
	return &Org{
		Now:          time.Now,
		repos:        map[string]*repo{},
		reposByID:    map[int64]*repo{},
		teams:        map[string]*team{},
		users:        map[string]int64{},
		orgIDs:       map[string]int64{},
		members:      map[string]map[string]bool{},
		seqRepo:      100000,
		seqUser:      1000,
		seqIssue:     2000000,
		seqEvent:     5000000,
		seqComment:   7000000,
		seqMilestone: 900000,
		seqReview:    8000000,
		seqTeam:      100,
		seqLabel:     300000,
	}
}

// now is the Org clock truncated to GitHub's one-second resolution, in UTC.
func (o *Org) now() time.Time {
	f := o.Now
	if f == nil {
		f = time.Now
	}
	return f().UTC().Truncate(time.Second)
}

func norm(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}

func (o *Org) orDefault(t time.Time) time.Time {
	if t.IsZero() {
		return o.now()
	}
	return norm(t)
}

func (o *Org) userID(login string) int64 {
	if id, ok := o.users[login]; ok {
		return id
	}
	o.seqUser++
	o.users[login] = o.seqUser
	return o.seqUser
}

func (o *Org) orgID(login string) int64 {
	k := strings.ToLower(login)
	if id, ok := o.orgIDs[k]; ok {
		return id
	}
	o.seqUser++
	o.orgIDs[k] = o.seqUser
	return o.seqUser
}

// AddRepo adds an empty repository "owner/name".
func (o *Org) AddRepo(fullName string) error {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("fakeapi: repository %q is not owner/name", fullName)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	k := strings.ToLower(fullName)
	if _, dup := o.repos[k]; dup {
		return fmt.Errorf("fakeapi: repository %q already exists", fullName)
	}
	o.seqRepo++
	now := o.now()
	r := &repo{
		id: o.seqRepo, owner: owner, name: name, createdAt: now, updatedAt: now,
		issues: map[int]*issue{}, nextNumber: 1, commentIdx: map[int64]*Comment{},
		msByTitle: map[string]*Milestone{}, reviews: map[int][]*Review{}, labels: map[string]*label{},
	}
	o.orgID(owner)
	o.repos[k] = r
	o.repoList = append(o.repoList, r)
	o.reposByID[r.id] = r
	return nil
}

// Repos returns the full names of all repositories in the order they were added.
func (o *Org) Repos() []string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]string, len(o.repoList))
	for i, r := range o.repoList {
		out[i] = r.fullName()
	}
	return out
}

func (o *Org) repo(fullName string) (*repo, error) {
	r := o.repos[strings.ToLower(fullName)]
	if r == nil {
		return nil, fmt.Errorf("fakeapi: repository %q: %w", fullName, fakeapi.ErrNotFound)
	}
	return r, nil
}

func (r *repo) issue(n int) (*issue, error) {
	is := r.issues[n]
	if is == nil {
		return nil, fmt.Errorf("fakeapi: %s#%d: %w", r.fullName(), n, fakeapi.ErrNotFound)
	}
	return is, nil
}

func (r *repo) label(o *Org, name string) *label {
	k := strings.ToLower(name)
	if l := r.labels[k]; l != nil {
		return l
	}
	o.seqLabel++
	sum := sha1.Sum([]byte(name))
	l := &label{id: o.seqLabel, name: name, color: hex.EncodeToString(sum[:3])}
	r.labels[k] = l
	return l
}

// AddIssue adds an open issue (or, with PullRequest set, a pull request) and
// returns it with its number and id. CreatedAt defaults to Now; UpdatedAt is
// CreatedAt. Initial Labels, Assignees and Milestone are recorded the way
// GitHub records them: as labeled / assigned / milestoned events by the
// author at CreatedAt.
func (o *Org) AddIssue(repoName string, in Issue) (Issue, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.repo(repoName)
	if err != nil {
		return Issue{}, err
	}
	if in.User == "" {
		return Issue{}, fmt.Errorf("fakeapi: AddIssue %s: User is required", repoName)
	}
	if in.State != "" && in.State != "open" {
		return Issue{}, fmt.Errorf("fakeapi: AddIssue %s: new issues are open; close them with a %q event", repoName, EventClosed)
	}
	if in.Milestone != "" && r.msByTitle[in.Milestone] == nil {
		return Issue{}, fmt.Errorf("fakeapi: AddIssue %s: milestone %q: %w", repoName, in.Milestone, fakeapi.ErrNotFound)
	}
	n := in.Number
	if n == 0 {
		n = r.nextNumber
	} else if n < 0 || r.issues[n] != nil {
		return Issue{}, fmt.Errorf("fakeapi: AddIssue %s: number %d is invalid or taken", repoName, n)
	}
	if n >= r.nextNumber {
		r.nextNumber = n + 1
	}
	created := o.orDefault(in.CreatedAt)
	o.seqIssue++
	title := in.Title
	if title == "" {
		title = fmt.Sprintf("Issue %d", n)
	}
	is := &issue{Issue: Issue{
		Number: n, ID: o.seqIssue, Title: title, User: in.User, State: "open",
		CreatedAt: created, UpdatedAt: created, PullRequest: in.PullRequest,
		Draft: in.Draft && in.PullRequest,
	}}
	o.userID(in.User)
	r.issues[n] = is
	i := sort.Search(len(r.order), func(i int) bool { return r.order[i].Number > n })
	r.order = append(r.order, nil)
	copy(r.order[i+1:], r.order[i:])
	r.order[i] = is
	for _, l := range in.Labels {
		if _, err := o.applyEvent(r, is, Event{Type: EventLabeled, Actor: in.User, Label: l, CreatedAt: created}); err != nil {
			return Issue{}, err
		}
	}
	for _, a := range in.Assignees {
		if _, err := o.applyEvent(r, is, Event{Type: EventAssigned, Actor: in.User, Assignee: a, CreatedAt: created}); err != nil {
			return Issue{}, err
		}
	}
	if in.Milestone != "" {
		if _, err := o.applyEvent(r, is, Event{Type: EventMilestoned, Actor: in.User, Milestone: in.Milestone, CreatedAt: created}); err != nil {
			return Issue{}, err
		}
	}
	return is.copy(), nil
}

func (is *issue) copy() Issue {
	c := is.Issue
	c.Labels = append([]string(nil), is.Labels...)
	c.Assignees = append([]string(nil), is.Assignees...)
	return c
}

// Issue returns the current state of one issue or pull request.
func (o *Org) Issue(repoName string, number int) (Issue, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := o.repo(repoName)
	if err != nil {
		return Issue{}, false
	}
	is := r.issues[number]
	if is == nil {
		return Issue{}, false
	}
	return is.copy(), true
}

// Issues returns all issues and pull requests of a repository by number.
func (o *Org) Issues(repoName string) []Issue {
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := o.repo(repoName)
	if err != nil {
		return nil
	}
	out := make([]Issue, len(r.order))
	for i, is := range r.order {
		out[i] = is.copy()
	}
	return out
}

// AddEvent records an issue event and applies it to the issue the way GitHub
// does: labeled/unlabeled change the labels, assigned/unassigned the
// assignees, closed/reopened the state, closed_at and state_reason,
// milestoned/demilestoned the milestone, renamed the title,
// ready_for_review/convert_to_draft a PR's draft flag; every one of these
// and review_requested/review_request_removed bump updated_at (to the event
// time when later). Noise types (subscribed, mentioned, referenced,
// ...) change nothing. Like GitHub:
//   - merged also records a closed event right after it (the PR closes);
//   - milestoned on an issue that has another milestone first records a
//     demilestoned event for the old one.
//
// Events GitHub would never emit (closing a closed issue, adding a label
// that is present, a review request on an issue, ...) are refused. The
// returned Event carries its id and defaults.
func (o *Org) AddEvent(repoName string, ev Event) (Event, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.repo(repoName)
	if err != nil {
		return Event{}, err
	}
	is, err := r.issue(ev.Issue)
	if err != nil {
		return Event{}, err
	}
	return o.applyEvent(r, is, ev)
}

func validType(t string) bool {
	if t == "" {
		return false
	}
	for _, c := range t {
		if (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if strings.EqualFold(v, s) {
			return i
		}
	}
	return -1
}

func fakeSHA(parts ...any) string {
	sum := sha1.Sum([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(sum[:])
}

// applyEvent validates and applies ev to is; o.mu must be held.
func (o *Org) applyEvent(r *repo, is *issue, ev Event) (Event, error) {
	fail := func(format string, args ...any) (Event, error) {
		return Event{}, fmt.Errorf("fakeapi: %s %s#%d: %s", ev.Type, r.fullName(), is.Number, fmt.Sprintf(format, args...))
	}
	if !validType(ev.Type) {
		return fail("invalid event type %q", ev.Type)
	}
	if ev.Actor == "" {
		return fail("Actor is required")
	}
	ev.Issue = is.Number
	ev.CreatedAt = o.orDefault(ev.CreatedAt)
	ev.ID = 0
	ev.RenamedFrom = ""
	effect := true
	var after *Event // an event GitHub records right after this one
	var before *Event
	switch ev.Type {
	case EventLabeled, EventUnlabeled:
		if ev.Label == "" {
			return fail("Label is required")
		}
		i := indexOf(is.Labels, ev.Label)
		if ev.Type == EventLabeled {
			if i >= 0 {
				return fail("label %q is already present", ev.Label)
			}
			l := r.label(o, ev.Label)
			ev.Label = l.name
			is.Labels = append(is.Labels, l.name)
		} else {
			if i < 0 {
				return fail("label %q is not present", ev.Label)
			}
			ev.Label = is.Labels[i]
			is.Labels = append(is.Labels[:i:i], is.Labels[i+1:]...)
		}
	case EventAssigned, EventUnassigned:
		if ev.Assignee == "" {
			return fail("Assignee is required")
		}
		i := indexOf(is.Assignees, ev.Assignee)
		if ev.Type == EventAssigned {
			if i >= 0 {
				return fail("%s is already assigned", ev.Assignee)
			}
			o.userID(ev.Assignee)
			is.Assignees = append(is.Assignees, ev.Assignee)
		} else {
			if i < 0 {
				return fail("%s is not assigned", ev.Assignee)
			}
			ev.Assignee = is.Assignees[i]
			is.Assignees = append(is.Assignees[:i:i], is.Assignees[i+1:]...)
		}
	case EventReviewRequested, EventReviewRequestRemoved:
		if !is.PullRequest {
			return fail("not a pull request")
		}
		if (ev.RequestedReviewer == "") == (ev.RequestedTeam == "") {
			return fail("exactly one of RequestedReviewer and RequestedTeam is required")
		}
		if ev.RequestedReviewer != "" {
			o.userID(ev.RequestedReviewer)
		} else {
			slug := ev.RequestedTeam
			if org, s, ok := strings.Cut(slug, "/"); ok {
				if !strings.EqualFold(org, r.owner) {
					return fail("team %q is not in organisation %q", ev.RequestedTeam, r.owner)
				}
				slug = s
			}
			t := o.teamLocked(r.owner, slug)
			ev.RequestedTeam = t.Org + "/" + t.Slug
		}
	case EventClosed:
		if is.State == "closed" {
			return fail("already closed")
		}
		is.State = "closed"
		is.ClosedAt = ev.CreatedAt
		is.ClosedBy = ev.Actor
		if is.PullRequest {
			ev.StateReason = ""
		} else if ev.StateReason == "" {
			ev.StateReason = "completed"
		}
		is.StateReason = ev.StateReason
	case EventReopened:
		if is.State != "closed" {
			return fail("not closed")
		}
		if !is.MergedAt.IsZero() {
			return fail("a merged pull request cannot be reopened")
		}
		is.State = "open"
		is.ClosedAt = time.Time{}
		is.ClosedBy = ""
		if !is.PullRequest {
			is.StateReason = "reopened"
		}
	case EventMerged:
		if !is.PullRequest {
			return fail("not a pull request")
		}
		if is.State != "open" {
			return fail("pull request is not open")
		}
		if ev.CommitID == "" {
			ev.CommitID = fakeSHA(r.fullName(), is.Number, "merge", ev.CreatedAt)
		}
		is.MergedAt = ev.CreatedAt
		is.Draft = false
		after = &Event{Type: EventClosed, Issue: is.Number, Actor: ev.Actor, CreatedAt: ev.CreatedAt, CommitID: ev.CommitID}
	case EventMilestoned:
		if ev.Milestone == "" {
			return fail("Milestone is required")
		}
		m := r.msByTitle[ev.Milestone]
		if m == nil {
			return fail("milestone %q: %v", ev.Milestone, fakeapi.ErrNotFound)
		}
		if is.Milestone == m.Title {
			return fail("already in milestone %q", m.Title)
		}
		if is.Milestone != "" {
			before = &Event{Type: EventDemilestoned, Issue: is.Number, Actor: ev.Actor, CreatedAt: ev.CreatedAt, Milestone: is.Milestone}
		}
	case EventDemilestoned:
		if is.Milestone == "" {
			return fail("has no milestone")
		}
		if ev.Milestone == "" {
			ev.Milestone = is.Milestone
		} else if ev.Milestone != is.Milestone {
			return fail("milestone is %q, not %q", is.Milestone, ev.Milestone)
		}
		is.Milestone = ""
	case EventReadyForReview, EventConvertToDraft:
		if !is.PullRequest {
			return fail("not a pull request")
		}
		if is.Draft != (ev.Type == EventReadyForReview) {
			return fail("draft is already %v", is.Draft)
		}
		is.Draft = !is.Draft
	case EventRenamed:
		if ev.Title == "" {
			return fail("Title (the new title) is required")
		}
		ev.RenamedFrom = is.Title
		is.Title = ev.Title
	default:
		effect = false
		if ev.Type == EventReferenced && ev.CommitID == "" {
			ev.CommitID = fakeSHA(r.fullName(), is.Number, "ref", ev.CreatedAt)
		}
	}
	if before != nil {
		if _, err := o.applyEvent(r, is, *before); err != nil {
			return Event{}, err
		}
	}
	if ev.Type == EventMilestoned {
		is.Milestone = ev.Milestone
	}
	o.userID(ev.Actor)
	o.seqEvent++
	ev.ID = o.seqEvent
	stored := ev
	r.events = append(r.events, &stored)
	is.events = append(is.events, &stored)
	if effect && ev.CreatedAt.After(is.UpdatedAt) {
		is.UpdatedAt = ev.CreatedAt
	}
	if after != nil {
		if _, err := o.applyEvent(r, is, *after); err != nil {
			return Event{}, err
		}
	}
	return ev, nil
}

// Events returns all issue events of a repository, oldest (lowest id) first.
func (o *Org) Events(repoName string) []Event {
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := o.repo(repoName)
	if err != nil {
		return nil
	}
	out := make([]Event, len(r.events))
	for i, e := range r.events {
		out[i] = *e
	}
	return out
}

// AddComment adds an issue comment; it bumps the issue's comment count and
// updated_at.
func (o *Org) AddComment(repoName string, c Comment) (Comment, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.repo(repoName)
	if err != nil {
		return Comment{}, err
	}
	is, err := r.issue(c.Issue)
	if err != nil {
		return Comment{}, err
	}
	if c.User == "" {
		return Comment{}, fmt.Errorf("fakeapi: AddComment %s#%d: User is required", repoName, c.Issue)
	}
	o.userID(c.User)
	o.seqComment++
	c.ID = o.seqComment
	c.CreatedAt = o.orDefault(c.CreatedAt)
	c.UpdatedAt = c.CreatedAt
	stored := c
	r.comments = append(r.comments, &stored)
	r.commentIdx[c.ID] = &stored
	is.comments = append(is.comments, &stored)
	is.Comments++
	if c.CreatedAt.After(is.UpdatedAt) {
		is.UpdatedAt = c.CreatedAt
	}
	return c, nil
}

// EditComment changes a comment's body and sets its updated_at to at (zero =
// Now). As on GitHub, the issue's updated_at does not change.
func (o *Org) EditComment(repoName string, id int64, body string, at time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.repo(repoName)
	if err != nil {
		return err
	}
	c := r.commentIdx[id]
	if c == nil {
		return fmt.Errorf("fakeapi: comment %d in %s: %w", id, repoName, fakeapi.ErrNotFound)
	}
	c.Body = body
	c.UpdatedAt = o.orDefault(at)
	return nil
}

// Comments returns all issue comments of a repository, oldest first.
func (o *Org) Comments(repoName string) []Comment {
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := o.repo(repoName)
	if err != nil {
		return nil
	}
	out := make([]Comment, len(r.comments))
	for i, c := range r.comments {
		out[i] = *c
	}
	return out
}

// AddMilestone adds a milestone and returns it with its number. Titles are
// unique per repository, as on GitHub.
func (o *Org) AddMilestone(repoName string, m Milestone) (Milestone, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.repo(repoName)
	if err != nil {
		return Milestone{}, err
	}
	if m.Title == "" {
		return Milestone{}, fmt.Errorf("fakeapi: AddMilestone %s: Title is required", repoName)
	}
	if r.msByTitle[m.Title] != nil {
		return Milestone{}, fmt.Errorf("fakeapi: AddMilestone %s: title %q already exists", repoName, m.Title)
	}
	switch m.State {
	case "":
		m.State = "open"
	case "open", "closed":
	default:
		return Milestone{}, fmt.Errorf("fakeapi: AddMilestone %s: state %q is not open or closed", repoName, m.State)
	}
	if m.Creator == "" {
		m.Creator = r.owner
	}
	o.userID(m.Creator)
	o.seqMilestone++
	m.ID = o.seqMilestone
	m.Number = len(r.milestones) + 1
	m.CreatedAt = o.orDefault(m.CreatedAt)
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = m.CreatedAt
	}
	m.UpdatedAt = norm(m.UpdatedAt)
	m.DueOn = norm(m.DueOn)
	m.ClosedAt = norm(m.ClosedAt)
	if m.State == "closed" && m.ClosedAt.IsZero() {
		m.ClosedAt = m.UpdatedAt
	}
	if m.State == "open" {
		m.ClosedAt = time.Time{}
	}
	m.OpenIssues, m.ClosedIssues = 0, 0
	stored := m
	r.milestones = append(r.milestones, &stored)
	r.msByTitle[m.Title] = &stored
	return m, nil
}

// UpdateMilestone edits a milestone through f (title, description, due
// date, state, closed_at, updated_at). updated_at becomes Now unless f sets
// it; closing sets closed_at (to updated_at) unless f sets it, reopening
// clears it. Renaming changes the milestone title shown on its issues.
func (o *Org) UpdateMilestone(repoName string, number int, f func(m *Milestone)) (Milestone, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.repo(repoName)
	if err != nil {
		return Milestone{}, err
	}
	if number < 1 || number > len(r.milestones) {
		return Milestone{}, fmt.Errorf("fakeapi: milestone %d in %s: %w", number, repoName, fakeapi.ErrNotFound)
	}
	cur := r.milestones[number-1]
	m := *cur
	f(&m)
	m.ID, m.Number, m.CreatedAt = cur.ID, cur.Number, cur.CreatedAt
	if m.Title == "" {
		return Milestone{}, fmt.Errorf("fakeapi: UpdateMilestone %s: empty title", repoName)
	}
	if m.Title != cur.Title && r.msByTitle[m.Title] != nil {
		return Milestone{}, fmt.Errorf("fakeapi: UpdateMilestone %s: title %q already exists", repoName, m.Title)
	}
	if m.State != "open" && m.State != "closed" {
		return Milestone{}, fmt.Errorf("fakeapi: UpdateMilestone %s: state %q is not open or closed", repoName, m.State)
	}
	if m.UpdatedAt.Equal(cur.UpdatedAt) {
		m.UpdatedAt = o.now()
	}
	m.UpdatedAt, m.DueOn, m.ClosedAt = norm(m.UpdatedAt), norm(m.DueOn), norm(m.ClosedAt)
	switch {
	case m.State == "open":
		m.ClosedAt = time.Time{}
	case m.ClosedAt.IsZero() || (cur.State == "open" && m.ClosedAt.Equal(cur.ClosedAt)):
		m.ClosedAt = m.UpdatedAt
	}
	o.userID(m.Creator)
	if m.Title != cur.Title {
		delete(r.msByTitle, cur.Title)
		r.msByTitle[m.Title] = cur
		for _, is := range r.order {
			if is.Milestone == cur.Title {
				is.Milestone = m.Title
			}
		}
	}
	*cur = m
	return o.milestoneWithCounts(r, cur), nil
}

func (o *Org) milestoneWithCounts(r *repo, m *Milestone) Milestone {
	c := *m
	c.OpenIssues, c.ClosedIssues = 0, 0
	for _, is := range r.order {
		if is.Milestone == m.Title {
			if is.State == "closed" {
				c.ClosedIssues++
			} else {
				c.OpenIssues++
			}
		}
	}
	return c
}

// Milestones returns a repository's milestones by number, with computed
// open_issues / closed_issues.
func (o *Org) Milestones(repoName string) []Milestone {
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := o.repo(repoName)
	if err != nil {
		return nil
	}
	out := make([]Milestone, len(r.milestones))
	for i, m := range r.milestones {
		out[i] = o.milestoneWithCounts(r, m)
	}
	return out
}

// AddReview adds a submitted review to a pull request; it bumps the PR's
// updated_at.
func (o *Org) AddReview(repoName string, rv Review) (Review, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.repo(repoName)
	if err != nil {
		return Review{}, err
	}
	is, err := r.issue(rv.PullRequest)
	if err != nil {
		return Review{}, err
	}
	if !is.PullRequest {
		return Review{}, fmt.Errorf("fakeapi: AddReview %s#%d: not a pull request", repoName, rv.PullRequest)
	}
	if rv.User == "" {
		return Review{}, fmt.Errorf("fakeapi: AddReview %s#%d: User is required", repoName, rv.PullRequest)
	}
	switch rv.State {
	case ReviewApproved, ReviewChangesRequested, ReviewCommented, ReviewDismissed:
	default:
		return Review{}, fmt.Errorf("fakeapi: AddReview %s#%d: state %q is not one of APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED", repoName, rv.PullRequest, rv.State)
	}
	o.userID(rv.User)
	o.seqReview++
	rv.ID = o.seqReview
	rv.SubmittedAt = o.orDefault(rv.SubmittedAt)
	if rv.CommitID == "" {
		rv.CommitID = fakeSHA(repoName, rv.PullRequest, "head", rv.SubmittedAt)
	}
	stored := rv
	r.reviews[rv.PullRequest] = append(r.reviews[rv.PullRequest], &stored)
	if rv.SubmittedAt.After(is.UpdatedAt) {
		is.UpdatedAt = rv.SubmittedAt
	}
	return rv, nil
}

// Reviews returns the reviews of one pull request in submission order.
func (o *Org) Reviews(repoName string, number int) []Review {
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := o.repo(repoName)
	if err != nil {
		return nil
	}
	out := make([]Review, 0, len(r.reviews[number]))
	for _, rv := range r.reviews[number] {
		out = append(out, *rv)
	}
	return out
}

func splitTeam(name string) (org, slug string, err error) {
	org, slug, ok := strings.Cut(name, "/")
	if !ok || org == "" || slug == "" || strings.Contains(slug, "/") {
		return "", "", fmt.Errorf("fakeapi: team %q is not org/slug", name)
	}
	return org, slug, nil
}

// teamLocked returns the team org/slug, creating it (name = slug) if needed.
func (o *Org) teamLocked(org, slug string) *team {
	k := strings.ToLower(org + "/" + slug)
	if t := o.teams[k]; t != nil {
		return t
	}
	o.seqTeam++
	t := &team{Team: Team{Org: org, Slug: slug, Name: slug, ID: o.seqTeam}}
	o.orgID(org)
	o.teams[k] = t
	return t
}

// AddTeam creates or updates the team t.Org/t.Slug (name, description and,
// when t.Members is not nil, members).
func (o *Org) AddTeam(t Team) (Team, error) {
	if _, _, err := splitTeam(t.Org + "/" + t.Slug); err != nil {
		return Team{}, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	cur := o.teamLocked(t.Org, t.Slug)
	if t.Name != "" {
		cur.Name = t.Name
	}
	cur.Description = t.Description
	if t.Members != nil {
		o.setMembersLocked(cur, t.Members)
	}
	return cur.copy(), nil
}

func (t *team) copy() Team {
	c := t.Team
	c.Members = append([]string(nil), t.Members...)
	return c
}

// SetTeamMembers sets the members of team "org/slug", creating the team
// (name = slug) if it does not exist.
func (o *Org) SetTeamMembers(teamName string, logins ...string) error {
	org, slug, err := splitTeam(teamName)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.setMembersLocked(o.teamLocked(org, slug), logins)
	return nil
}

func (o *Org) setMembersLocked(t *team, logins []string) {
	t.Members = append([]string(nil), logins...)
	for _, l := range logins {
		o.userID(l)
	}
	// Rebuild the org membership index (used for author_association).
	k := strings.ToLower(t.Org)
	idx := map[string]bool{}
	for _, other := range o.teams {
		if strings.ToLower(other.Org) == k {
			for _, l := range other.Members {
				idx[strings.ToLower(l)] = true
			}
		}
	}
	o.members[k] = idx
}

// Team returns team "org/slug".
func (o *Org) Team(teamName string) (Team, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	t := o.teams[strings.ToLower(teamName)]
	if t == nil {
		return Team{}, false
	}
	return t.copy(), true
}

// Teams returns all teams, ordered by "org/slug".
func (o *Org) Teams() []Team {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]Team, 0, len(o.teams))
	for _, t := range o.teams {
		out = append(out, t.copy())
	}
	sort.Slice(out, func(i, j int) bool {
		return strings.ToLower(out[i].Org+"/"+out[i].Slug) < strings.ToLower(out[j].Org+"/"+out[j].Slug)
	})
	return out
}
