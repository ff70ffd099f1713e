package github

import (
	gh "github.com/google/go-github/v60/github"
)

// wireEvent is an issue event as the events walks decode it: only the
// fields mapEvent reads. A feed event embeds the whole issue (user, labels,
// assignees, milestone, reactions, pull request links) and go-github's
// IssueEvent decodes all of it; the profile of a full sync of a million
// events showed JSON decoding at 75% of the collector's CPU, mostly
// allocating and setting fields that were never read. Unknown fields are
// skipped by encoding/json without allocating.
type wireEvent struct {
	ID                *int64        `json:"id"`
	Actor             *wireUser     `json:"actor"`
	Event             *string       `json:"event"`
	CreatedAt         *gh.Timestamp `json:"created_at"`
	Label             *wireLabel    `json:"label"`
	Assignee          *wireUser     `json:"assignee"`
	RequestedReviewer *wireUser     `json:"requested_reviewer"`
	RequestedTeam     *wireTeam     `json:"requested_team"`
	Milestone         *wireTitle    `json:"milestone"`
	Issue             *wireNumber   `json:"issue"`
}

type wireUser struct {
	Login *string `json:"login"`
}

type wireLabel struct {
	Name *string `json:"name"`
}

type wireTeam struct {
	Slug *string `json:"slug"`
}

type wireTitle struct {
	Title *string `json:"title"`
}

type wireNumber struct {
	Number *int `json:"number"`
}

// issueEvent converts to go-github's type with the same fields set as a
// full decode would set for the fields mapEvent reads (nil stays nil).
func (w *wireEvent) issueEvent() *gh.IssueEvent {
	if w == nil {
		return nil
	}
	ev := &gh.IssueEvent{ID: w.ID, Event: w.Event, CreatedAt: w.CreatedAt}
	ev.Actor = w.Actor.user()
	ev.Assignee = w.Assignee.user()
	ev.RequestedReviewer = w.RequestedReviewer.user()
	if w.Label != nil {
		ev.Label = &gh.Label{Name: w.Label.Name}
	}
	if w.RequestedTeam != nil {
		ev.RequestedTeam = &gh.Team{Slug: w.RequestedTeam.Slug}
	}
	if w.Milestone != nil {
		ev.Milestone = &gh.Milestone{Title: w.Milestone.Title}
	}
	if w.Issue != nil {
		ev.Issue = &gh.Issue{Number: w.Issue.Number}
	}
	return ev
}

func (u *wireUser) user() *gh.User {
	if u == nil {
		return nil
	}
	return &gh.User{Login: u.Login}
}

// issueEvents converts a decoded page.
func issueEvents(list []*wireEvent) []*gh.IssueEvent {
	out := make([]*gh.IssueEvent, len(list))
	for i, w := range list {
		out[i] = w.issueEvent()
	}
	return out
}

// wireIssue is an issue of the issues list with the one field go-github's
// Issue (v60) lacks: issue_dependencies_summary, which tells whether the
// issue has any "blocked by" dependency, so the blocked-by list is asked
// for only where there is one (dependencies.go).
type wireIssue struct {
	gh.Issue
	DependenciesSummary *wireDepSummary `json:"issue_dependencies_summary"`
}

type wireDepSummary struct {
	TotalBlockedBy *int `json:"total_blocked_by"`
}

// blockedBy is the issue's total number of blocking issues, or -1 when the
// server did not say (a GitHub Enterprise Server without dependencies).
func (w *wireIssue) blockedBy() int {
	if w.DependenciesSummary == nil || w.DependenciesSummary.TotalBlockedBy == nil {
		return -1
	}
	return *w.DependenciesSummary.TotalBlockedBy
}
