package jira

import (
	"encoding/json"
	"fmt"
)

// DecodePage decodes one answer of an endpoint kind ("search" for
// search/jql, "bulkfetch" for changelog/bulkfetch) into the collector's
// own wire types and returns how many records it held (issues plus their
// embedded histories; histories). The benchmark harness times it as the
// raw-decode reference, so the reference and the collector never drift
// apart.
func DecodePage(kind string, body []byte) (int, error) {
	n := 0
	var err error
	switch kind {
	case "search":
		var v searchJQLPage
		err = json.Unmarshal(body, &v)
		n = len(v.Issues)
		for _, is := range v.Issues {
			if is.Changelog != nil {
				n += len(is.Changelog.Histories)
			}
		}
	case "bulkfetch":
		var v bulkPage
		err = json.Unmarshal(body, &v)
		for _, l := range v.IssueChangeLogs {
			n += len(l.ChangeHistories)
		}
	default:
		return 0, fmt.Errorf("jira: decode: unknown page kind %q", kind)
	}
	if err != nil {
		return 0, fmt.Errorf("jira: decode %s page of %d bytes: %w", kind, len(body), err)
	}
	return n, nil
}
