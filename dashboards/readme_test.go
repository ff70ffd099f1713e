package dashboards

import (
	"os"
	"strings"
	"testing"
)

// TestREADMETables keeps the README's per-dashboard panel tables equal to
// the boards. Run with CROSSTEAM_UPDATE_README=1 to rewrite them.
func TestREADMETables(t *testing.T) {
	const (
		path  = "../README.md"
		begin = "<!-- dashboards:begin -->\n"
		end   = "<!-- dashboards:end -->"
	)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s: dashboard table markers not found", path)
	}
	want, err := MarkdownTables()
	if err != nil {
		t.Fatal(err)
	}
	if s[i+len(begin):j] == want {
		return
	}
	if os.Getenv("CROSSTEAM_UPDATE_README") != "" {
		if err := os.WriteFile(path, []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README dashboard tables are out of date; run CROSSTEAM_UPDATE_README=1 go test ./dashboards -run TestREADMETables")
}
