package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/sim"
)

const (
	// demoSeed fixes the simulated organisation.
	demoSeed = 5
	// demoSpeed nearly freezes the demo's simulated clock (the flag must be
	// positive): over a minute it moves by microseconds, so the stalled
	// handoffs, the snapshot and its asOf are the same for the whole test,
	// and the ground truth can be regenerated at the demo's Now, which is the
	// snapshot's asOf truncated to the second.
	demoSpeed = "0"
	// scrapeInterval is Prometheus's scrape and rule evaluation interval.
	scrapeInterval = time.Second
	jobName        = "crossteam"
	// startTimeout bounds each wait (build excluded): demo ready,
	// Prometheus ready, three scrapes, one rule evaluation.
	startTimeout = 60 * time.Second
)

// noDataInDemo lists panel queries ("board / panel / refId") that
// legitimately return no series in the demo, with the reason. It is empty:
// the simulator produces data for every panel. A listed query that does
// return data fails the test, so the list stays honest.
var noDataInDemo = map[string]string{}

func TestPrometheusEndToEnd(t *testing.T) {
	prometheus := requireTool(t, "prometheus")
	promtool := requireTool(t, "promtool")
	root := moduleRoot(t)
	tmp := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	// 1. crossteam demo, built from this tree.
	bin := buildCrossteam(t, root, tmp)
	demoAddr := freeAddr(t)
	demoTmp := filepath.Join(tmp, "demo-tmp")
	if err := os.Mkdir(demoTmp, 0o700); err != nil {
		t.Fatal(err)
	}
	demo := startProcess(t, tmp, "crossteam demo", []string{"TMPDIR=" + demoTmp}, bin, "demo",
		"--web.listen-address="+demoAddr, "--demo.seed="+strconv.Itoa(demoSeed), "--demo.speed="+demoSpeed,
		"--demo.sync-interval=2s", "--store.path="+filepath.Join(tmp, "crossteam.db"))
	demoURL := "http://" + demoAddr
	waitUntil(t, "crossteam demo ready with a complete snapshot", func() (bool, string) {
		code, _, err := httpGet(ctx, demoURL+"/-/ready")
		if err != nil || code != http.StatusOK {
			return false, fmt.Sprintf("/-/ready: %d %v", code, err)
		}
		// The summary is printed once the snapshot holds every item.
		return strings.Contains(demo.stdout.String(), "Ctrl-C stops the demo"), "no summary yet"
	}, demo)
	t.Logf("demo summary:\n%s", demo.stdout.String())
	dw := loadDemoWorld(ctx, t, demoURL, demo.stdout.String())

	// 2. Prometheus with the demo's history (see backfill_test.go) and the
	// shipped rules, scraping the demo.
	dataDir := filepath.Join(tmp, "prometheus-data")
	checkContinues(t, dw.cfg, dw.world.Dataset(), dw.now, dw.live)
	backfillDemo(t, bin, promtool, tmp, dataDir, dw.cfgPath, dw.now, map[string]string{"job": jobName, "instance": demoAddr})
	week := reviewWeek(dw)
	backfillBoundaries(t, bin, promtool, tmp, dataDir, dw, week, map[string]string{"job": jobName, "instance": demoAddr})
	backfillRecent(t, bin, promtool, tmp, dataDir, dw, map[string]string{"job": jobName, "instance": demoAddr})
	records, alerts := writeTestRules(t, filepath.Join(root, "dashboards", "rules"), filepath.Join(tmp, "rules"))
	promAddr := freeAddr(t)
	cfgPath := filepath.Join(tmp, "prometheus.yml")
	writePrometheusConfig(t, cfgPath, demoAddr, filepath.Join(tmp, "rules"))
	promProc := startProcess(t, tmp, "prometheus", nil, prometheus,
		"--config.file="+cfgPath, "--storage.tsdb.path="+dataDir,
		// Keep the backfilled months (the default retention is 15d).
		"--storage.tsdb.retention.time="+model.Duration(2*backfillSpan).String(),
		"--web.listen-address="+promAddr, "--log.level=warn")
	prom := &promAPI{base: "http://" + promAddr}
	waitUntil(t, "Prometheus ready", func() (bool, string) {
		code, _, err := httpGet(ctx, prom.base+"/-/ready")
		return err == nil && code == http.StatusOK, fmt.Sprintf("/-/ready: %d %v", code, err)
	}, promProc)

	// 3. Three successful scrapes, then one evaluation of every rule group.
	waitUntil(t, "three successful scrapes of the demo", func() (bool, string) {
		v, err := prom.query(ctx, fmt.Sprintf(`sum_over_time(up{job=%q}[1m]) >= 3 and up{job=%q} == 1`, jobName, jobName))
		return err == nil && len(v) == 1, fmt.Sprintf("%v %v", v, err)
	}, promProc)
	scraped := time.Now()
	var groups []ruleGroup
	waitUntil(t, "every rule group evaluated after the third scrape", func() (bool, string) {
		var err error
		groups, err = prom.rules(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, g := range groups {
			if !g.LastEvaluation.After(scraped) {
				return false, fmt.Sprintf("group %s last evaluated %s", g.Name, g.LastEvaluation)
			}
		}
		return len(groups) > 0, "no rule groups loaded"
	}, promProc)
	checkRulesLoaded(t, groups, records, alerts)
	// The trend rules' history, as a user backfills it (README, Backfill):
	// evaluated over the backfilled span at the shipped groups' intervals.
	// Without it the live rules (every second here) would have no 28 days
	// ago for the faster-handoff wins to compare with.
	loadRecordedTrends(ctx, t, prom, promtool, root, dataDir, tmp, dw.now.Add(-backfillSpan+28*24*time.Hour), dw.now)

	t.Run("dashboard queries", func(t *testing.T) {
		checkDashboards(ctx, t, prom, filepath.Join(root, "dashboards", "json"), panelTruth(dw))
	})
	t.Run("records", func(t *testing.T) { checkRecords(t, dw) }) // records_test.go
	t.Run("panel checks reject bad queries", func(t *testing.T) { checkPanelChecker(ctx, t, prom) })
	t.Run("recording rules", func(t *testing.T) { checkRecordingRules(ctx, t, prom, records) })
	t.Run("stalled alert", func(t *testing.T) { checkStalledAlert(ctx, t, prom, dw) })
	t.Run("agreement burn alert", func(t *testing.T) { checkAgreementBurn(ctx, t, prom, dw) })
	t.Run("review equals PromQL", func(t *testing.T) {
		checkReviewEqualsPromQL(ctx, t, prom, dw, filepath.Join(tmp, "crossteam.db"), week)
	})
	t.Run("review page in Chromium", func(t *testing.T) { checkReviewInChromium(ctx, t, root, demoURL) })
	// screenshots_test.go and nodata_test.go.
	t.Run("board screenshots", func(t *testing.T) {
		checkScreenshots(ctx, t, prom, root, panelTruth(dw),
			screenshotKit{bin, promtool, tmp, dataDir, dw, map[string]string{"job": jobName, "instance": demoAddr}})
	})
	t.Run("no data for variables selecting nothing", func(t *testing.T) {
		checkNoDataChecker(ctx, t, prom)
		checkNoData(ctx, t, prom, root)
	})
	t.Run("pint online", func(t *testing.T) { checkPintOnline(ctx, t, prom, root, tmp) }) // pint_test.go
}

// requireTool finds Prometheus or promtool (Debian package prometheus).
// CI sets CROSSTEAM_REQUIRE_TOOLS=1 and installs them, so there a missing
// tool fails the test; elsewhere the test skips saying how to get it.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join("/usr/bin", name); fileExists(p) {
		return p
	}
	if os.Getenv("CROSSTEAM_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s not found and CROSSTEAM_REQUIRE_TOOLS=1: install Debian's prometheus package (make tools)", name)
	}
	t.Skipf("%s not found: install Debian's prometheus package (make tools) to run the end-to-end test with a real Prometheus; CI sets CROSSTEAM_REQUIRE_TOOLS=1 to make this a failure", name)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// moduleRoot is the repository root (the parent of this package).
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	return root
}

// writeTestRules copies the shipped rule files (not their promtool tests)
// into dir with every group's interval set to 1s and every alert's for set
// to 0s, and returns the recording rule and alert names.
func writeTestRules(t *testing.T, src, dir string) (records, alerts []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(src, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".test.yml") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, recs, als, err := rewriteRules(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		records, alerts = append(records, recs...), append(alerts, als...)
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(records) == 0 || len(alerts) == 0 {
		t.Fatalf("%s: %d recording rules and %d alerts, want some of each", src, len(records), len(alerts))
	}
	return records, alerts
}

// rewriteRules is writeTestRules for one file.
func rewriteRules(b []byte) (out []byte, records, alerts []string, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, nil, nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, nil, nil, errors.New("not a single YAML document")
	}
	groups := mapValue(doc.Content[0], "groups")
	if groups == nil || groups.Kind != yaml.SequenceNode {
		return nil, nil, nil, errors.New("no groups list")
	}
	for _, g := range groups.Content {
		if iv := mapValue(g, "interval"); iv != nil {
			iv.Value = model.Duration(scrapeInterval).String()
		}
		rules := mapValue(g, "rules")
		if rules == nil || rules.Kind != yaml.SequenceNode {
			return nil, nil, nil, fmt.Errorf("group at line %d has no rules list", g.Line)
		}
		for _, r := range rules.Content {
			if rec := mapValue(r, "record"); rec != nil {
				records = append(records, rec.Value)
				continue
			}
			a := mapValue(r, "alert")
			if a == nil {
				return nil, nil, nil, fmt.Errorf("rule at line %d is neither a recording rule nor an alert", r.Line)
			}
			alerts = append(alerts, a.Value)
			if f := mapValue(r, "for"); f != nil {
				f.Value = "0s"
			}
		}
	}
	var buf bytes.Buffer
	buf.WriteString("# Copied by the crossteam end-to-end test from the shipped rules, with every\n" +
		"# group's interval set to 1s and every alert's for: set to 0s: the shipped\n" +
		"# durations are for production; the test checks the expressions and labels.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, nil, nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, nil, nil, err
	}
	return buf.Bytes(), records, alerts, nil
}

func TestRewriteRules(t *testing.T) {
	in := `groups:
  - name: records
    interval: 5m
    rules:
      - record: a:b:c
        expr: sum(x)
  - name: alerts
    rules:
      - alert: Slow
        expr: a:b:c > 1
        for: 1h
        labels: {severity: info}
      - alert: Now
        expr: y == 0
`
	out, records, alerts, err := rewriteRules([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(records) != "[a:b:c]" || fmt.Sprint(alerts) != "[Slow Now]" {
		t.Errorf("records %v, alerts %v", records, alerts)
	}
	var got struct {
		Groups []struct {
			Name     string `yaml:"name"`
			Interval string `yaml:"interval"`
			Rules    []struct {
				Record, Alert, Expr, For string
				Labels                   map[string]string
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	g := got.Groups
	switch {
	case len(g) != 2 || len(g[0].Rules) != 1 || len(g[1].Rules) != 2:
		t.Fatalf("groups changed shape:\n%s", out)
	case g[0].Interval != "1s" || g[1].Interval != "":
		t.Errorf("intervals %q, %q; want 1s and none (the global 1s)", g[0].Interval, g[1].Interval)
	case g[1].Rules[0].For != "0s" || g[1].Rules[1].For != "":
		t.Errorf("for %q, %q; want 0s and none", g[1].Rules[0].For, g[1].Rules[1].For)
	case g[0].Rules[0].Expr != "sum(x)" || g[1].Rules[0].Expr != "a:b:c > 1" || g[1].Rules[0].Labels["severity"] != "info":
		t.Errorf("expressions or labels changed:\n%s", out)
	}
	if !strings.HasPrefix(string(out), "# Copied by the crossteam end-to-end test") {
		t.Errorf("the copy does not say why it differs:\n%s", out)
	}
	for _, bad := range []string{"groups: 3\n", "groups:\n  - name: x\n", "groups:\n  - name: x\n    rules:\n      - expr: y\n"} {
		if _, _, _, err := rewriteRules([]byte(bad)); err == nil {
			t.Errorf("rewriteRules(%q) accepted", bad)
		}
	}
}

// mapValue is the value of key in a YAML mapping node (nil if absent).
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func writePrometheusConfig(t *testing.T, path, demoAddr, rulesDir string) {
	t.Helper()
	cfg := fmt.Sprintf(`# Written by the crossteam end-to-end test (package e2e).
global:
  scrape_interval: %[1]s
  evaluation_interval: %[1]s
# Copies of the shipped rule files in which every alert's for: is 0s and
# every group's interval is %[1]s: the shipped durations are for
# production; the test checks the expressions and labels.
rule_files:
  - %[2]q
scrape_configs:
  - job_name: %[3]q
    static_configs:
      - targets: [%[4]q]
`, model.Duration(scrapeInterval), filepath.Join(rulesDir, "*.yml"), jobName, demoAddr)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkRulesLoaded: Prometheus loaded every shipped rule, and none failed
// to evaluate (e.g. a many-to-many match, which promtool cannot see).
func checkRulesLoaded(t *testing.T, groups []ruleGroup, records, alerts []string) {
	t.Helper()
	loaded := map[string]bool{}
	for _, g := range groups {
		for _, r := range g.Rules {
			loaded[r.Type+" "+r.Name] = true
			if r.Health != "ok" {
				t.Errorf("rule %s (group %s): health %q: %s", r.Name, g.Name, r.Health, r.LastError)
			}
		}
	}
	for _, r := range records {
		if !loaded["recording "+r] {
			t.Errorf("recording rule %s not loaded by Prometheus", r)
		}
	}
	for _, a := range alerts {
		if !loaded["alerting "+a] {
			t.Errorf("alert %s not loaded by Prometheus", a)
		}
	}
	// Alerts are counted by name: CrossteamHandoffAgreementBurn is four
	// rules (fast and slow, pickup and cycle).
	names := map[string]bool{}
	for _, a := range alerts {
		names[a] = true
	}
	if want := len(records) + len(names); len(loaded) != want {
		t.Errorf("Prometheus loaded %d rules, the shipped files have %d", len(loaded), want)
	}
}

// resolveVariables gives every template variable of d a value, in order
// (later variables' queries use earlier ones), with each variable's own
// query run against Prometheus: a variable with an All option takes All,
// one without takes pick[name] or, like Grafana, its first option. opts
// are every variable's options.
func resolveVariables(ctx context.Context, p *promAPI, d *dashboard, globals map[string]string, pick map[string]string) (vals map[string]varValue, opts map[string][]string, err error) {
	vals, opts = map[string]varValue{}, map[string][]string{}
	for _, v := range d.Templating.List {
		if v.Type == "datasource" {
			continue // selects the Prometheus; never in an expression
		}
		if v.Type != "query" {
			return nil, nil, fmt.Errorf("%s: variable %s: type %q is not supported by this test", d.file, v.Name, v.Type)
		}
		q, err := v.queryText()
		if err != nil {
			return nil, nil, err
		}
		q, err = interpolate(q, vals, globals)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: variable %s: %w", d.file, v.Name, err)
		}
		var options []string
		switch {
		case labelValuesRE.MatchString(q):
			m := labelValuesRE.FindStringSubmatch(q)
			options, err = p.labelValues(ctx, m[2], m[1])
		case queryResultRE.MatchString(q):
			var res []sample
			res, err = p.query(ctx, queryResultRE.FindStringSubmatch(q)[1])
			for _, s := range res {
				options = append(options, renderSample(s))
			}
		default:
			err = fmt.Errorf("query %q: neither label_values nor query_result", q)
		}
		if err == nil {
			options, err = applyVarRegex(options, v.Regex)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: variable %s: %w", d.file, v.Name, err)
		}
		if len(options) == 0 {
			return nil, nil, fmt.Errorf("%s: variable %s: query %q gives no options", d.file, v.Name, q)
		}
		sort.Strings(options)
		opts[v.Name] = options
		val := varValue{allValue: v.AllValue, multiOrAll: v.Multi || v.IncludeAll}
		switch want := pick[v.Name]; {
		case v.IncludeAll:
			val.values, val.all = options, true
		case want != "":
			if !contains(options, want) {
				return nil, nil, fmt.Errorf("%s: variable %s: %q is not among its options %v", d.file, v.Name, want, options)
			}
			val.values = []string{want}
		default:
			val.values = options[:1]
		}
		vals[v.Name] = val
	}
	return vals, opts, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// queryOutcome is what one panel query returned.
type queryOutcome struct {
	q       panelQuery
	expr    string // interpolated
	series  int
	values  []float64 // in result order
	allNaN  bool
	problem string // "" = fine
}

// counterInWindowRE finds the counters an expression takes increase() or
// rate() of: the selector and the window.
var counterInWindowRE = regexp.MustCompile(`\b(?:increase|rate)\(\s*(crossteam_\w+(?:\{[^}]*\})?)\[([^\]]+)\]`)

// runPanelQueries runs every panel query of d with the given variables.
// A query must succeed and return series. A result whose every value is
// NaN is accepted only when the expression takes increase() or rate() of
// counters none of which moved within its window (a quantile or a ratio of
// zero increases is NaN: there is nothing to measure, and the series are
// there).
func runPanelQueries(ctx context.Context, p *promAPI, d *dashboard, vals map[string]varValue, globals map[string]string, noData map[string]string) []queryOutcome {
	var out []queryOutcome
	for _, q := range d.queries() {
		o := queryOutcome{q: q}
		expr, err := interpolate(q.expr, vals, globals)
		if err != nil {
			o.problem = err.Error()
			out = append(out, o)
			continue
		}
		o.expr = expr
		res, err := p.query(ctx, expr)
		reason, listed := noData[q.String()]
		switch {
		case err != nil:
			o.problem = "query failed: " + err.Error()
		case len(res) == 0 && !listed:
			o.problem = "no series"
		case len(res) == 0:
			// Expected: see noDataInDemo.
		case listed:
			o.problem = "returns data but is listed in noDataInDemo (" + reason + "): remove it from the list"
		default:
			o.series = len(res)
			o.allNaN = true
			for _, s := range res {
				o.values = append(o.values, s.float())
				o.allNaN = o.allNaN && math.IsNaN(s.float())
			}
			if o.allNaN {
				o.problem = explainNaN(ctx, p, expr)
			}
		}
		out = append(out, o)
	}
	return out
}

// explainNaN returns "" when an all-NaN result comes from counters that
// have series but did not change within the expression's windows, else
// the reason it is a problem.
func explainNaN(ctx context.Context, p *promAPI, expr string) string {
	ms := counterInWindowRE.FindAllStringSubmatch(expr, -1)
	if len(ms) == 0 {
		return "every value is NaN, and it takes no increase() or rate() of a counter"
	}
	for _, m := range ms {
		res, err := p.query(ctx, fmt.Sprintf(`max(changes(%s[%s]))`, m[1], m[2]))
		if err != nil || len(res) != 1 {
			return fmt.Sprintf("every value is NaN; counter %s: %d results, %v", m[1], len(res), err)
		}
		if res[0].float() != 0 {
			return fmt.Sprintf("every value is NaN although counter %s changed within [%s]", m[1], m[2])
		}
	}
	return ""
}

// checkPanelChecker runs runPanelQueries on a made-up board against the
// same Prometheus: each kind of broken query must be reported.
func checkPanelChecker(ctx context.Context, t *testing.T, p *promAPI) {
	const job = `{job=~"$job"}`
	// nan-moving needs a counter that moved: the demo's API requests.
	waitUntil(t, "the demo's API request counter moving", func() (bool, string) {
		res, err := p.query(ctx, fmt.Sprintf(`max(changes(crossteam_api_requests_total{job=%q}[1h])) > 0`, jobName))
		return err == nil && len(res) == 1, fmt.Sprintf("%v %v", res, err)
	})
	d := &dashboard{file: "made-up.json", Panels: []panel{{Title: "row", Panels: []panel{{Title: "p", Targets: []target{
		{RefID: "ok", Expr: `sum(crossteam_handoffs_open` + job + `)`},
		{RefID: "parse", Expr: `sum(crossteam_handoffs_open` + job},
		{RefID: "empty", Expr: `crossteam_no_such_metric` + job},
		{RefID: "undefined", Expr: `crossteam_handoffs_open{job=~"$nope"}`},
		{RefID: "nan-gauge", Expr: `sum(crossteam_handoffs_open` + job + `) * 0 / 0`},
		{RefID: "nan-moving", Expr: `sum(increase(crossteam_api_requests_total` + job + `[1m])) * 0 / 0`},
		{RefID: "nan-flat", Expr: `sum(increase(crossteam_handoffs_total` + job + `[1m])) / 0 * 0`},
		{RefID: "listed-empty", Expr: `crossteam_no_such_metric` + job},
		{RefID: "listed-data", Expr: `sum(crossteam_handoffs_open` + job + `)`},
	}}}}}}
	vals := map[string]varValue{"job": {values: []string{jobName}, all: true, allValue: ".*", multiOrAll: true}}
	noData := map[string]string{
		`made-up.json / "p" / listed-empty`: "made up",
		`made-up.json / "p" / listed-data`:  "made up",
	}
	want := map[string]string{ // refID -> part of the problem ("" = none)
		"ok":           "",
		"parse":        "query failed: /api/v1/query: bad_data",
		"empty":        "no series",
		"undefined":    "undefined variable $nope",
		"nan-gauge":    "takes no increase() or rate()",
		"nan-moving":   "changed within [1m]",
		"nan-flat":     "",
		"listed-empty": "",
		"listed-data":  "listed in noDataInDemo",
	}
	got := runPanelQueries(ctx, p, d, vals, builtins(time.Hour, scrapeInterval), noData)
	if len(got) != len(want) {
		t.Fatalf("%d outcomes for %d queries", len(got), len(want))
	}
	for _, o := range got {
		w := want[o.q.refID]
		if (w == "") != (o.problem == "") || !strings.Contains(o.problem, w) {
			t.Errorf("%s: problem %q, want one containing %q", o.q.refID, o.problem, w)
		}
	}
}

// checkDashboards runs every panel query of every board; expect holds the
// ground-truth value of some single-number panels ("board / panel / refId"
// -> value given the board's single-value variable, e.g. the team).
func checkDashboards(ctx context.Context, t *testing.T, p *promAPI, dir string, expect map[string]func(team string) float64) {
	checked := map[string]bool{}
	boards := loadDashboards(t, dir)
	total, nan := 0, 0
	for _, d := range boards {
		rng, err := d.rangeDuration()
		if err != nil {
			t.Error(err)
			continue
		}
		globals := builtins(rng, scrapeInterval)
		vals, opts, err := resolveVariables(ctx, p, d, globals, nil)
		if err != nil {
			t.Error(err)
			continue
		}
		// The variables list what the demo has: its job, its teams.
		teams := sim.Small().Teams
		for name, o := range opts {
			switch name {
			case "job":
				if len(o) != 1 || o[0] != jobName {
					t.Errorf("%s: variable job options %v, want [%s]", d.file, o, jobName)
				}
			case "team", "from_team", "to_team":
				for _, x := range o {
					if !contains(teams, x) {
						t.Errorf("%s: variable %s option %q is not a team of the demo %v", d.file, name, x, teams)
					}
				}
			}
		}
		// A variable without All (the team board's team) is tried with
		// each of its options; the board passes with the first option for
		// which every panel has data: a real team with something in every
		// panel. Other options may have empty panels (a team that owns no
		// signal item has no signal rows).
		var single []string
		for _, v := range d.Templating.List {
			if v.Type == "query" && !v.IncludeAll && d.uses(v.Name) {
				single = append(single, v.Name)
			}
		}
		if len(single) > 1 {
			t.Errorf("%s: variables %v have no All option; this test tries the options of one such variable only", d.file, single)
			continue
		}
		var outcomes []queryOutcome
		chosen := ""
		if len(single) == 0 {
			outcomes = runPanelQueries(ctx, p, d, vals, globals, noDataInDemo)
		} else {
			name := single[0]
			var best []queryOutcome
			bestProblems := -1
			for _, opt := range opts[name] {
				vals, _, err := resolveVariables(ctx, p, d, globals, map[string]string{name: opt})
				if err != nil {
					t.Error(err)
					break
				}
				got := runPanelQueries(ctx, p, d, vals, globals, noDataInDemo)
				n := 0
				var empty []string
				for _, o := range got {
					if o.problem != "" {
						n++
						empty = append(empty, fmt.Sprintf("%q: %s", o.q.panel, o.problem))
					}
				}
				if n > 0 {
					t.Logf("%s with %s=%s: %d panel queries without data: %s", d.file, name, opt, n, strings.Join(empty, "; "))
				}
				if bestProblems < 0 || n < bestProblems {
					best, bestProblems, chosen = got, n, opt
				}
				if n == 0 {
					break
				}
			}
			t.Logf("%s: %s=%s", d.file, name, chosen)
			outcomes = best
		}
		for _, o := range outcomes {
			total++
			if o.allNaN && o.problem == "" {
				nan++
				t.Logf("%s: NaN only (no counter in it moved within its window): %s", o.q, o.expr)
			}
			if o.problem != "" {
				t.Errorf("%s: %s\n  expr: %s", o.q, o.problem, o.expr)
			}
			if f, ok := expect[o.q.String()]; ok {
				checked[o.q.String()] = true
				if want := f(chosen); len(o.values) != 1 || o.values[0] != want {
					t.Errorf("%s = %v, the ground truth says %g\n  expr: %s", o.q, o.values, want, o.expr)
				}
			}
		}
	}
	for k := range expect {
		if !checked[k] {
			t.Errorf("no panel query %s (renamed? update panelTruth)", k)
		}
	}
	if total == 0 {
		t.Fatal("no panel queries in the dashboards")
	}
	t.Logf("%d panel queries in %d dashboards returned series; %d of them only NaN", total, len(boards), nan)
}

// windowWithinStep reports whether a recording rule's name ends in a
// window (_1d, _2d, ...) no longer than backfillStep.
func windowWithinStep(record string) bool {
	i := strings.LastIndex(record, "_")
	d, err := model.ParseDuration(record[i+1:])
	return i >= 0 && err == nil && time.Duration(d) <= backfillStep
}

func checkRecordingRules(ctx context.Context, t *testing.T, p *promAPI, records []string) {
	for _, r := range records {
		res, err := p.query(ctx, r)
		if err != nil {
			t.Errorf("%s: %v", r, err)
			continue
		}
		if len(res) == 0 {
			t.Errorf("recording rule %s has no series", r)
			continue
		}
		nan := 0
		for _, s := range res {
			if math.IsNaN(s.float()) {
				nan++
			}
		}
		// With the backfilled months, some team pair had pickups and
		// completions in every window — except windows no longer than the
		// backfill step: the history has a sample every backfillStep and
		// the demo's clock is frozen, so increase() over 1d or 2d sees no
		// new handoff (the promtool unit tests cover those windows).
		if nan == len(res) && !windowWithinStep(r) {
			t.Errorf("recording rule %s: every one of its %d series is NaN", r, len(res))
		}
		t.Logf("%s: %d series (%d NaN)", r, len(res), nan)
	}
}

// stalledKey identifies a stalled handoff by the labels the exposition and
// the alert carry.
type stalledKey struct {
	source, key, kind, from, to, url, title string
}

func (k stalledKey) String() string {
	return fmt.Sprintf("%s %s (%s) %s->%s %s %q", k.source, k.key, k.kind, k.from, k.to, k.url, k.title)
}

func keyOfLabels(l map[string]string) stalledKey {
	return stalledKey{l["source"], l["key"], l["kind"], l["from_team"], l["to_team"], l["url"], l["title"]}
}

// demoWorld is what the test knows about the running demo: its clock, its
// generated configuration, its /metrics, and the simulated world
// regenerated from the same seed at the same clock (the ground truth).
type demoWorld struct {
	now     time.Time
	cfg     *config.Config
	cfgPath string
	params  sim.Params
	world   *sim.World
	live    map[string]*dto.MetricFamily
}

func loadDemoWorld(ctx context.Context, t *testing.T, demoURL, summary string) *demoWorld {
	t.Helper()
	dw := &demoWorld{}
	code, body, err := httpGet(ctx, demoURL+"/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("demo /metrics: %d %v", code, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	if dw.live, err = parser.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	// The demo's clock: its snapshot's asOf, a hair after its Now.
	ts := dw.live["crossteam_snapshot_timestamp_seconds"].GetMetric()
	if len(ts) != 1 {
		t.Fatalf("demo /metrics: %d crossteam_snapshot_timestamp_seconds series, want 1", len(ts))
	}
	asOfSec := ts[0].GetGauge().GetValue()
	dw.now = time.Unix(int64(math.Floor(asOfSec)), 0).UTC()
	if frac := asOfSec - math.Floor(asOfSec); frac > 0.01 {
		t.Fatalf("snapshot asOf %f is %.3fs past a second: the demo's clock is not frozen (--demo.speed=%s)", asOfSec, frac, demoSpeed)
	}

	// The demo's generated configuration (the summary names it).
	m := regexp.MustCompile(`(?m)^\s+config\s+(\S+)$`).FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("the demo summary names no config file:\n%s", summary)
	}
	dw.cfgPath = m[1]
	if dw.cfg, err = config.Load(m[1]); err != nil {
		t.Fatalf("demo config: %v", err)
	}

	dw.params = sim.Small()
	dw.params.Seed, dw.params.Now = demoSeed, dw.now
	if dw.world, err = sim.Generate(dw.params); err != nil {
		t.Fatal(err)
	}
	if len(dw.cfg.Sources.Jira) > 0 {
		// The truth's Jira links point at the demo's fake Jira.
		dw.world.SetJiraURL(dw.cfg.Sources.Jira[0].URL)
	}
	// The same world as the demo's: as many items per source as it synced.
	for src, n := range dw.world.Counts().ItemsBySource {
		if !regexp.MustCompile(`(?m)^\s+` + src + `\s+` + strconv.Itoa(n) + ` items`).MatchString(summary) {
			t.Fatalf("regenerated world (seed %d, now %s) has %d %s items; the demo summary says otherwise:\n%s", demoSeed, dw.now.Format(time.RFC3339), n, src, summary)
		}
	}
	return dw
}

// panelTruth gives the ground-truth value of the boards' single-number
// handoff panels, counted from the simulator's handoffs at the demo's
// clock.
func panelTruth(dw *demoWorld) map[string]func(team string) float64 {
	hs := dw.world.Handoffs(dw.now)
	count := func(keep func(h sim.Handoff) bool) float64 {
		n := 0
		for _, h := range hs {
			if keep(h) {
				n++
			}
		}
		return float64(n)
	}
	open := func(h sim.Handoff) bool { return h.Done.IsZero() }
	stalled := count(func(h sim.Handoff) bool { return h.Stalled })
	out := recordPanelTruth(dw) // records_test.go
	for k, v := range map[string]func(string) float64{
		`overview.json / "Handoffs stalled now" / A`: func(string) float64 { return stalled },
		`overview.json / "Stalled but not listed" / A`: func(string) float64 {
			return stalled - float64(dw.cfg.Handoffs.MaxStalledExported)
		},
		`overview.json / "Waiting for pickup" / A`: func(string) float64 {
			return count(func(h sim.Handoff) bool { return open(h) && h.Pickup.IsZero() })
		},
		`overview.json / "In progress" / A`: func(string) float64 {
			return count(func(h sim.Handoff) bool { return open(h) && !h.Pickup.IsZero() })
		},
		`team.json / "Waiting on $team" / A`: func(team string) float64 {
			return count(func(h sim.Handoff) bool { return open(h) && h.To == team })
		},
		`team.json / "Stalled on $team" / A`: func(team string) float64 {
			return count(func(h sim.Handoff) bool { return h.Stalled && h.To == team })
		},
		`team.json / "Sent by $team, open elsewhere" / A`: func(team string) float64 {
			return count(func(h sim.Handoff) bool { return open(h) && h.From == team })
		},
		`team.json / "Sent by $team, stalled elsewhere" / A`: func(team string) float64 {
			return count(func(h sim.Handoff) bool { return h.Stalled && h.From == team })
		},
	} {
		out[k] = v
	}
	return out
}

// checkStalledAlert compares three lists of the stalled handoffs: the
// simulator's ground truth (regenerated from the demo's seed at its clock),
// the demo's /metrics, and the firing CrossteamHandoffStalled alerts.
func checkStalledAlert(ctx context.Context, t *testing.T, p *promAPI, dw *demoWorld) {
	now, w, params := dw.now, dw.world, dw.params
	exportCap := dw.cfg.Handoffs.MaxStalledExported
	items := map[[2]string][2]string{} // (source, key) -> (url, title)
	for _, it := range w.Dataset().Items {
		items[[2]string{it.Source, it.Key}] = [2]string{it.URL, it.Title}
	}
	var truth []sim.Handoff
	for _, h := range w.Handoffs(now) {
		if h.Stalled {
			truth = append(truth, h)
			if !h.StalledByDesign {
				t.Errorf("truth: %s %s->%s is stalled but was not designed to be", h.ItemKey, h.From, h.To)
			}
		}
	}
	if want := params.StalledNow + params.JiraStalledNow; len(truth) != want {
		t.Errorf("truth: %d stalled handoffs, want the %d the simulator designs", len(truth), want)
	}
	// The engine exports the longest idle first, up to the cap.
	sort.SliceStable(truth, func(i, j int) bool {
		a, b := truth[i], truth[j]
		if a.Idle != b.Idle {
			return a.Idle > b.Idle
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.ItemKey != b.ItemKey {
			return a.ItemKey < b.ItemKey
		}
		return a.Kind < b.Kind
	})
	if exportCap >= len(truth) || exportCap < 1 {
		t.Fatalf("demo config max_stalled_exported = %d with %d stalled: the demo is meant to leave some unexported", exportCap, len(truth))
	}
	want := map[stalledKey]float64{} // -> idle seconds
	for _, h := range truth[:exportCap] {
		it, ok := items[[2]string{h.Source, h.ItemKey}]
		if !ok {
			t.Fatalf("truth: stalled handoff on unknown item %s %s", h.Source, h.ItemKey)
		}
		want[stalledKey{h.Source, h.ItemKey, h.Kind, h.From, h.To, it[0], it[1]}] = h.Idle.Seconds()
	}

	// The demo's own exposition.
	// stalledGauge reads a per-handoff gauge of the demo's /metrics by key.
	stalledGauge := func(name string, value func(float64) float64) map[stalledKey]float64 {
		out := map[stalledKey]float64{}
		for _, s := range dw.live[name].GetMetric() {
			l := map[string]string{}
			for _, lp := range s.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			out[keyOfLabels(l)] = value(s.GetGauge().GetValue())
		}
		return out
	}
	compareStalled(t, "demo /metrics crossteam_stalled_handoff_idle_seconds",
		stalledGauge("crossteam_stalled_handoff_idle_seconds", func(v float64) float64 { return v }), want)
	// The timestamp the boards and the alert read: now minus the idle time.
	compareStalled(t, "demo /metrics now - crossteam_stalled_handoff_idle_since_timestamp_seconds",
		stalledGauge("crossteam_stalled_handoff_idle_since_timestamp_seconds", func(v float64) float64 { return float64(now.Unix()) - v }), want)

	// ALERTS: one firing series per exported stalled handoff, no other.
	res, err := p.query(ctx, `ALERTS{alertname="CrossteamHandoffStalled", alertstate="firing"}`)
	if err != nil {
		t.Fatal(err)
	}
	fired := map[stalledKey]float64{}
	for _, s := range res {
		k := keyOfLabels(s.Metric)
		if _, dup := fired[k]; dup {
			t.Errorf("ALERTS: two series for %s", k)
		}
		fired[k] = math.NaN() // ALERTS' value is 1; the idle time is checked below
	}
	compareStalled(t, "ALERTS{alertname=\"CrossteamHandoffStalled\",alertstate=\"firing\"}", fired, want)

	// The alerts API: the value and the annotations a person reads.
	als, err := p.alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	active := map[stalledKey]float64{}
	for _, a := range als {
		if a.Labels["alertname"] != "CrossteamHandoffStalled" {
			continue
		}
		k := keyOfLabels(a.Labels)
		v, err := strconv.ParseFloat(a.Value, 64)
		if err != nil {
			t.Errorf("alert %s: value %q: %v", k, a.Value, err)
		}
		// The alert computes time() - idle_since at its evaluation, on
		// Prometheus' wall clock, while the demo's clock is frozen at now:
		// the value is the truth plus the time since now, at most the time
		// elapsed until this check.
		if tr, ok := want[k]; ok && v >= tr && v-tr <= time.Since(now).Seconds()+1 {
			v = tr
		}
		active[k] = v
		if a.State != "firing" {
			t.Errorf("alert %s: state %s, want firing (for: is 0s in the test)", k, a.State)
		}
		if d := a.Annotations["description"]; !strings.Contains(d, k.url) || !strings.Contains(d, k.key) || !strings.Contains(d, k.to) {
			t.Errorf("alert %s: description %q lacks the key, link or receiving team", k, d)
		}
	}
	compareStalled(t, "/api/v1/alerts CrossteamHandoffStalled", active, want)

	// The stalled handoffs left out by the cap are counted, and the
	// per-pair stalled gauge covers all of them.
	checkValue(ctx, t, p, fmt.Sprintf(`sum(crossteam_stalled_handoffs_unexported{job=%q})`, jobName), float64(len(truth)-exportCap))
	checkValue(ctx, t, p, fmt.Sprintf(`sum(crossteam_handoffs_stalled{job=%q})`, jobName), float64(len(truth)))
	pairs := map[string]int{}
	for _, h := range truth {
		pairs[h.Source+" "+h.From+"->"+h.To]++
	}
	res, err = p.query(ctx, fmt.Sprintf(`crossteam_handoffs_stalled{job=%q} > 0`, jobName))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, s := range res {
		got[s.Metric["source"]+" "+s.Metric["from_team"]+"->"+s.Metric["to_team"]] = int(s.float())
	}
	if fmt.Sprint(got) != fmt.Sprint(pairs) {
		t.Errorf("crossteam_handoffs_stalled by pair = %v, truth %v", got, pairs)
	}
	t.Logf("%d stalled handoffs in the truth at %s, %d exported and firing, %d counted as unexported", len(truth), now.Format(time.RFC3339), exportCap, len(truth)-exportCap)
}

// compareStalled checks got against want: the same handoffs, and idle
// seconds within 1s where got has a value (NaN: no value to compare).
func compareStalled(t *testing.T, what string, got, want map[stalledKey]float64) {
	t.Helper()
	for _, d := range stalledDiff(got, want) {
		t.Errorf("%s: %s", what, d)
	}
}

func stalledDiff(got, want map[stalledKey]float64) []string {
	var out []string
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("lacks stalled handoff %s", k))
		case !math.IsNaN(g) && math.Abs(g-v) > 1:
			out = append(out, fmt.Sprintf("%s idle %.0fs, truth %.0fs", k, g, v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("has %s, which the truth does not export as stalled", k))
		}
	}
	sort.Strings(out)
	return out
}

func TestStalledDiff(t *testing.T) {
	a := stalledKey{"github", "acme/web#1", "owner", "qa", "sre", "https://github.com/acme/web/issues/1", "Fix it"}
	b := stalledKey{"jira", "CORE-2", "owner", "sre", "qa", "http://127.0.0.1:1/browse/CORE-2", "Do it"}
	bOtherTeam := b
	bOtherTeam.to = "design"
	want := map[stalledKey]float64{a: 100, b: 200}
	tests := []struct {
		name string
		got  map[stalledKey]float64
		want []string
	}{
		{"equal", map[stalledKey]float64{a: 100.4, b: 199.5}, nil},
		{"no values to compare", map[stalledKey]float64{a: math.NaN(), b: math.NaN()}, nil},
		{"missing", map[stalledKey]float64{a: 100}, []string{"lacks stalled handoff " + b.String()}},
		{"extra", map[stalledKey]float64{a: 100, b: 200, bOtherTeam: 200}, []string{"has " + bOtherTeam.String() + ", which the truth does not export as stalled"}},
		{"idle off", map[stalledKey]float64{a: 102, b: 200}, []string{a.String() + " idle 102s, truth 100s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := stalledDiff(tc.got, want); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("stalledDiff = %q, want %q", got, tc.want)
			}
		})
	}
}

func checkValue(ctx context.Context, t *testing.T, p *promAPI, expr string, want float64) {
	t.Helper()
	res, err := p.query(ctx, expr)
	if err != nil || len(res) != 1 {
		t.Errorf("%s: %d results, %v", expr, len(res), err)
		return
	}
	if got := res[0].float(); got != want {
		t.Errorf("%s = %g, want %g", expr, got, want)
	}
}
