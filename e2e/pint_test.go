package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crossteam/crossteam/internal/tools"
)

// pintReport is the first line of every pint report.
var pintReport = regexp.MustCompile(`(?m)^(Bug|Fatal|Warning|Information|Error)\b.*$`)

// checkPintOnline runs Cloudflare's pint online against the end-to-end
// Prometheus (the shipped rules loaded, the demo scraped, the history
// backfilled), with dashboards/pint.hcl's disabled checks: every series a
// rule reads must exist there, every range must fit its retention, and
// nothing may be reported. dashboards/linters_test.go runs the same
// linter offline on every build.
func checkPintOnline(ctx context.Context, t *testing.T, prom *promAPI, root, tmp string) {
	bin := pintBinary(t)
	base, err := os.ReadFile(filepath.Join(root, "dashboards", "pint.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(tmp, "pint-online.hcl")
	conf := string(base) + "\nprometheus \"e2e\" {\n  uri     = \"" + prom.base + "\"\n  timeout = \"2m\"\n}\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join("dashboards", "rules")
	reports, out, err := pintOnline(ctx, bin, cfg, root, filepath.Join(rules, "crossteam.rules.yml"), filepath.Join(rules, "crossteam.alerts.yml"))
	if err != nil || len(reports) > 0 {
		t.Errorf("pint lint against the end-to-end Prometheus: %v, %d reports:\n%s", err, len(reports), out)
	}
	if !strings.Contains(out, "online=true") {
		t.Errorf("pint did not check online:\n%s", out)
	}
	// The same run reports a rule reading a series this Prometheus lacks.
	bad := filepath.Join(tmp, "pint-bad.rules.yml")
	if err := os.WriteFile(bad, []byte("groups:\n  - name: bad\n    rules:\n      - record: job:crossteam_no_such_series:sum\n        expr: sum by (job) (crossteam_no_such_series_total)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if reports, out, _ := pintOnline(ctx, bin, cfg, root, bad); len(reports) == 0 || !strings.Contains(out, "crossteam_no_such_series_total") {
		t.Errorf("pint online did not report a missing series:\n%s", out)
	}
}

// pintOnline runs pint lint with cfg on files (paths relative to root)
// and returns its reports and output.
func pintOnline(ctx context.Context, bin, cfg, root string, files ...string) ([]string, string, error) {
	args := append([]string{"--no-color", "--config", cfg, "lint", "--show-duplicates"}, files...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	return pintReport.FindAllString(string(out), -1), string(out), err
}

// pintBinary finds pint as dashboards/linters_test.go does
// (internal/tools).
func pintBinary(t *testing.T) string {
	t.Helper()
	p, dirs, ok := tools.Find("pint")
	if ok {
		return p
	}
	if os.Getenv("CROSSTEAM_REQUIRE_TOOLS") == "1" {
		t.Fatalf("pint not found (PATH, $CROSSTEAM_TOOLS_BIN, %v) and CROSSTEAM_REQUIRE_TOOLS=1: run scripts/install-tools.sh (make tools)", dirs)
	}
	t.Skipf("pint not found: run scripts/install-tools.sh (make tools)")
	return ""
}
