package dashboards

// A re-implementation of grafana/dashboard-linter's rules (lint/rules.go),
// which cannot be imported here, as table-driven checks over the committed
// JSON. Each rule has a case proving it fails on a dashboard that breaks it.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

type lintDS struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type lintTarget struct {
	Expr       string  `json:"expr"`
	RefID      string  `json:"refId"`
	Datasource *lintDS `json:"datasource"`
}

type lintPanel struct {
	Type        string       `json:"type"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Datasource  *lintDS      `json:"datasource"`
	Targets     []lintTarget `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
		Overrides []struct {
			Properties []struct {
				ID    string `json:"id"`
				Value any    `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	Panels []lintPanel `json:"panels"` // a collapsed row's panels
}

type lintVar struct {
	Type       string  `json:"type"`
	Name       string  `json:"name"`
	Label      string  `json:"label"`
	Query      any     `json:"query"`
	Datasource *lintDS `json:"datasource"`
	Refresh    int     `json:"refresh"`
	Multi      bool    `json:"multi"`
	IncludeAll bool    `json:"includeAll"`
}

type lintDashboard struct {
	UID        string      `json:"uid"`
	Title      string      `json:"title"`
	Editable   bool        `json:"editable"`
	Panels     []lintPanel `json:"panels"`
	Templating struct {
		List []lintVar `json:"list"`
	} `json:"templating"`
	// Annotations: queries whose series mark instants on the time series
	// panels (the decision annotations); their metrics are checked too.
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
}

func decodeLint(t *testing.T, file string, data []byte) lintDashboard {
	t.Helper()
	var d lintDashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return d
}

// allPanels flattens rows; rows themselves carry no queries.
func (d lintDashboard) allPanels() []lintPanel {
	var out []lintPanel
	for _, p := range d.Panels {
		if p.Type == "row" {
			out = append(out, p.Panels...)
			continue
		}
		out = append(out, p)
	}
	return out
}

var labelValuesPattern = regexp.MustCompile(`^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$`)
var queryResultPattern = regexp.MustCompile(`^query_result\((.+)\)$`)

// variableExpr is the PromQL inside a query variable's label_values(expr,
// label) or query_result(expr).
func variableExpr(v lintVar) string {
	if v.Type != "query" {
		return ""
	}
	q, _ := v.Query.(string)
	if m := labelValuesPattern.FindStringSubmatch(q); m != nil {
		return m[1]
	}
	if m := queryResultPattern.FindStringSubmatch(q); m != nil {
		return m[1]
	}
	return q
}

// validUnits are Grafana unit ids; the subset of grafana's
// packages/grafana-data/src/valueFormats/categories.ts a board may use.
var validUnits = []string{"none", "short", "percent", "percentunit", "s", "ms", "m", "h", "d", "dtdurations", "dtdurationms",
	"reqps", "ops", "bytes", "dateTimeAsIso", "dateTimeFromNow", "bool", "bool_yes_no", "bool_on_off", "locale"}

type lintRule struct {
	name  string
	check func(d lintDashboard) []string
}

func perPanel(f func(p lintPanel) []string) func(d lintDashboard) []string {
	return func(d lintDashboard) []string {
		var out []string
		for _, p := range d.allPanels() {
			for _, problem := range f(p) {
				out = append(out, fmt.Sprintf("panel %q: %s", p.Title, problem))
			}
		}
		return out
	}
}

func perTarget(f func(e parser.Expr) []string) func(d lintDashboard) []string {
	return perPanel(func(p lintPanel) []string {
		var out []string
		for _, t := range p.Targets {
			e, err := parsePromQL(t.Expr)
			if err != nil {
				continue // target-promql-rule reports it
			}
			for _, problem := range f(e) {
				out = append(out, fmt.Sprintf("target %s: %s", t.RefID, problem))
			}
		}
		return out
	})
}

func hasMatcher(e parser.Expr, label, variable string) []string {
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		for _, m := range vs.LabelMatchers {
			// After substitution $job reads "job".
			if m.Name == label && m.Value == variable {
				return nil
			}
		}
		out = append(out, fmt.Sprintf("%s has no %s=~\"$%s\" matcher", vs.Name, label, variable))
		return nil
	})
	return out
}

func templateRule(name, label string) func(d lintDashboard) []string {
	return func(d lintDashboard) []string {
		for _, v := range d.Templating.List {
			if v.Name != name {
				continue
			}
			var out []string
			if v.Type != "query" || v.Datasource == nil || v.Datasource.UID != "${datasource}" {
				out = append(out, fmt.Sprintf("variable %s must be a query on ${datasource}", name))
			}
			if v.Label != label || !v.Multi || !v.IncludeAll {
				out = append(out, fmt.Sprintf("variable %s must be labelled %q, multi-valued, with All", name, label))
			}
			return out
		}
		return []string{fmt.Sprintf("no %s variable", name)}
	}
}

var lintRules = []lintRule{
	{"template-datasource-rule", func(d lintDashboard) []string {
		var found []lintVar
		for _, v := range d.Templating.List {
			if v.Type == "datasource" {
				found = append(found, v)
			}
		}
		if len(found) != 1 {
			return []string{fmt.Sprintf("%d datasource variables, want exactly 1", len(found))}
		}
		v := found[0]
		if v.Name != "datasource" || v.Label != "Data source" || v.Query != "prometheus" {
			return []string{fmt.Sprintf("datasource variable %q label %q query %v, want datasource / Data source / prometheus", v.Name, v.Label, v.Query)}
		}
		return nil
	}},
	{"template-job-rule", templateRule("job", "Job")},
	{"template-instance-rule", templateRule("instance", "Instance")},
	{"template-label-promql-rule", func(d lintDashboard) []string {
		var out []string
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			if _, err := parsePromQL(variableExpr(v)); err != nil {
				out = append(out, fmt.Sprintf("variable %s: %v", v.Name, err))
			}
		}
		return out
	}},
	{"template-on-time-change-reload-rule", func(d lintDashboard) []string {
		var out []string
		for _, v := range d.Templating.List {
			if v.Type == "query" && v.Refresh != 2 {
				out = append(out, fmt.Sprintf("variable %s refresh %d, want 2 (on time range change)", v.Name, v.Refresh))
			}
		}
		return out
	}},
	{"panel-datasource-rule", perPanel(func(p lintPanel) []string {
		var out []string
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			out = append(out, "panel datasource is not ${datasource}")
		}
		for _, t := range p.Targets {
			if t.Datasource == nil || t.Datasource.UID != "${datasource}" {
				out = append(out, fmt.Sprintf("target %s datasource is not ${datasource}", t.RefID))
			}
		}
		return out
	})},
	{"panel-title-description-rule", perPanel(func(p lintPanel) []string {
		if strings.TrimSpace(p.Title) == "" || len(strings.Fields(p.Description)) < 8 {
			return []string{"needs a title and a description of at least eight words"}
		}
		return nil
	})},
	{"panel-units-rule", perPanel(func(p lintPanel) []string {
		var out []string
		if !slices.Contains(validUnits, p.FieldConfig.Defaults.Unit) {
			out = append(out, fmt.Sprintf("unit %q is not a Grafana unit", p.FieldConfig.Defaults.Unit))
		}
		for _, o := range p.FieldConfig.Overrides {
			for _, prop := range o.Properties {
				if u, ok := prop.Value.(string); ok && prop.ID == "unit" && !slices.Contains(validUnits, u) {
					out = append(out, fmt.Sprintf("override unit %q is not a Grafana unit", u))
				}
			}
		}
		return out
	})},
	{"panel-no-targets-rule", perPanel(func(p lintPanel) []string {
		if len(p.Targets) == 0 {
			return []string{"no targets"}
		}
		return nil
	})},
	{"target-promql-rule", perPanel(func(p lintPanel) []string {
		var out []string
		for _, t := range p.Targets {
			if _, err := parsePromQL(t.Expr); err != nil {
				out = append(out, fmt.Sprintf("target %s: %v", t.RefID, err))
			}
		}
		return out
	})},
	{"target-rate-interval-rule", perTarget(func(e parser.Expr) []string {
		var out []string
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			c, ok := n.(*parser.Call)
			if !ok || !slices.Contains([]string{"rate", "irate", "increase"}, c.Func.Name) {
				return nil
			}
			ms, ok := c.Args[0].(*parser.MatrixSelector)
			if !ok {
				return nil
			}
			// The parser reads durations through floats: compare to the ms.
			rng := ms.Range.Round(time.Millisecond)
			if rng == rateIntervalMagic {
				return nil
			}
			// Fixed windows are deliberate for increase() (the linter's
			// documented exception): "p90 over 28d", "per week", "this
			// quarter". rate/irate always follow the scrape.
			if c.Func.Name == "increase" && fixedWindow(rng) {
				return nil
			}
			out = append(out, fmt.Sprintf("%s over %s, want $__rate_interval", c.Func.Name, rng))
			return nil
		})
		return out
	})},
	{"target-counter-agg-rule", perTarget(func(e parser.Expr) []string {
		var out []string
		parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok || !strings.HasSuffix(vs.Name, "_total") {
				return nil
			}
			for i := len(path) - 1; i >= 0; i-- {
				if c, ok := path[i].(*parser.Call); ok && slices.Contains([]string{"rate", "irate", "increase"}, c.Func.Name) {
					return nil
				}
			}
			out = append(out, fmt.Sprintf("counter %s is not wrapped in rate/irate/increase", vs.Name))
			return nil
		})
		return out
	})},
	{"target-job-rule", perTarget(func(e parser.Expr) []string { return hasMatcher(e, "job", "job") })},
	{"target-instance-rule", perTarget(func(e parser.Expr) []string { return hasMatcher(e, "instance", "instance") })},
	{"uneditable-dashboard", func(d lintDashboard) []string {
		if d.Editable {
			return []string{"editable: true; provisioned boards change in code"}
		}
		return nil
	}},
}

func fixedWindow(r time.Duration) bool {
	for _, w := range FixedWindows {
		if w == "$__range" {
			if r == rangeMagic {
				return true
			}
			continue
		}
		if d, err := parseDuration(w); err == nil && d == r {
			return true
		}
	}
	return false
}

func TestDashboardsPassLinter(t *testing.T) {
	for file, data := range committedBoards(t) {
		d := decodeLint(t, file, data)
		if len(d.allPanels()) == 0 {
			t.Fatalf("%s: no panels", file)
		}
		for _, r := range lintRules {
			for _, p := range r.check(d) {
				t.Errorf("%s: %s: %s", file, r.name, p)
			}
		}
	}
}

// Each rule fails on a board that breaks it.
func TestLinterRulesCatchViolations(t *testing.T) {
	base := committedBoards(t)["overview.json"]
	firstTarget := func(d *lintDashboard) *lintTarget {
		for i := range d.Panels {
			if len(d.Panels[i].Targets) > 0 {
				return &d.Panels[i].Targets[0]
			}
		}
		t.Fatal("no target")
		return nil
	}
	firstPanel := func(d *lintDashboard) *lintPanel {
		for i := range d.Panels {
			if d.Panels[i].Type != "row" {
				return &d.Panels[i]
			}
		}
		t.Fatal("no panel")
		return nil
	}
	varNamed := func(d *lintDashboard, name string) *lintVar {
		for i := range d.Templating.List {
			if d.Templating.List[i].Name == name {
				return &d.Templating.List[i]
			}
		}
		t.Fatalf("no variable %s", name)
		return nil
	}
	cases := []struct {
		rule   string
		mutate func(d *lintDashboard)
		want   string
	}{
		{"template-datasource-rule", func(d *lintDashboard) {
			d.Templating.List = append(d.Templating.List, lintVar{Type: "datasource", Name: "ds2"})
		}, "2 datasource variables"},
		{"template-datasource-rule", func(d *lintDashboard) { varNamed(d, "datasource").Label = "DS" }, "want datasource / Data source"},
		{"template-job-rule", func(d *lintDashboard) { varNamed(d, "job").Name = "jobs" }, "no job variable"},
		{"template-instance-rule", func(d *lintDashboard) { varNamed(d, "instance").Multi = false }, "multi-valued"},
		{"template-label-promql-rule", func(d *lintDashboard) { varNamed(d, "job").Query = "label_values(sum(, job)" }, "variable job"},
		{"template-on-time-change-reload-rule", func(d *lintDashboard) { varNamed(d, "to_team").Refresh = 1 }, "variable to_team refresh 1"},
		{"panel-datasource-rule", func(d *lintDashboard) { firstPanel(d).Datasource = &lintDS{UID: "prometheus"} }, "panel datasource is not"},
		{"panel-datasource-rule", func(d *lintDashboard) { firstTarget(d).Datasource = nil }, "target A datasource is not"},
		{"panel-title-description-rule", func(d *lintDashboard) { firstPanel(d).Description = "Stalled handoffs." }, "needs a title and a description"},
		{"panel-units-rule", func(d *lintDashboard) { firstPanel(d).FieldConfig.Defaults.Unit = "" }, `unit "" is not`},
		{"panel-units-rule", func(d *lintDashboard) { firstPanel(d).FieldConfig.Defaults.Unit = "seconds" }, `unit "seconds" is not`},
		{"panel-no-targets-rule", func(d *lintDashboard) { firstPanel(d).Targets = nil }, "no targets"},
		{"target-promql-rule", func(d *lintDashboard) { firstTarget(d).Expr = "sum(crossteam_handoffs_stalled" }, "target A:"},
		{"target-rate-interval-rule", func(d *lintDashboard) {
			firstTarget(d).Expr = `sum(rate(crossteam_handoffs_total{job=~"$job", instance=~"$instance"}[5m]))`
		}, "rate over 5m0s, want $__rate_interval"},
		{"target-rate-interval-rule", func(d *lintDashboard) {
			firstTarget(d).Expr = `sum(rate(crossteam_handoffs_total{job=~"$job", instance=~"$instance"}[28d]))`
		}, "rate over 672h0m0s, want $__rate_interval"},
		{"target-rate-interval-rule", func(d *lintDashboard) {
			firstTarget(d).Expr = `sum(increase(crossteam_handoffs_total{job=~"$job", instance=~"$instance"}[3d]))`
		}, "increase over 72h0m0s, want"},
		{"target-counter-agg-rule", func(d *lintDashboard) {
			firstTarget(d).Expr = `sum(crossteam_handoffs_total{job=~"$job", instance=~"$instance"})`
		}, "counter crossteam_handoffs_total is not wrapped"},
		{"target-job-rule", func(d *lintDashboard) { firstTarget(d).Expr = `sum(crossteam_handoffs_stalled{instance=~"$instance"})` }, `no job=~"$job" matcher`},
		{"target-instance-rule", func(d *lintDashboard) { firstTarget(d).Expr = `sum(crossteam_handoffs_stalled{job=~"$job"})` }, `no instance=~"$instance" matcher`},
		{"uneditable-dashboard", func(d *lintDashboard) { d.Editable = true }, "editable: true"},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			d := decodeLint(t, "overview.json", base)
			var rule lintRule
			for _, r := range lintRules {
				if r.name == c.rule {
					rule = r
				}
			}
			if len(rule.check(d)) != 0 {
				t.Fatalf("the unmodified board already fails %s", c.rule)
			}
			c.mutate(&d)
			got := strings.Join(rule.check(d), "; ")
			if !strings.Contains(got, c.want) {
				t.Errorf("problems %q, want %q", got, c.want)
			}
		})
	}
}
