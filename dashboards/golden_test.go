package dashboards

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the committed dashboards, rules and provisioning files")

// repoPath maps a generated file to where it is committed: dashboards and
// rules beside this package (mixin style), provisioning under deploy/ for
// the compose stack.
func repoPath(generated string) string {
	if rest, ok := strings.CutPrefix(generated, ProvisioningDir+string(filepath.Separator)); ok {
		return filepath.Join("..", "deploy", "grafana", "provisioning", rest)
	}
	return generated
}

// generated renders everything once per test binary.
func generated(t *testing.T) []File {
	t.Helper()
	files, err := Generate(Options{})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return files
}

func TestGoldenFiles(t *testing.T) {
	files := generated(t)
	for _, f := range files {
		p := repoPath(f.Path)
		if *update {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v (run go test ./dashboards -update)", p, err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s differs from the generator's output; run go test ./dashboards -update and commit", p)
		}
	}
	// No stale committed dashboard survives a rename.
	committed, _ := filepath.Glob(filepath.Join(JSONDir, "*.json"))
	want := map[string]bool{}
	for _, f := range files {
		want[f.Path] = true
	}
	for _, c := range committed {
		if !want[c] {
			t.Errorf("%s is committed but not generated; delete it", c)
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := generated(t), generated(t)
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Path != b[i].Path || !bytes.Equal(a[i].Data, b[i].Data) {
			t.Errorf("%s differs between two runs", a[i].Path)
		}
	}
}

func TestGenerateLayout(t *testing.T) {
	var paths []string
	for _, f := range generated(t) {
		paths = append(paths, f.Path)
	}
	want := []string{
		"json/overview.json", "json/handoffs.json", "json/milestones.json", "json/agreements.json", "json/team.json", "json/decisions.json", "json/health.json",
		"rules/crossteam.rules.yml", "rules/crossteam.alerts.yml",
		"provisioning/dashboards/crossteam.yaml", "provisioning/datasources/crossteam.yaml",
	}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("paths = %v\nwant %v", paths, want)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	files := []File{{Path: "a/b/c.json", Data: []byte("{}\n")}, {Path: "d.yml", Data: []byte("x: 1\n")}}
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, f.Path))
		if err != nil || !bytes.Equal(got, f.Data) {
			t.Errorf("%s: %q, %v", f.Path, got, err)
		}
	}
	// A path under a regular file cannot be created.
	if err := Write(dir, []File{{Path: "d.yml/e", Data: nil}}); err == nil || !strings.Contains(err.Error(), "d.yml") {
		t.Errorf("Write under a file: %v, want an error naming the path", err)
	}
}

func TestUnknownMetricStopsGeneration(t *testing.T) {
	b := Board{UID: "x", Title: "x", File: "x.json", build: func(self Board) *dashboardBuilder {
		d := newBoard(self, "d")
		d.WithPanel(statPanel("t", "d", "short", 6, 5, nil, q{expr: sel("no_such_metric")}))
		return d
	}}
	_, err := b.Render()
	if err == nil || !strings.Contains(err.Error(), "crossteam_no_such_metric is not in the catalogue") || !strings.Contains(err.Error(), "dashboard x") {
		t.Errorf("err = %v", err)
	}
	b.build = func(self Board) *dashboardBuilder {
		d := newBoard(self, "d")
		d.WithPanel(statPanel("t", "d", "short", 6, 5, nil, q{expr: sel("handoffs_total", `team="a"`)}))
		return d
	}
	_, err = b.Render()
	if err == nil || !strings.Contains(err.Error(), `crossteam_handoffs_total has no label "team"`) {
		t.Errorf("err = %v", err)
	}
}

func TestMarkdownTables(t *testing.T) {
	md, err := MarkdownTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#### Cross-team overview (`/d/crossteam-overview`)",
		"| Handoffs stalled now | Open handoffs where the receiving team has not acted for longer than",
		"#### crossteam health (`/d/crossteam-health`)",
		"| API requests by status code | Requests per second",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if strings.Contains(md, "| Right now |") {
		t.Error("rows are listed as panels")
	}
	if got := strings.Count(md, "\n#### ") + 1; got != len(Boards) {
		t.Errorf("%d tables, want %d", got, len(Boards))
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPanelsInsideTheGrid: every panel of every board lies within
// Grafana's 24-column grid (the builder places panels in order and does
// not wrap one that is too wide for what is left of a row: a seventh stat
// once pushed the health board's Targets table to x=18, w=24).
func TestPanelsInsideTheGrid(t *testing.T) {
	for _, f := range generated(t) {
		if !strings.HasSuffix(f.Path, ".json") || !strings.Contains(f.Path, "json/") {
			continue
		}
		var board struct {
			Panels []struct {
				Title   string             `json:"title"`
				GridPos struct{ X, W int } `json:"gridPos"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(f.Data, &board); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		for _, p := range board.Panels {
			if p.GridPos.X < 0 || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("%s: panel %q at x=%d, w=%d leaves the 24-column grid", f.Path, p.Title, p.GridPos.X, p.GridPos.W)
			}
		}
	}
}
