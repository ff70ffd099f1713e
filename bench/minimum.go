package bench

import (
	"strings"
	"time"

	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
)

// ceilDiv is ⌈a/b⌉ for a ≥ 0.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// atLeastOne is max(1, ⌈n/per⌉): a list endpoint costs one request even
// when empty.
func atLeastOne(n, per int) int { return max(1, ceilDiv(n, per)) }

// RepoCounts are the sizes of one repository that the request formulas of
// apis.md §9 depend on.
type RepoCounts struct {
	Items, Events, Milestones, Comments int
	// ReviewRequestedPRs are the pull requests with at least one
	// review_requested event; Reviews holds their review counts (the
	// collector fetches reviews only for them).
	ReviewRequestedPRs int
	Reviews            []int
	// EventsPerItem is the number of issue events of each item (for the
	// naive one-timeline-call-per-item approach).
	EventsPerItem []int
}

// GitHubMinimum is the §9 full-sync minimum:
// Σ_r [max(1,⌈I_r/100⌉) + max(1,⌈E_r/100⌉) + max(1,⌈M_r/100⌉)] + Σ_PR ⌈reviews/100⌉,
// where the review term runs over the pull requests with a review request
// (the only ones whose reviews the collector asks for) and counts at least
// one request each (whether such a PR has reviews is only known by asking).
func GitHubMinimum(repos []RepoCounts) int {
	n := 0
	for _, r := range repos {
		n += atLeastOne(r.Items, 100) + atLeastOne(r.Events, 100) + atLeastOne(r.Milestones, 100)
		for _, rv := range r.Reviews {
			n += atLeastOne(rv, 100)
		}
	}
	return n
}

// GitHubFeedMinimum is apis.md's feed formula: what reading every feed
// once costs, Σ_r [3 + ⌈I_r/100⌉ + ⌈E_r/100⌉] (the issues list and the
// events feed, plus the comments, milestones and reviews-free first pages
// counted as three per repository). The GraphQL path's issues pages plus
// one point per 100 timelines come in under it.
func GitHubFeedMinimum(repos []RepoCounts) int {
	n := 0
	for _, r := range repos {
		n += 3 + ceilDiv(r.Items, 100) + ceilDiv(r.Events, 100)
	}
	return n
}

// GitHubCommentsTerm is Σ_r max(1,⌈comments_r/100⌉): the issue comments list
// the collector also walks (the engine counts a comment by the receiving
// team as a pickup), which §9's formula leaves out.
func GitHubCommentsTerm(repos []RepoCounts) int {
	n := 0
	for _, r := range repos {
		n += atLeastOne(r.Comments, 100)
	}
	return n
}

// GitHubNaive lists the items and then walks each item's timeline (which
// holds its events, comments and reviews):
// Σ_r max(1,⌈I_r/100⌉) + Σ_items max(1,⌈events_i/100⌉).
func GitHubNaive(repos []RepoCounts) int {
	n := 0
	for _, r := range repos {
		n += atLeastOne(r.Items, 100)
		for _, e := range r.EventsPerItem {
			n += atLeastOne(e, 100)
		}
	}
	return n
}

// JiraMinimum is the §9 Cloud full-sync minimum for I issues and C changelog
// entries (after fieldIds filtering): 2 + ⌈I/100⌉ + max(⌈I/1000⌉, ⌈C/10000⌉).
func JiraMinimum(issues, histories int) int {
	if issues == 0 {
		return 2
	}
	return 2 + ceilDiv(issues, 100) + max(ceilDiv(issues, 1000), ceilDiv(histories, 10000))
}

// JiraNaive is the metadata and the search without changelogs, then one
// changelog walk per issue (GET /issue/{key}/changelog, 100 per page):
// 2 + ⌈I/100⌉ + Σ_issues max(1,⌈histories_i/100⌉).
func JiraNaive(issues int, perIssue []int) int {
	n := 2 + ceilDiv(issues, 100)
	for _, h := range perIssue {
		n += atLeastOne(h, 100)
	}
	return n
}

// collectedJiraFields are the changelog fields the Jira collector asks
// bulkfetch for (collectors/jira bulkFields) besides the team custom field.
var collectedJiraFields = map[string]bool{
	fakejira.FieldStatus: true, fakejira.FieldAssignee: true, fakejira.FieldFixVersions: true,
	fakejira.FieldComponents: true, fakejira.FieldParent: true,
}

// collectedHistory reports whether bulkfetch with the collector's fieldIds
// returns h: one of its items changes a collected field or a custom field
// (the simulated site's only custom field is the team field).
func collectedHistory(h fakejira.History) bool {
	for _, it := range h.Items {
		if collectedJiraFields[it.FieldID] || strings.HasPrefix(it.FieldID, "customfield_") {
			return true
		}
	}
	return false
}

// Census are the sizes of the served organisation at one instant.
type Census struct {
	Repos []RepoCounts
	// GitHubItems and IssueEvents sum Repos.
	GitHubItems, IssueEvents, Comments, ReviewRequestedPRs, Reviews int
	JiraIssues                                                      int
	// JiraHistories are all change histories; JiraCollected those bulkfetch
	// returns for the collector's fieldIds (C of the formula).
	JiraHistories, JiraCollected int
	JiraPerIssue                 []int // collected histories per issue
}

// TakeCensus counts the organisation as served.
func TakeCensus(org *fakegithub.Org, site *fakejira.Site) Census {
	var c Census
	for _, name := range org.Repos() {
		issues := org.Issues(name)
		events := org.Events(name)
		rc := RepoCounts{Items: len(issues), Events: len(events), Milestones: len(org.Milestones(name)), Comments: len(org.Comments(name))}
		perItem := map[int]int{}
		requested := map[int]bool{}
		for _, e := range events {
			perItem[e.Issue]++
			if e.Type == fakegithub.EventReviewRequested {
				requested[e.Issue] = true
			}
		}
		for _, is := range issues {
			rc.EventsPerItem = append(rc.EventsPerItem, perItem[is.Number])
			if is.PullRequest && requested[is.Number] {
				rc.ReviewRequestedPRs++
				rv := len(org.Reviews(name, is.Number))
				rc.Reviews = append(rc.Reviews, rv)
				c.Reviews += rv
			}
		}
		c.Repos = append(c.Repos, rc)
		c.GitHubItems += rc.Items
		c.IssueEvents += rc.Events
		c.Comments += rc.Comments
		c.ReviewRequestedPRs += rc.ReviewRequestedPRs
	}
	if site != nil {
		for _, is := range site.Issues() {
			c.JiraIssues++
			n := 0
			for _, h := range site.Histories(is.Key) {
				c.JiraHistories++
				if collectedHistory(h) {
					n++
				}
			}
			c.JiraCollected += n
			c.JiraPerIssue = append(c.JiraPerIssue, n)
		}
	}
	return c
}

// Changed counts what changed after the instant since: GitHub items and
// Jira issues updated (or created) after it, and issue events and Jira
// histories created after it.
type Changed struct {
	GitHubItems, Events, JiraIssues, JiraHistories int
	// MinGitHub and MinJira are §9's incremental minimums:
	// Σ_r [⌈ΔI_r/100⌉ + ⌈ΔE_r/100⌉ + 1] + ΔPr with review requests, and
	// ⌈ΔI/100⌉ + ⌈ΔI/1000⌉.
	MinGitHub, MinJira int
}

// CountChanged counts the changes after since.
func CountChanged(org *fakegithub.Org, site *fakejira.Site, since time.Time) Changed {
	var c Changed
	for _, name := range org.Repos() {
		items, events, prs := 0, 0, 0
		requested := map[int]bool{}
		for _, e := range org.Events(name) {
			if e.CreatedAt.After(since) {
				events++
				if e.Type == fakegithub.EventReviewRequested {
					requested[e.Issue] = true
				}
			}
		}
		for _, is := range org.Issues(name) {
			if is.UpdatedAt.After(since) {
				items++
				if is.PullRequest && requested[is.Number] {
					prs++
				}
			}
		}
		c.GitHubItems += items
		c.Events += events
		c.MinGitHub += ceilDiv(items, 100) + ceilDiv(events, 100) + 1 + prs
	}
	if site != nil {
		for _, is := range site.Issues() {
			if is.Updated.After(since) {
				c.JiraIssues++
			}
			for _, h := range site.Histories(is.Key) {
				if h.Created.After(since) {
					c.JiraHistories++
				}
			}
		}
		c.MinJira = ceilDiv(c.JiraIssues, 100) + ceilDiv(c.JiraIssues, 1000)
	}
	return c
}
