package dashboards

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crossteam/crossteam/internal/tools"
)

// The real linters, not imitations: Grafana's dashboard-linter on every
// board and Cloudflare's pint on the rules, built from pinned sources by
// scripts/install-tools.sh (../shared/tools/build-linters.sh) into
// $CROSSTEAM_TOOLS_BIN or ~/.cache/crossteam-tools/bin. Any report fails.

// linter finds a linter on PATH, in $CROSSTEAM_TOOLS_BIN or in the
// default folder of build-linters.sh. Missing, the test is skipped, or
// fails when CROSSTEAM_REQUIRE_TOOLS=1 (CI).
func linter(t *testing.T, name string) string {
	t.Helper()
	p, dirs, ok := tools.Find(name)
	if ok {
		return p
	}
	if os.Getenv("CROSSTEAM_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s not found (PATH, $CROSSTEAM_TOOLS_BIN, %v) and CROSSTEAM_REQUIRE_TOOLS=1: run scripts/install-tools.sh (make tools)", name, dirs)
	}
	t.Skipf("%s not found: run scripts/install-tools.sh (make tools) to lint with it; CI sets CROSSTEAM_REQUIRE_TOOLS=1 to make this a failure", name)
	return ""
}

// dashboardLint runs `dashboard-linter lint --strict` on a board and
// returns its reports: every output line but the list of checks it runs.
func dashboardLint(t *testing.T, bin, file string) (reports []string, err error) {
	t.Helper()
	out, err := exec.Command(bin, "lint", "--strict", file).CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Checks that ") {
			reports = append(reports, l)
		}
	}
	return reports, err
}

func TestDashboardLinterStrict(t *testing.T) {
	bin := linter(t, "dashboard-linter")
	files, err := filepath.Glob(filepath.Join(JSONDir, "*.json"))
	if err != nil || len(files) != len(Boards) {
		t.Fatalf("%d boards in %s, want %d (%v)", len(files), JSONDir, len(Boards), err)
	}
	for _, f := range files {
		reports, err := dashboardLint(t, bin, f)
		if err != nil || len(reports) > 0 {
			t.Errorf("dashboard-linter lint --strict %s: %v\n%s", f, err, strings.Join(reports, "\n"))
		}
	}
}

// The linter, as run above, fails on the faults it reported on the boards
// before: allValue .* and the datasource variable labelled "Data Source".
func TestDashboardLinterCatches(t *testing.T) {
	bin := linter(t, "dashboard-linter")
	data, err := os.ReadFile(filepath.Join(JSONDir, "overview.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, to, want string }{
		{`"allValue": ".+"`, `"allValue": ".*"`, "allValue should be '.+'"},
		{`"label": "Data source"`, `"label": "Data Source"`, "should be labeled"},
	} {
		if !bytes.Contains(data, []byte(c.from)) {
			t.Fatalf("overview.json has no %s", c.from)
		}
		f := filepath.Join(t.TempDir(), "overview.json")
		if err := os.WriteFile(f, bytes.ReplaceAll(data, []byte(c.from), []byte(c.to)), 0o644); err != nil {
			t.Fatal(err)
		}
		reports, _ := dashboardLint(t, bin, f)
		if !strings.Contains(strings.Join(reports, "\n"), c.want) {
			t.Errorf("%s -> %s: reports %q, want %q", c.from, c.to, reports, c.want)
		}
	}
}

// pintProblem is the first line of every pint report.
var pintProblem = regexp.MustCompile(`(?m)^(Bug|Fatal|Warning|Information|Error)\b.*$`)

// pintLint runs `pint --offline lint` with dashboards/pint.hcl and returns
// its reports.
func pintLint(t *testing.T, bin string, files ...string) ([]string, string) {
	t.Helper()
	args := append([]string{"--offline", "--no-color", "--config", "pint.hcl", "lint", "--show-duplicates"}, files...)
	cmd := exec.Command(bin, args...)
	out, err := cmd.CombinedOutput()
	reports := pintProblem.FindAllString(string(out), -1)
	if err != nil && len(reports) == 0 {
		reports = append(reports, "pint failed: "+err.Error())
	}
	return reports, string(out)
}

func TestPintOffline(t *testing.T) {
	bin := linter(t, "pint")
	reports, out := pintLint(t, bin, filepath.Join(RulesDir, RecordingRulesFile), filepath.Join(RulesDir, AlertingRulesFile))
	if len(reports) > 0 {
		t.Errorf("pint --offline lint: %d reports:\n%s", len(reports), out)
	}
	n := 0
	for _, g := range append(RecordingRules().Groups, AlertingRules().Groups...) {
		n += len(g.Rules)
	}
	if !strings.Contains(out, fmt.Sprintf("entries=%d", n)) {
		t.Errorf("pint did not check the %d rules:\n%s", n, out)
	}
}

// pint, as run above, reports an alert without a condition and a rule
// reading another group's record.
func TestPintCatches(t *testing.T) {
	bin := linter(t, "pint")
	f := filepath.Join(t.TempDir(), "bad.yml")
	rules := `groups:
  - name: a
    rules:
      - record: job:crossteam_handoffs_total:increase1h
        expr: sum by (job) (increase(crossteam_handoffs_total[1h]))
  - name: b
    rules:
      - alert: AlwaysFires
        expr: sum by (job) (crossteam_handoffs_stalled)
        labels: {severity: warning}
      - record: job:uses_other_group:sum
        expr: sum by (job) (job:crossteam_handoffs_total:increase1h)
`
	if err := os.WriteFile(f, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	reports, out := pintLint(t, bin, f)
	joined := strings.Join(reports, "\n")
	for _, want := range []string{"always firing alert", "different group"} {
		if !strings.Contains(joined, want) {
			t.Errorf("pint reports lack %q:\n%s", want, out)
		}
	}
}
