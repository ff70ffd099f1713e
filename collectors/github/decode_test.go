package github

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
		{"events", `[{"id":1,"event":"labeled","label":{"name":"x"}},{"id":2}]`, 2, ""},
		{"issues", `[{"number":1},{"number":2},{"number":3}]`, 3, ""},
		{"reviews", `[]`, 0, ""},
		{"events", `[{"id":"one"}]`, 0, "github: decode events page of 14 bytes"},
		{"teams", `[]`, 0, `unknown page kind "teams"`},
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
