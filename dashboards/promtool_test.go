package dashboards

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// requireTool finds an external tool. CI sets CROSSTEAM_REQUIRE_TOOLS=1 and
// installs the tools, so there a missing tool fails the test; elsewhere it
// skips with the way to get it.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CROSSTEAM_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s not found and CROSSTEAM_REQUIRE_TOOLS=1: install Debian's %s package", name, pkg)
	}
	t.Skipf("%s not found (install Debian's %s package; CI sets CROSSTEAM_REQUIRE_TOOLS=1 to make this a failure)", name, pkg)
	return ""
}

func runTool(t *testing.T, dir, tool string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var ruleTestFiles = []string{"crossteam.alerts.test.yml", "crossteam.rules.test.yml", "crossteam.wins.test.yml"}

func TestPromtoolCheckRules(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	out, err := runTool(t, RulesDir, promtool, "check", "rules", "--lint=all", "--lint-fatal", RecordingRulesFile, AlertingRulesFile)
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	want := []string{"SUCCESS: 60 rules found", "SUCCESS: 13 rules found"}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("promtool output lacks %q:\n%s", w, out)
		}
	}
}

func TestPromtoolTestRules(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	out, err := runTool(t, RulesDir, promtool, append([]string{"test", "rules"}, ruleTestFiles...)...)
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	if n := strings.Count(out, "SUCCESS"); n != len(ruleTestFiles) {
		t.Errorf("%d SUCCESS lines, want %d:\n%s", n, len(ruleTestFiles), out)
	}
}

// The unit tests are sharp: with a threshold moved, they fail.
func TestPromtoolTestsCatchAChangedThreshold(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	dir := t.TempDir()
	for _, f := range append([]string{RecordingRulesFile}, ruleTestFiles...) {
		data, err := os.ReadFile(filepath.Join(RulesDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	alerts, err := os.ReadFile(filepath.Join(RulesDir, AlertingRulesFile))
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(alerts), "> 4 and", "> 6 and", 1)
	if broken == string(alerts) {
		t.Fatal("fixture: threshold not found")
	}
	if err := os.WriteFile(filepath.Join(dir, AlertingRulesFile), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runTool(t, dir, promtool, "test", "rules", "crossteam.alerts.test.yml")
	if err == nil || !strings.Contains(out, "alertname: CrossteamHandoffAgreementBurn") {
		t.Errorf("promtool test rules passed with a moved threshold (err %v):\n%s", err, out)
	}
}

// The shard cases are sharp: each way of combining the instances' series
// wrongly (per shard instead of across them) fails the unit tests.
func TestPromtoolTestsCatchShardMistakes(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	cases := []struct {
		name, file, old, new, want string
	}{
		{"due date: latest instead of earliest", RecordingRulesFile,
			"min by (source, milestone) (crossteam_milestone_due_timestamp_seconds)",
			"max by (source, milestone) (crossteam_milestone_due_timestamp_seconds)", `milestone="v3.0"`},
		{"completed when any instance says so", RecordingRulesFile,
			`== count by (source, milestone) (crossteam_milestone_items{state="open"})`, "> 0", `milestone="v3.1"`},
		{"teams counted per instance", RecordingRulesFile,
			"count by (source, milestone) (sum by (source, milestone, team) (crossteam_milestone_team_items) > 0)",
			"max by (source, milestone) (count by (source, milestone, instance) (crossteam_milestone_team_items{state=\"open\"}))", `milestone="v3.0"`},
		{"closed items not summed", RecordingRulesFile,
			`sum by (source, milestone) (crossteam_milestone_items{state="closed"})`,
			`max by (source, milestone) (crossteam_milestone_items{state="closed"})`, `milestone="v2.0"`},
		{"no joint filter", AlertingRulesFile, "teams >= 2", "teams >= 1", "alertname: CrossteamMilestoneAtRisk"},
		{"completed milestones alert", AlertingRulesFile,
			"(source_milestone:crossteam_milestone_completed_timestamp_seconds:max)",
			"(source_milestone:crossteam_milestone_completed_timestamp_seconds:max > time())", `milestone="v3.2"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, f := range append([]string{RecordingRulesFile, AlertingRulesFile}, ruleTestFiles...) {
				data, err := os.ReadFile(filepath.Join(RulesDir, f))
				if err != nil {
					t.Fatal(err)
				}
				if f == c.file {
					broken := strings.Replace(string(data), c.old, c.new, 1)
					if broken == string(data) {
						t.Fatalf("fixture: %q not found in %s", c.old, f)
					}
					data = []byte(broken)
				}
				if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, err := runTool(t, dir, promtool, append([]string{"test", "rules"}, ruleTestFiles...)...)
			if err == nil || !strings.Contains(out, c.want) {
				t.Errorf("promtool test rules passed with the mistake (err %v), or not on %q:\n%s", err, c.want, out)
			}
		})
	}
}

type promtoolTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string           `yaml:"alertname"`
			ExpAlerts []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromQLExprTest []struct {
			Expr string `yaml:"expr"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

func readPromtoolTests(t *testing.T, name string) promtoolTests {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(RulesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var pt promtoolTests
	if err := yaml.Unmarshal(data, &pt); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return pt
}

// Every alert has a unit test where it fires and one where it must not.
func TestEveryAlertHasFiringAndQuietTests(t *testing.T) {
	pt := readPromtoolTests(t, "crossteam.alerts.test.yml")
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range pt.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	n := 0
	for _, g := range AlertingRules().Groups {
		for _, r := range g.Rules {
			n++
			if !fires[r.Alert] {
				t.Errorf("%s: no unit test where it fires", r.Alert)
			}
			if !quiet[r.Alert] {
				t.Errorf("%s: no unit test where it must not fire", r.Alert)
			}
		}
	}
	if n != 13 {
		t.Errorf("%d alerts, want 13", n)
	}
}

func TestEveryRecordingRuleNameIsTested(t *testing.T) {
	var tested []string
	for _, f := range []string{"crossteam.rules.test.yml", "crossteam.wins.test.yml"} {
		for _, tc := range readPromtoolTests(t, f).Tests {
			for _, e := range tc.PromQLExprTest {
				name, _, _ := strings.Cut(e.Expr, "{")
				tested = append(tested, name)
			}
		}
	}
	names := map[string]bool{}
	for _, g := range RecordingRules().Groups {
		for _, r := range g.Rules {
			names[r.Record] = true
		}
	}
	if len(names) != 60 {
		t.Errorf("%d recording rules, want 60 (25 trend increases: 8 over 7d, 17 over 28d (3 of them records' histograms); 4 28d bucket increases per to_team; p50/p90 x 7d/28d x pickup/cycle per pair, agreements: objective, target, (5 error windows, attainment, budget) x pickup/cycle, 2 faster-handoff wins, 5 milestone aggregates)", len(names))
	}
	for _, e := range tested {
		if !names[e] {
			t.Errorf("test queries %s, which is not a recording rule", e)
		}
	}
	for _, want := range []string{"pair:crossteam_handoff_pickup_seconds:p90_28d", "pair:crossteam_handoff_cycle_seconds:p50_7d", "to_team:crossteam_handoff_pickup_working_seconds_bucket:increase28d"} {
		if !names[want] {
			t.Errorf("no recording rule %s", want)
		}
	}
	// Every milestone aggregate is tested (across two instances).
	m := milestoneRecorded()
	for _, want := range []string{m.progress, m.open, m.teams, m.due, m.completed} {
		if !names[want] {
			t.Errorf("no recording rule %s", want)
		}
		if !slices.Contains(tested, want) {
			t.Errorf("recording rule %s has no promtool test", want)
		}
	}
}

var headingPattern = regexp.MustCompile(`(?m)^## (\S+)\s*$`)

// Alerts follow the mixin conventions and each runbook_url points at an
// existing section of RUNBOOK.md.
func TestAlertConventions(t *testing.T) {
	runbook, err := os.ReadFile(filepath.Join("..", "RUNBOOK.md"))
	if err != nil {
		t.Fatal(err)
	}
	var anchors []string
	for _, m := range headingPattern.FindAllStringSubmatch(string(runbook), -1) {
		anchors = append(anchors, strings.ToLower(m[1]))
	}
	for _, g := range AlertingRules().Groups {
		for _, r := range g.Rules {
			if !strings.HasPrefix(r.Alert, "Crossteam") {
				t.Errorf("%s: alert names share the Crossteam prefix", r.Alert)
			}
			if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
				t.Errorf("%s: severity %q", r.Alert, r.Labels["severity"])
			}
			if r.For == "" {
				t.Errorf("%s: no for clause", r.Alert)
			}
			if s := r.Annotations["summary"]; !strings.HasSuffix(s, ".") || strings.Count(s, ". ") > 0 {
				t.Errorf("%s: summary %q is not one sentence ending in a period", r.Alert, s)
			}
			if d := r.Annotations["description"]; len(strings.Fields(d)) < 10 || !strings.Contains(d, "{{") {
				t.Errorf("%s: description %q is not a templated explanation", r.Alert, d)
			}
			u := r.Annotations["runbook_url"]
			anchor, ok := strings.CutPrefix(u, RunbookBase+"#")
			if !ok || !slices.Contains(anchors, anchor) {
				t.Errorf("%s: runbook_url %q has no section in RUNBOOK.md (sections %v)", r.Alert, u, anchors)
			}
		}
	}
	if len(anchors) < 6 {
		t.Errorf("RUNBOOK.md has %d alert sections", len(anchors))
	}
}
