package github

import (
	"encoding/json"
	"fmt"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// DecodePage decodes one list answer of an endpoint kind ("events",
// "issues", "comments", "milestones", "reviews", "graphql") into the
// types the collector decodes that answer into (wireEvent for event feeds,
// go-github's types for the rest, the timeline node types for a GraphQL
// timeline answer) and returns how many records it held.
// The benchmark harness times it as the raw-decode reference, so the
// reference and the collector never drift apart.
func DecodePage(kind string, body []byte) (int, error) {
	var n int
	var err error
	switch kind {
	case "events":
		n, err = decodeList[*wireEvent](body)
	case "issues":
		n, err = decodeList[*gh.Issue](body)
	case "comments":
		n, err = decodeList[*gh.IssueComment](body)
	case "milestones":
		n, err = decodeList[*gh.Milestone](body)
	case "reviews":
		n, err = decodeList[*gh.PullRequestReview](body)
	case "graphql":
		n, err = decodeGraphQL(body)
	default:
		return 0, fmt.Errorf("github: decode: unknown page kind %q", kind)
	}
	if err != nil {
		return 0, fmt.Errorf("github: decode %s page of %d bytes: %w", kind, len(body), err)
	}
	return n, nil
}

func decodeList[T any](body []byte) (int, error) {
	var v []T
	err := json.Unmarshal(body, &v)
	return len(v), err
}

// decodeGraphQL decodes a timeline answer into the collector's wire types
// (what gqlTransport does with every answer) and counts the nodes.
func decodeGraphQL(body []byte) (int, error) {
	var ans gqlFastAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return 0, err
	}
	n := 0
	for _, it := range ans.Data.Repository {
		if it != nil {
			n += len(it.TimelineItems.Nodes)
		}
	}
	return n, nil
}

// gqlWireNode is the JSON of one timeline node: the union of the fields
// the collector's fragments ask for (inline fragments flatten into one
// object).
type gqlWireNode struct {
	Typename          string     `json:"__typename"`
	ID                string     `json:"id"`
	CreatedAt         time.Time  `json:"createdAt"`
	Actor             *gqlActor  `json:"actor"`
	Author            *gqlActor  `json:"author"`
	Label             *wireLabel `json:"label"`
	Assignee          *gqlActor  `json:"assignee"`
	RequestedReviewer *struct {
		Typename string `json:"__typename"`
		Login    string `json:"login"`
		Slug     string `json:"slug"`
	} `json:"requestedReviewer"`
	MilestoneTitle string     `json:"milestoneTitle"`
	DatabaseID     *int64     `json:"databaseId"`
	FullDatabaseID *string    `json:"fullDatabaseId"`
	State          string     `json:"state"`
	SubmittedAt    *time.Time `json:"submittedAt"`
}
