package github

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// This file renders the Org as GitHub REST JSON. Field order and presence
// follow GitHub's payloads (see testdata/ and github_test.go's shape test).

// jtime is a timestamp rendered as GitHub does ("2006-01-02T15:04:05Z"), or
// null when zero.
type jtime time.Time

func (t jtime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + tt.UTC().Format("2006-01-02T15:04:05Z") + `"`), nil
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nodeID(typ string, id int64) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%02d:%s%d", len(typ), typ, id)))
}

type wUser struct {
	Login             string `json:"login"`
	ID                int64  `json:"id"`
	NodeID            string `json:"node_id"`
	AvatarURL         string `json:"avatar_url"`
	GravatarID        string `json:"gravatar_id"`
	URL               string `json:"url"`
	HTMLURL           string `json:"html_url"`
	FollowersURL      string `json:"followers_url"`
	FollowingURL      string `json:"following_url"`
	GistsURL          string `json:"gists_url"`
	StarredURL        string `json:"starred_url"`
	SubscriptionsURL  string `json:"subscriptions_url"`
	OrganizationsURL  string `json:"organizations_url"`
	ReposURL          string `json:"repos_url"`
	EventsURL         string `json:"events_url"`
	ReceivedEventsURL string `json:"received_events_url"`
	Type              string `json:"type"`
	UserViewType      string `json:"user_view_type"`
	SiteAdmin         bool   `json:"site_admin"`
}

type wLabel struct {
	ID          int64   `json:"id"`
	NodeID      string  `json:"node_id"`
	URL         string  `json:"url"`
	Name        string  `json:"name"`
	Color       string  `json:"color"`
	Default     bool    `json:"default"`
	Description *string `json:"description"`
}

type wEventLabel struct {
	Name  string `json:"name"`
	Color string `json:"color"`
}

type wMilestone struct {
	URL          string  `json:"url"`
	HTMLURL      string  `json:"html_url"`
	LabelsURL    string  `json:"labels_url"`
	ID           int64   `json:"id"`
	NodeID       string  `json:"node_id"`
	Number       int     `json:"number"`
	Title        string  `json:"title"`
	Description  *string `json:"description"`
	Creator      *wUser  `json:"creator"`
	OpenIssues   int     `json:"open_issues"`
	ClosedIssues int     `json:"closed_issues"`
	State        string  `json:"state"`
	CreatedAt    jtime   `json:"created_at"`
	UpdatedAt    jtime   `json:"updated_at"`
	DueOn        jtime   `json:"due_on"`
	ClosedAt     jtime   `json:"closed_at"`
}

type wPRLinks struct {
	URL      string `json:"url"`
	HTMLURL  string `json:"html_url"`
	DiffURL  string `json:"diff_url"`
	PatchURL string `json:"patch_url"`
	MergedAt jtime  `json:"merged_at"`
}

type wReactions struct {
	URL        string `json:"url"`
	TotalCount int    `json:"total_count"`
	PlusOne    int    `json:"+1"`
	MinusOne   int    `json:"-1"`
	Laugh      int    `json:"laugh"`
	Hooray     int    `json:"hooray"`
	Confused   int    `json:"confused"`
	Heart      int    `json:"heart"`
	Rocket     int    `json:"rocket"`
	Eyes       int    `json:"eyes"`
}

type wIssue struct {
	URL                   string      `json:"url"`
	RepositoryURL         string      `json:"repository_url"`
	LabelsURL             string      `json:"labels_url"`
	CommentsURL           string      `json:"comments_url"`
	EventsURL             string      `json:"events_url"`
	HTMLURL               string      `json:"html_url"`
	ID                    int64       `json:"id"`
	NodeID                string      `json:"node_id"`
	Number                int         `json:"number"`
	Title                 string      `json:"title"`
	User                  *wUser      `json:"user"`
	Labels                []wLabel    `json:"labels"`
	State                 string      `json:"state"`
	Locked                bool        `json:"locked"`
	Assignee              *wUser      `json:"assignee"`
	Assignees             []*wUser    `json:"assignees"`
	Milestone             *wMilestone `json:"milestone"`
	Comments              int         `json:"comments"`
	CreatedAt             jtime       `json:"created_at"`
	UpdatedAt             jtime       `json:"updated_at"`
	ClosedAt              jtime       `json:"closed_at"`
	ClosedBy              *wUser      `json:"closed_by"`
	AuthorAssociation     string      `json:"author_association"`
	ActiveLockReason      *string     `json:"active_lock_reason"`
	Draft                 *bool       `json:"draft,omitempty"`
	PullRequest           *wPRLinks   `json:"pull_request,omitempty"`
	Body                  *string     `json:"body"`
	Reactions             wReactions  `json:"reactions"`
	TimelineURL           string      `json:"timeline_url"`
	PerformedViaGithubApp any         `json:"performed_via_github_app"`
	StateReason           *string     `json:"state_reason"`
	// Issues only: pull requests have no dependencies here, and the
	// collector never reads it for them.
	DependenciesSummary *wDepSummary `json:"issue_dependencies_summary,omitempty"`
}

type wDepSummary struct {
	BlockedBy      int `json:"blocked_by"`
	TotalBlockedBy int `json:"total_blocked_by"`
	Blocking       int `json:"blocking"`
	TotalBlocking  int `json:"total_blocking"`
}

type wTeam struct {
	Name                string  `json:"name"`
	ID                  int64   `json:"id"`
	NodeID              string  `json:"node_id"`
	Slug                string  `json:"slug"`
	Description         *string `json:"description"`
	Privacy             string  `json:"privacy"`
	NotificationSetting string  `json:"notification_setting"`
	URL                 string  `json:"url"`
	HTMLURL             string  `json:"html_url"`
	MembersURL          string  `json:"members_url"`
	RepositoriesURL     string  `json:"repositories_url"`
	Permission          string  `json:"permission"`
	Parent              any     `json:"parent"`
}

type wRename struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type wEventMilestone struct {
	Title string `json:"title"`
}

type wEvent struct {
	ID                    int64            `json:"id"`
	NodeID                string           `json:"node_id"`
	URL                   string           `json:"url"`
	Actor                 *wUser           `json:"actor"`
	Event                 string           `json:"event"`
	CommitID              *string          `json:"commit_id"`
	CommitURL             *string          `json:"commit_url"`
	CreatedAt             jtime            `json:"created_at"`
	Label                 *wEventLabel     `json:"label,omitempty"`
	Assignee              *wUser           `json:"assignee,omitempty"`
	Assigner              *wUser           `json:"assigner,omitempty"`
	ReviewRequester       *wUser           `json:"review_requester,omitempty"`
	RequestedReviewer     *wUser           `json:"requested_reviewer,omitempty"`
	RequestedTeam         *wTeam           `json:"requested_team,omitempty"`
	Milestone             *wEventMilestone `json:"milestone,omitempty"`
	Rename                *wRename         `json:"rename,omitempty"`
	StateReason           *string          `json:"state_reason,omitempty"`
	PerformedViaGithubApp any              `json:"performed_via_github_app"`
	Issue                 *wIssue          `json:"issue,omitempty"`
}

type wComment struct {
	URL                   string     `json:"url"`
	HTMLURL               string     `json:"html_url"`
	IssueURL              string     `json:"issue_url"`
	ID                    int64      `json:"id"`
	NodeID                string     `json:"node_id"`
	User                  *wUser     `json:"user"`
	CreatedAt             jtime      `json:"created_at"`
	UpdatedAt             jtime      `json:"updated_at"`
	AuthorAssociation     string     `json:"author_association"`
	Body                  string     `json:"body"`
	Reactions             wReactions `json:"reactions"`
	PerformedViaGithubApp any        `json:"performed_via_github_app"`
}

type wHref struct {
	Href string `json:"href"`
}

type wReviewLinks struct {
	HTML        wHref `json:"html"`
	PullRequest wHref `json:"pull_request"`
}

type wReview struct {
	ID                int64        `json:"id"`
	NodeID            string       `json:"node_id"`
	User              *wUser       `json:"user"`
	Body              string       `json:"body"`
	State             string       `json:"state"`
	HTMLURL           string       `json:"html_url"`
	PullRequestURL    string       `json:"pull_request_url"`
	AuthorAssociation string       `json:"author_association"`
	Links             wReviewLinks `json:"_links"`
	SubmittedAt       jtime        `json:"submitted_at"`
	CommitID          string       `json:"commit_id"`
}

type wRepo struct {
	ID              int64  `json:"id"`
	NodeID          string `json:"node_id"`
	Name            string `json:"name"`
	FullName        string `json:"full_name"`
	Private         bool   `json:"private"`
	Owner           *wUser `json:"owner"`
	HTMLURL         string `json:"html_url"`
	Description     any    `json:"description"`
	Fork            bool   `json:"fork"`
	URL             string `json:"url"`
	IssuesURL       string `json:"issues_url"`
	MilestonesURL   string `json:"milestones_url"`
	CreatedAt       jtime  `json:"created_at"`
	UpdatedAt       jtime  `json:"updated_at"`
	PushedAt        jtime  `json:"pushed_at"`
	HasIssues       bool   `json:"has_issues"`
	Archived        bool   `json:"archived"`
	Disabled        bool   `json:"disabled"`
	OpenIssuesCount int    `json:"open_issues_count"`
	Visibility      string `json:"visibility"`
	DefaultBranch   string `json:"default_branch"`
}

type wRate struct {
	Limit     int   `json:"limit"`
	Used      int   `json:"used"`
	Remaining int   `json:"remaining"`
	Reset     int64 `json:"reset"`
}

type wError struct {
	Message          string           `json:"message"`
	Errors           []map[string]any `json:"errors,omitempty"`
	DocumentationURL string           `json:"documentation_url"`
	Status           string           `json:"status"`
}

// renderer turns Org records into wire objects; the Org read lock is held.
type renderer struct {
	o    *Org
	api  string // API base URL without trailing slash, e.g. http://127.0.0.1:1234 or .../api/v3
	html string // web base URL without trailing slash
}

func (c *renderer) user(login string) *wUser {
	if login == "" {
		return nil
	}
	id := c.o.users[login]
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	u := c.api + "/users/" + url.PathEscape(login)
	return &wUser{
		Login: login, ID: id, NodeID: nodeID("User", id),
		AvatarURL:         fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
		URL:               u,
		HTMLURL:           c.html + "/" + url.PathEscape(login),
		FollowersURL:      u + "/followers",
		FollowingURL:      u + "/following{/other_user}",
		GistsURL:          u + "/gists{/gist_id}",
		StarredURL:        u + "/starred{/owner}{/repo}",
		SubscriptionsURL:  u + "/subscriptions",
		OrganizationsURL:  u + "/orgs",
		ReposURL:          u + "/repos",
		EventsURL:         u + "/events{/privacy}",
		ReceivedEventsURL: u + "/received_events",
		Type:              typ,
		UserViewType:      "public",
	}
}

func (c *renderer) orgUser(login string) *wUser {
	id := c.o.orgIDs[strings.ToLower(login)]
	u := c.user(login)
	u.ID, u.NodeID = id, nodeID("Organization", id)
	u.AvatarURL = fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id)
	u.Type = "Organization"
	return u
}

func (c *renderer) repoAPI(r *repo) string {
	return c.api + "/repos/" + r.owner + "/" + r.name
}

func (c *renderer) repoHTML(r *repo) string {
	return c.html + "/" + r.owner + "/" + r.name
}

func (c *renderer) association(r *repo, login string) string {
	switch {
	case strings.EqualFold(login, r.owner):
		return "OWNER"
	case c.o.members[strings.ToLower(r.owner)][strings.ToLower(login)]:
		return "MEMBER"
	}
	return "NONE"
}

func (c *renderer) reactions(u string) wReactions { return wReactions{URL: u + "/reactions"} }

func (c *renderer) milestone(r *repo, m *Milestone) *wMilestone {
	full := c.o.milestoneWithCounts(r, m)
	u := fmt.Sprintf("%s/milestones/%d", c.repoAPI(r), m.Number)
	return &wMilestone{
		URL: u, HTMLURL: fmt.Sprintf("%s/milestone/%d", c.repoHTML(r), m.Number), LabelsURL: u + "/labels",
		ID: m.ID, NodeID: nodeID("Milestone", m.ID), Number: m.Number, Title: m.Title,
		Description: strPtr(m.Description), Creator: c.user(m.Creator),
		OpenIssues: full.OpenIssues, ClosedIssues: full.ClosedIssues, State: m.State,
		CreatedAt: jtime(m.CreatedAt), UpdatedAt: jtime(m.UpdatedAt), DueOn: jtime(m.DueOn), ClosedAt: jtime(m.ClosedAt),
	}
}

func (c *renderer) issue(r *repo, is *issue) *wIssue {
	u := fmt.Sprintf("%s/issues/%d", c.repoAPI(r), is.Number)
	kind := "issues"
	if is.PullRequest {
		kind = "pull"
	}
	h := fmt.Sprintf("%s/%s/%d", c.repoHTML(r), kind, is.Number)
	w := &wIssue{
		URL: u, RepositoryURL: c.repoAPI(r), LabelsURL: u + "/labels{/name}", CommentsURL: u + "/comments",
		EventsURL: u + "/events", HTMLURL: h, ID: is.ID, NodeID: nodeID("Issue", is.ID), Number: is.Number,
		Title: is.Title, User: c.user(is.User), Labels: []wLabel{}, State: is.State,
		Assignees: []*wUser{}, Comments: is.Comments,
		CreatedAt: jtime(is.CreatedAt), UpdatedAt: jtime(is.UpdatedAt), ClosedAt: jtime(is.ClosedAt),
		AuthorAssociation: c.association(r, is.User),
		Reactions:         c.reactions(u), TimelineURL: u + "/timeline",
	}
	if is.State == "closed" {
		w.ClosedBy = c.user(is.ClosedBy)
	}
	for _, name := range is.Labels {
		l := r.labels[strings.ToLower(name)]
		w.Labels = append(w.Labels, wLabel{
			ID: l.id, NodeID: nodeID("Label", l.id), URL: c.repoAPI(r) + "/labels/" + url.PathEscape(l.name),
			Name: l.name, Color: l.color,
		})
	}
	for _, a := range is.Assignees {
		w.Assignees = append(w.Assignees, c.user(a))
	}
	if len(is.Assignees) > 0 {
		w.Assignee = c.user(is.Assignees[0])
	}
	if m := r.msByTitle[is.Milestone]; m != nil {
		w.Milestone = c.milestone(r, m)
	}
	if is.PullRequest {
		d := is.Draft
		w.Draft = &d
		pu := fmt.Sprintf("%s/pulls/%d", c.repoAPI(r), is.Number)
		w.PullRequest = &wPRLinks{URL: pu, HTMLURL: h, DiffURL: h + ".diff", PatchURL: h + ".patch", MergedAt: jtime(is.MergedAt)}
	} else {
		w.StateReason = strPtr(is.StateReason)
		w.DependenciesSummary = dependencySummary(is)
	}
	return w
}

func (c *renderer) team(t *team) *wTeam {
	orgID := c.o.orgIDs[strings.ToLower(t.Org)]
	u := fmt.Sprintf("%s/organizations/%d/team/%d", c.api, orgID, t.ID)
	return &wTeam{
		Name: t.Name, ID: t.ID, NodeID: nodeID("Team", t.ID), Slug: t.Slug, Description: strPtr(t.Description),
		Privacy: "closed", NotificationSetting: "notifications_enabled",
		URL: u, HTMLURL: c.html + "/orgs/" + t.Org + "/teams/" + t.Slug,
		MembersURL: u + "/members{/member}", RepositoriesURL: u + "/repos", Permission: "pull",
	}
}

func (c *renderer) event(r *repo, e *Event, withIssue bool) *wEvent {
	w := &wEvent{
		ID: e.ID, NodeID: nodeID("IssueEvent", e.ID), URL: fmt.Sprintf("%s/issues/events/%d", c.repoAPI(r), e.ID),
		Actor: c.user(e.Actor), Event: e.Type, CreatedAt: jtime(e.CreatedAt),
	}
	if e.CommitID != "" {
		w.CommitID = strPtr(e.CommitID)
		w.CommitURL = strPtr(c.repoAPI(r) + "/commits/" + e.CommitID)
	}
	switch e.Type {
	case EventLabeled, EventUnlabeled:
		l := r.labels[strings.ToLower(e.Label)]
		w.Label = &wEventLabel{Name: l.name, Color: l.color}
	case EventAssigned, EventUnassigned:
		w.Assignee, w.Assigner = c.user(e.Assignee), c.user(e.Actor)
	case EventReviewRequested, EventReviewRequestRemoved:
		w.ReviewRequester = c.user(e.Actor)
		if e.RequestedReviewer != "" {
			w.RequestedReviewer = c.user(e.RequestedReviewer)
		} else if t := c.o.teams[strings.ToLower(e.RequestedTeam)]; t != nil {
			w.RequestedTeam = c.team(t)
		}
	case EventMilestoned, EventDemilestoned:
		w.Milestone = &wEventMilestone{Title: e.Milestone}
	case EventRenamed:
		w.Rename = &wRename{From: e.RenamedFrom, To: e.Title}
	case EventClosed:
		w.StateReason = strPtr(e.StateReason)
	}
	if withIssue {
		w.Issue = c.issue(r, r.issues[e.Issue])
	}
	return w
}

func (c *renderer) comment(r *repo, cm *Comment) *wComment {
	is := r.issues[cm.Issue]
	kind := "issues"
	if is != nil && is.PullRequest {
		kind = "pull"
	}
	u := fmt.Sprintf("%s/issues/comments/%d", c.repoAPI(r), cm.ID)
	return &wComment{
		URL:      u,
		HTMLURL:  fmt.Sprintf("%s/%s/%d#issuecomment-%d", c.repoHTML(r), kind, cm.Issue, cm.ID),
		IssueURL: fmt.Sprintf("%s/issues/%d", c.repoAPI(r), cm.Issue),
		ID:       cm.ID, NodeID: nodeID("IssueComment", cm.ID), User: c.user(cm.User),
		CreatedAt: jtime(cm.CreatedAt), UpdatedAt: jtime(cm.UpdatedAt),
		AuthorAssociation: c.association(r, cm.User), Body: cm.Body, Reactions: c.reactions(u),
	}
}

func (c *renderer) review(r *repo, rv *Review) *wReview {
	h := fmt.Sprintf("%s/pull/%d#pullrequestreview-%d", c.repoHTML(r), rv.PullRequest, rv.ID)
	pu := fmt.Sprintf("%s/pulls/%d", c.repoAPI(r), rv.PullRequest)
	return &wReview{
		ID: rv.ID, NodeID: nodeID("PullRequestReview", rv.ID), User: c.user(rv.User), Body: rv.Body,
		State: rv.State, HTMLURL: h, PullRequestURL: pu, AuthorAssociation: c.association(r, rv.User),
		Links:       wReviewLinks{HTML: wHref{h}, PullRequest: wHref{pu}},
		SubmittedAt: jtime(rv.SubmittedAt), CommitID: rv.CommitID,
	}
}

func (c *renderer) repo(r *repo) *wRepo {
	open := 0
	updated := r.updatedAt
	for _, is := range r.order {
		if is.State == "open" {
			open++
		}
		if is.UpdatedAt.After(updated) {
			updated = is.UpdatedAt
		}
	}
	return &wRepo{
		ID: r.id, NodeID: nodeID("Repository", r.id), Name: r.name, FullName: r.fullName(),
		Owner: c.orgUser(r.owner), HTMLURL: c.repoHTML(r), URL: c.repoAPI(r),
		IssuesURL: c.repoAPI(r) + "/issues{/number}", MilestonesURL: c.repoAPI(r) + "/milestones{/number}",
		CreatedAt: jtime(r.createdAt), UpdatedAt: jtime(updated), PushedAt: jtime(updated),
		HasIssues: true, OpenIssuesCount: open, Visibility: "public", DefaultBranch: "main",
	}
}
