package github

import (
	"encoding/json"
	"fmt"

	gh "github.com/google/go-github/v60/github"
)

// DecodePage decodes one list answer of an endpoint kind ("events",
// "issues", "comments", "milestones", "reviews") into the types the
// collector decodes that answer into (wireEvent for event feeds,
// go-github's types for the rest) and returns how many records it held.
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
