package jira

import (
	"strings"
	"testing"
)

func TestDecodePage(t *testing.T) {
	for _, c := range []struct {
		kind, body string
		want       int
		err        string
	}{
		// Two issues, one with two embedded histories: 4 records.
		{"search", `{"issues":[{"id":"1","key":"A-1","fields":{},"changelog":{"total":2,"histories":[{"id":"5"},{"id":"6"}]}},{"id":"2","key":"A-2","fields":{}}],"isLast":true}`, 4, ""},
		{"bulkfetch", `{"issueChangeLogs":[{"issueId":"1","changeHistories":[{"id":"5"}]},{"issueId":"2","changeHistories":[{"id":"7"},{"id":"8"}]}]}`, 3, ""},
		{"search", `{"issues":{}}`, 0, "jira: decode search page of 13 bytes"},
		{"comment", `{}`, 0, `unknown page kind "comment"`},
	} {
		n, err := DecodePage(c.kind, []byte(c.body))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %s: err = %v, want %q", c.kind, c.body, err, c.err)
			}
			continue
		}
		if err != nil || n != c.want {
			t.Errorf("%s %s: %d, %v; want %d", c.kind, c.body, n, err, c.want)
		}
	}
}
