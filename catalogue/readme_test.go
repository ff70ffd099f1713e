package catalogue

import (
	"os"
	"strings"
	"testing"
)

const (
	beginMarker = "<!-- metrics:begin -->\n"
	endMarker   = "<!-- metrics:end -->"
)

// TestREADMETable keeps the README's metric table equal to the catalogue.
// Run with CROSSTEAM_UPDATE_README=1 to rewrite it.
func TestREADMETable(t *testing.T) {
	const path = "../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	if i < 0 || j < i {
		t.Fatalf("%s: metric table markers not found", path)
	}
	got := s[i+len(beginMarker) : j]
	want := MarkdownTable()
	if got == want {
		return
	}
	if os.Getenv("CROSSTEAM_UPDATE_README") != "" {
		if err := os.WriteFile(path, []byte(s[:i+len(beginMarker)]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README metric table is out of date; run CROSSTEAM_UPDATE_README=1 go test ./catalogue")
}

func TestCatalogueNames(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Metrics {
		if seen[m.Name] {
			t.Errorf("%s listed twice", m.Name)
		}
		seen[m.Name] = true
		if m.Type == Counter && !strings.HasSuffix(m.Name, "_total") {
			t.Errorf("counter %s must end in _total", m.Name)
		}
		if m.Type != Counter && strings.HasSuffix(m.Name, "_total") {
			t.Errorf("%s %s must not end in _total", m.Type, m.Name)
		}
		if m.Help == "" {
			t.Errorf("%s has no help", m.Name)
		}
	}
	if _, ok := ByName("crossteam_handoff_pickup_seconds_bucket"); !ok {
		t.Error("histogram series name not resolved")
	}
	if _, ok := ByName("crossteam_nope"); ok {
		t.Error("unknown name resolved")
	}
}
