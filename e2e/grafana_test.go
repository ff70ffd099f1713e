package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// This file reads the shipped Grafana dashboards and substitutes their
// template variables the way Grafana's Prometheus data source does
// (public/app/plugins/datasource/prometheus: interpolateQueryExpr and the
// $__interval / $__rate_interval / $__range built-ins).

// dashboard is the part of a Grafana dashboard JSON model the test reads.
type dashboard struct {
	file       string
	Title      string     `json:"title"`
	Panels     []panel    `json:"panels"`
	Time       timeRange  `json:"time"`
	Templating templating `json:"templating"`
}

type timeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type templating struct {
	List []variable `json:"list"`
}

// panel is a panel or a row; a collapsed row holds its panels.
type panel struct {
	Title   string   `json:"title"`
	Type    string   `json:"type"`
	Targets []target `json:"targets"`
	Panels  []panel  `json:"panels"`
}

type target struct {
	RefID string `json:"refId"`
	Expr  string `json:"expr"`
}

// variable is a dashboard template variable.
type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Regex      string          `json:"regex"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
	Multi      bool            `json:"multi"`
}

// queryText is the variable's query: a string, or {"query": "..."} in
// newer dashboard schemas.
func (v variable) queryText() (string, error) {
	if len(v.Query) == 0 {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v.Query, &s); err == nil {
		return s, nil
	}
	var o struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &o); err != nil {
		return "", fmt.Errorf("variable %s: query is neither a string nor {query: ...}: %w", v.Name, err)
	}
	return o.Query, nil
}

// panelQuery is one target of one panel.
type panelQuery struct {
	board, panel, refID string
	expr                string
}

func (q panelQuery) String() string {
	return fmt.Sprintf("%s / %q / %s", q.board, q.panel, q.refID)
}

// loadDashboards reads every dashboards/json/*.json.
func loadDashboards(t *testing.T, dir string) []*dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no dashboards in %s", dir)
	}
	sort.Strings(files)
	var out []*dashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := &dashboard{file: filepath.Base(f)}
		if err := json.Unmarshal(b, d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, d)
	}
	return out
}

// queries lists every target of every panel, rows' panels included.
func (d *dashboard) queries() []panelQuery {
	var out []panelQuery
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				out = append(out, panelQuery{board: d.file, panel: p.Title, refID: tg.RefID, expr: tg.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// uses reports whether any panel query of d references variable name.
func (d *dashboard) uses(name string) bool {
	for _, q := range d.queries() {
		for _, ref := range variableRefs(q.expr) {
			if ref == name {
				return true
			}
		}
	}
	return false
}

// rangeDuration is the dashboard's default time range ("now-90d" to "now").
func (d *dashboard) rangeDuration() (time.Duration, error) {
	if d.Time.To != "now" || !strings.HasPrefix(d.Time.From, "now-") {
		return 0, fmt.Errorf("%s: time range %q to %q: only now-<duration> to now is supported", d.file, d.Time.From, d.Time.To)
	}
	r, err := model.ParseDuration(strings.TrimPrefix(d.Time.From, "now-"))
	if err != nil {
		return 0, fmt.Errorf("%s: time range from %q: %w", d.file, d.Time.From, err)
	}
	return time.Duration(r), nil
}

// varValue is a variable's selected value.
type varValue struct {
	values   []string // the selected options (every option when All)
	all      bool     // All selected
	allValue string   // the variable's custom all value ("" = none)
	// multiOrAll: the variable is multi-value or has an All option; Grafana
	// then regex-escapes values, as they end up in =~ matchers.
	multiOrAll bool
}

// grafanaVarRE matches $name, ${name}, ${name:format} and [[name]] /
// [[name:format]], as Grafana's variableRegex does.
var grafanaVarRE = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}`)

// variableRefs lists the variable names an expression references ($1-style
// regex group references of label_replace are not variables).
func variableRefs(expr string) []string {
	var out []string
	for _, m := range grafanaVarRE.FindAllStringSubmatch(expr, -1) {
		name := m[1] + m[2] + m[4]
		if isDigits(name) {
			continue
		}
		out = append(out, name)
	}
	return out
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// promRegexEscape escapes a value for a regex matcher, like Grafana's
// prometheusSpecialRegexEscape.
func promRegexEscape(s string) string {
	return regexp.MustCompile(`[\\^$*+?.()|{}\[\]']`).ReplaceAllStringFunc(s, func(c string) string {
		if c == `\` {
			return `\\\\`
		}
		return `\\` + c
	})
}

// promRegularEscape escapes a single value for a quoted string, like
// Grafana's prometheusRegularEscape.
func promRegularEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\\'`).Replace(s)
}

// format renders a variable value with a Grafana format ("" = the data
// source's default).
func (v varValue) format(name, format string) (string, error) {
	if v.all && v.allValue != "" {
		// A custom all value is used as written, in every format.
		return v.allValue, nil
	}
	if len(v.values) == 0 {
		return "", fmt.Errorf("variable %s has no value", name)
	}
	escapeEach := func(esc func(string) string) []string {
		out := make([]string, len(v.values))
		for i, s := range v.values {
			out[i] = esc(s)
		}
		return out
	}
	group := func(l []string) string {
		if len(l) == 1 {
			return l[0]
		}
		return "(" + strings.Join(l, "|") + ")"
	}
	switch format {
	case "":
		if !v.multiOrAll {
			return promRegularEscape(v.values[0]), nil
		}
		return group(escapeEach(promRegexEscape)), nil
	case "regex":
		return group(escapeEach(regexp.QuoteMeta)), nil
	case "pipe":
		return strings.Join(v.values, "|"), nil
	case "raw", "csv", "text":
		return strings.Join(v.values, ","), nil
	case "glob":
		if len(v.values) == 1 {
			return v.values[0], nil
		}
		return "{" + strings.Join(v.values, ",") + "}", nil
	}
	return "", fmt.Errorf("variable %s: format %q is not supported by this test", name, format)
}

// builtins are Grafana's global variables for an instant query over a
// dashboard range rng with the given scrape interval: $__interval is the
// scrape interval (the finest step Grafana would pick), $__rate_interval
// Grafana's max($__interval + scrape interval, 4 * scrape interval).
func builtins(rng, scrape time.Duration) map[string]string {
	sec := int64(rng / time.Second)
	rate := max(2*scrape, 4*scrape)
	return map[string]string{
		"__interval":      model.Duration(scrape).String(),
		"__interval_ms":   strconv.FormatInt(scrape.Milliseconds(), 10),
		"__rate_interval": model.Duration(rate).String(),
		"__range":         strconv.FormatInt(sec, 10) + "s",
		"__range_s":       strconv.FormatInt(sec, 10),
		"__range_ms":      strconv.FormatInt(rng.Milliseconds(), 10),
	}
}

// interpolate substitutes every variable in expr. A reference to a
// variable the dashboard does not define is an error (it would reach
// Prometheus as a literal "$name").
func interpolate(expr string, vars map[string]varValue, globals map[string]string) (string, error) {
	var errs []string
	out := grafanaVarRE.ReplaceAllStringFunc(expr, func(ref string) string {
		m := grafanaVarRE.FindStringSubmatch(ref)
		name, format := m[1]+m[2]+m[4], m[3]+m[5]
		if isDigits(name) {
			return ref
		}
		if g, ok := globals[name]; ok {
			return g
		}
		v, ok := vars[name]
		if !ok {
			errs = append(errs, fmt.Sprintf("undefined variable %s", ref))
			return ref
		}
		s, err := v.format(name, format)
		if err != nil {
			errs = append(errs, err.Error())
			return ref
		}
		return s
	})
	if len(errs) > 0 {
		return "", fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

// labelValuesRE and queryResultRE are the two Prometheus variable query
// functions the dashboards use.
var (
	labelValuesRE = regexp.MustCompile(`^\s*label_values\((?:(.+),\s*)?(\w+)\)\s*$`)
	queryResultRE = regexp.MustCompile(`^\s*query_result\((.+)\)\s*$`)
)

// applyVarRegex filters and extracts options with a variable's regex
// ("/re/"): the first capture group when there is one, else the match.
func applyVarRegex(opts []string, re string) ([]string, error) {
	if re == "" {
		return opts, nil
	}
	if len(re) < 2 || re[0] != '/' || re[len(re)-1] != '/' {
		return nil, fmt.Errorf("regex %q: want /.../", re)
	}
	r, err := regexp.Compile(re[1 : len(re)-1])
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", re, err)
	}
	seen := map[string]bool{}
	var out []string
	for _, o := range opts {
		m := r.FindStringSubmatch(o)
		if m == nil {
			continue
		}
		v := m[0]
		if len(m) > 1 {
			v = m[1]
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, nil
}

// renderSample renders a query_result sample as Grafana does before the
// variable's regex is applied: name{label="value",...} value timestamp.
func renderSample(s sample) string {
	names := make([]string, 0, len(s.Metric))
	for k := range s.Metric {
		if k != "__name__" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s=%q", k, s.Metric[k])
	}
	return fmt.Sprintf("%s{%s} %s %d", s.Metric["__name__"], strings.Join(parts, ","), s.Value, int64(s.Time*1000))
}

func TestInterpolate(t *testing.T) {
	vars := map[string]varValue{
		"job":      {values: []string{"crossteam"}, all: true, allValue: ".*", multiOrAll: true},
		"team":     {values: []string{"qa"}},
		"teams":    {values: []string{"qa", "sre.x"}, multiOrAll: true},
		"teamsAll": {values: []string{"qa", "sre"}, all: true, multiOrAll: true},
		"quote":    {values: []string{`o'brien`}},
	}
	globals := builtins(90*24*time.Hour, time.Second)
	tests := []struct {
		name, in, want, err string
	}{
		{"all with allValue", `up{job=~"$job"}`, `up{job=~".*"}`, ""},
		{"all with allValue, braces and format", `up{job=~"${job:regex}"}`, `up{job=~".*"}`, ""},
		{"single value", `x{to_team=~"$team"}`, `x{to_team=~"qa"}`, ""},
		{"single value in braces", `x{to_team=~"${team}"}`, `x{to_team=~"qa"}`, ""},
		{"old bracket syntax", `x{to_team=~"[[team]]"}`, `x{to_team=~"qa"}`, ""},
		{"multi values regex-escaped", `x{t=~"$teams"}`, `x{t=~"(qa|sre\\.x)"}`, ""},
		{"multi values, regex format", `x{t=~"${teams:regex}"}`, `x{t=~"(qa|sre\.x)"}`, ""},
		{"multi values, pipe format", `x{t=~"${teams:pipe}"}`, `x{t=~"qa|sre.x"}`, ""},
		{"all without allValue lists every option", `x{t=~"$teamsAll"}`, `x{t=~"(qa|sre)"}`, ""},
		{"single quote escaped", `x{t="$quote"}`, `x{t="o\\'brien"}`, ""},
		{"rate interval is four scrapes", `rate(x[$__rate_interval])`, `rate(x[4s])`, ""},
		{"range in seconds", `increase(x[$__range])`, `increase(x[7776000s])`, ""},
		{"interval", `avg_over_time(x[$__interval])`, `avg_over_time(x[1s])`, ""},
		{"label_replace group reference kept", `label_replace(x, "team", "$1", "to_team", "(.+)")`, `label_replace(x, "team", "$1", "to_team", "(.+)")`, ""},
		{"undefined variable", `x{t=~"$nope"}`, "", "undefined variable $nope"},
		{"unsupported format", `x{t=~"${teams:json}"}`, "", `format "json"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := interpolate(tc.in, vars, globals)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("interpolate(%q) error = %v, want one containing %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("interpolate(%q)\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestVariableRegexAndQueryParsing(t *testing.T) {
	s := sample{Metric: map[string]string{"team": "backend"}, Value: "3", Time: 1700000000.5}
	if got, want := renderSample(s), `{team="backend"} 3 1700000000500`; got != want {
		t.Errorf("renderSample = %s, want %s", got, want)
	}
	got, err := applyVarRegex([]string{renderSample(s), `{team="qa"} 1 0`, `{other="x"} 1 0`, `{team="qa"} 2 0`}, `/team="([^"]+)"/`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "backend,qa" {
		t.Errorf("applyVarRegex = %v, want [backend qa]", got)
	}
	if _, err := applyVarRegex(nil, "team"); err == nil {
		t.Error("a regex without slashes is accepted")
	}
	for _, tc := range []struct{ q, match, label string }{
		{`label_values(crossteam_build_info, job)`, "crossteam_build_info", "job"},
		{`label_values(crossteam_build_info{job=~"$job"}, instance)`, `crossteam_build_info{job=~"$job"}`, "instance"},
		{`label_values(job)`, "", "job"},
	} {
		m := labelValuesRE.FindStringSubmatch(tc.q)
		if m == nil || m[1] != tc.match || m[2] != tc.label {
			t.Errorf("label_values parse of %q = %q, want match %q label %q", tc.q, m, tc.match, tc.label)
		}
	}
	if m := queryResultRE.FindStringSubmatch(`query_result(count by (team) (x))`); m == nil || m[1] != "count by (team) (x)" {
		t.Errorf("query_result parse = %q", m)
	}
}
