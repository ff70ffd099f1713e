package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/crossteam/crossteam/backfill"
	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/screenshots"
	"github.com/crossteam/crossteam/sim"
)

// TestBoardQueryTimes (make bench-boards) measures what the boards cost at
// a year of history: a simulated organisation of CROSSTEAM_BENCH_TEAMS
// teams (default 20) over a year and the 28 days before it is backfilled
// into a real Prometheus, the shipped trend recording rules are evaluated
// by that Prometheus over the whole span at their groups' intervals and
// loaded as blocks (what `promtool tsdb create-blocks-from rules` does, in
// blocks of weeks instead of its 2-hour ones), and every panel query of
// every board runs over the last 90 days and the last year as Grafana
// sends it: range queries at the step Grafana computes from the panel's
// maxDataPoints (1,000 when unset: a full-width panel) and interval,
// aligned to it, instant queries once, with $__range the panel's range and
// the variables resolved at the benchmark's now. It reports each board's total
// time (the median of three runs) and fails on a failed query or when a
// board's queries together take CROSSTEAM_BENCH_BOARD_BUDGET (default 2s)
// or more over a year.
//
// The raw series are backfilled every CROSSTEAM_BENCH_STEP (default 1d),
// not every 30 s scrape (a year of those would be a billion samples), and
// Prometheus runs with --query.lookback-delta at that step so that gauge
// panels find a raw sample at every step. Trend panels read only the
// recorded series, whose density (6h, 1d) is the production one.
func TestBoardQueryTimes(t *testing.T) {
	if os.Getenv("CROSSTEAM_BENCH_BOARDS") == "" {
		t.Skip("set CROSSTEAM_BENCH_BOARDS=1 (make bench-boards): backfills a year at 20 teams, about half an hour")
	}
	prometheus := requireTool(t, "prometheus")
	promtool := requireTool(t, "promtool")
	root := moduleRoot(t)
	tmp := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	teams := envInt(t, "CROSSTEAM_BENCH_TEAMS", 20)
	days := envInt(t, "CROSSTEAM_BENCH_DAYS", 365)
	step := envDuration(t, "CROSSTEAM_BENCH_STEP", 24*time.Hour)
	budget := envDuration(t, "CROSSTEAM_BENCH_BOARD_BUDGET", 2*time.Second)
	span := time.Duration(days+28) * 24 * time.Hour
	now := time.Now().UTC().Truncate(time.Hour)
	load0 := loadAvg()

	// 1. The world, its configuration and its history as OpenMetrics.
	began := time.Now()
	p := sim.Large()
	p.Now = now
	p.Months = int(math.Ceil(span.Hours()/24/30)) + 1
	p.Teams = nil
	for i := range teams {
		p.Teams = append(p.Teams, fmt.Sprintf("team%02d", i+1))
	}
	p.MembersPerTeam = 4
	p.Repos, p.ItemsPerRepo = 10, 1500
	p.JiraProjects, p.JiraIssuesPerProject = 2, 2500
	p.Noise = 0
	world, err := sim.Generate(p)
	if err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(tmp, "token")
	if err := os.WriteFile(token, []byte("unused"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(tmp, "crossteam.yml")
	cfgText := world.Config(sim.ConfigOptions{GitHubURL: "http://127.0.0.1:9/", TokenFile: token,
		JiraURL: "http://127.0.0.1:9/", JiraTokenFile: token, StorePath: filepath.Join(tmp, "unused.db")})
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	counts := world.Counts()
	om := filepath.Join(tmp, "history.om")
	f, err := os.Create(om)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	labels := map[string]string{"job": jobName, "instance": "bench:19280"}
	st, err := backfill.Write(w, cfg, world.Dataset(), backfill.Options{From: now.Add(-span), To: now, Step: step, Labels: labels})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("world: %d teams, items by source %v; backfill: %d instants every %s, %d samples (%d per instant) in %s",
		teams, counts.ItemsBySource, st.Instants, step, st.Samples, st.Samples/max(1, st.Instants), time.Since(began).Round(time.Second))

	// The boards' job and instance variables list crossteam_build_info,
	// which the exporter serves live (not a backfilled metric): give it the
	// same history.
	bi := filepath.Join(tmp, "build_info.om")
	var bb strings.Builder
	bb.WriteString("# TYPE crossteam_build_info gauge\n")
	for at := now.Add(-span); at.Before(now); at = at.Add(step) {
		fmt.Fprintf(&bb, "crossteam_build_info{goversion=\"go\",instance=%q,job=%q,revision=\"bench\",version=\"bench\"} 1 %d\n", labels["instance"], labels["job"], at.Unix())
	}
	bb.WriteString("# EOF\n")
	if err := os.WriteFile(bi, []byte(bb.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	dataDir := filepath.Join(tmp, "prometheus-data")
	createBlocks(t, promtool, bi, dataDir)
	began = time.Now()
	createBlocks(t, promtool, om, dataDir)
	t.Logf("promtool loaded the raw history in %s", time.Since(began).Round(time.Second))
	os.Remove(om)

	// 2. Prometheus over it, retention covering the span.
	startProm := func() (*process, *promAPI) { // one Prometheus for the whole run
		addr := freeAddr(t)
		promCfg := filepath.Join(tmp, "prometheus.yml")
		if err := os.WriteFile(promCfg, []byte("global:\n  scrape_interval: 30s\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		proc := startProcess(t, tmp, "prometheus", nil, prometheus,
			"--config.file="+promCfg, "--storage.tsdb.path="+dataDir,
			"--storage.tsdb.retention.time="+model.Duration(span+30*24*time.Hour).String(),
			"--query.lookback-delta="+model.Duration(step+time.Hour).String(),
			"--web.listen-address="+addr, "--log.level=warn")
		api := &promAPI{base: "http://" + addr}
		waitUntil(t, "Prometheus ready", func() (bool, string) {
			code, _, err := httpGet(ctx, api.base+"/-/ready")
			return err == nil && code == http.StatusOK, fmt.Sprintf("/-/ready: %d %v", code, err)
		}, proc)
		return proc, api
	}
	_, prom := startProm()

	// 3. The trend rules evaluated over the year at their intervals.
	began = time.Now()
	recorded := loadRecordedTrends(ctx, t, prom, promtool, root, dataDir, tmp, now.Add(-time.Duration(days)*24*time.Hour), now)
	t.Logf("recorded %d trend rules over %d days and loaded them in %s", recorded, days, time.Since(began).Round(time.Second))

	// Prometheus compacts the overlapping blocks (raw and recorded) in
	// the background; measure once it is done: no compaction for two
	// cycles in a row.
	waitCompacted(ctx, t, prom)

	// 4. Every board's queries over 90 days and a year.
	boards := loadDashboards(t, filepath.Join(root, "dashboards", "json"))
	type result struct {
		board  string
		ranges map[string]time.Duration
		series map[string]int
		slow   map[string]string
	}
	var results []result
	rangesList := []struct {
		name string
		d    time.Duration
	}{{"90d", 90 * 24 * time.Hour}, {"1y", time.Duration(days) * 24 * time.Hour}}
	for _, d := range boards {
		r := result{board: d.file, ranges: map[string]time.Duration{}, series: map[string]int{}, slow: map[string]string{}}
		for _, rg := range rangesList {
			globals := builtins(rg.d, 30*time.Second)
			at, closeAt := promAt(t, prom, now, rg.d)
			vals, _, err := resolveVariables(ctx, at, d, globals, nil)
			closeAt()
			if err != nil {
				t.Errorf("%s over %s: %v", d.file, rg.name, err)
				continue
			}
			var runs []time.Duration
			for run := 0; run < 3; run++ {
				var total, slowest time.Duration
				n := 0
				for _, pq := range benchQueries(t, d) {
					expr, err := interpolate(pq.expr, vals, builtins(pq.rangeFor(rg.d, now), 30*time.Second))
					if err != nil {
						t.Fatalf("%s: %v", pq.q, err)
					}
					took, series, err := prom.timedQuery(ctx, expr, pq.instant, now, pq.rangeFor(rg.d, now), pq.step(pq.rangeFor(rg.d, now)))
					if err != nil {
						t.Errorf("%s over %s: %v", pq.q, rg.name, err)
						continue
					}
					total += took
					n += series
					if run == 0 && took > 500*time.Millisecond {
						t.Logf("slow: %s over %s: %s, %d series: %s", pq.q, rg.name, took.Round(time.Millisecond), series, expr)
					}
					if took > slowest {
						slowest = took
						r.slow[rg.name] = fmt.Sprintf("%s (%s)", pq.q.panel, took.Round(time.Millisecond))
					}
				}
				runs = append(runs, total)
				r.series[rg.name] = n
			}
			sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
			r.ranges[rg.name] = runs[len(runs)/2]
		}
		results = append(results, r)
	}

	// 5. The report.
	load1 := loadAvg()
	var b strings.Builder
	long := "1 year"
	if days != 365 {
		long = fmt.Sprintf("%d days", days)
	}
	fmt.Fprintf(&b, "Board queries at %d teams over %s (`make bench-boards`, %s): raw history every %s (%d samples), trend rules recorded at their intervals; median of 3 runs, queries one after another; load average %s at the start, %s at the end.\n\n",
		teams, long, now.Format("2006-01-02"), step, st.Samples, load0, load1)
	fmt.Fprintf(&b, "| board | 90 days | %[1]s | series returned (%[1]s) | slowest query (%[1]s) |\n|---|---|---|---|---|\n", long)
	var sum90, sumY time.Duration
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s |\n", r.board, r.ranges["90d"].Round(time.Millisecond), r.ranges["1y"].Round(time.Millisecond), r.series["1y"], r.slow["1y"])
		sum90 += r.ranges["90d"]
		sumY += r.ranges["1y"]
		if r.ranges["1y"] >= budget {
			t.Errorf("%s: its queries take %s over %s, budget %s", r.board, r.ranges["1y"].Round(time.Millisecond), long, budget)
		}
	}
	fmt.Fprintf(&b, "| all boards | %s | %s | | |\n", sum90.Round(time.Millisecond), sumY.Round(time.Millisecond))
	t.Logf("\n%s", b.String())
	if out := os.Getenv("CROSSTEAM_BENCH_OUT"); out != "" {
		if err := replaceSection(out, "<!-- bench-boards:begin -->", "<!-- bench-boards:end -->", b.String()); err != nil {
			t.Error(err)
		}
	}
	if os.Getenv("CROSSTEAM_BENCH_KEEP") != "" {
		t.Logf("Prometheus keeps running at %s until the test ends", prom.base)
	}
}

// benchQuery is one panel query and how Grafana sends it.
type benchQuery struct {
	q             panelQuery
	expr          string
	instant       bool
	timeFrom      string        // the panel's relative time ("now/fQ"), or ""
	minInterval   time.Duration // the panel's interval (a minimum step), or 0
	maxDataPoints float64       // the panel's maxDataPoints, or 0
}

// step is the step Grafana sends for a range query over rng: the range
// divided by the panel's maxDataPoints (1,000 when unset: a full-width
// panel), rounded as Grafana rounds it (screenshots.RoundInterval), never below the
// panel's interval.
func (b benchQuery) step(rng time.Duration) time.Duration {
	mdp := b.maxDataPoints
	if mdp <= 0 {
		mdp = 1000
	}
	iv := screenshots.RoundInterval(time.Duration(float64(rng) / mdp))
	if iv < b.minInterval {
		iv = b.minInterval
	}
	return max(iv, time.Minute)
}

// rangeFor is the time range the query covers when the board shows d.
func (b benchQuery) rangeFor(d time.Duration, now time.Time) time.Duration {
	if b.timeFrom == "now/fQ" { // this quarter so far
		y, m, _ := now.Date()
		start := time.Date(y, time.Month((int(m)-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
		return now.Sub(start)
	}
	return d
}

// benchQueries reads the instant flags and relative times that the e2e
// dashboard model leaves out.
func benchQueries(t *testing.T, d *dashboard) []benchQuery {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "dashboards", "json", d.file))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Panels []struct {
			Title         string  `json:"title"`
			Type          string  `json:"type"`
			TimeFrom      string  `json:"timeFrom"`
			Interval      string  `json:"interval"`
			MaxDataPoints float64 `json:"maxDataPoints"`
			Targets       []struct {
				RefID   string `json:"refId"`
				Expr    string `json:"expr"`
				Instant bool   `json:"instant"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	var out []benchQuery
	for _, p := range raw.Panels {
		var minIv time.Duration
		if p.Interval != "" {
			iv, err := model.ParseDuration(p.Interval)
			if err != nil {
				t.Fatalf("%s: panel %q: interval %q: %v", d.file, p.Title, p.Interval, err)
			}
			minIv = time.Duration(iv)
		}
		for _, tg := range p.Targets {
			out = append(out, benchQuery{q: panelQuery{board: d.file, panel: p.Title, refID: tg.RefID, expr: tg.Expr},
				expr: tg.Expr, instant: tg.Instant, timeFrom: p.TimeFrom, minInterval: minIv, maxDataPoints: p.MaxDataPoints})
		}
	}
	return out
}

// timedQuery runs expr as Grafana would (instant at now, or a range query
// over rng at step, start and end aligned to the step as Grafana's
// Prometheus data source aligns them) and returns the wall time and series
// count.
func (p *promAPI) timedQuery(ctx context.Context, expr string, instant bool, now time.Time, rng, step time.Duration) (time.Duration, int, error) {
	params := url.Values{"query": {expr}}
	path := "/api/v1/query"
	if instant {
		params.Set("time", strconv.FormatInt(now.Unix(), 10))
	} else {
		path = "/api/v1/query_range"
		stepS := int64(step / time.Second)
		params.Set("start", strconv.FormatInt(now.Add(-rng).Unix()/stepS*stepS, 10))
		params.Set("end", strconv.FormatInt(now.Unix()/stepS*stepS, 10))
		params.Set("step", strconv.FormatInt(stepS, 10))
	}
	began := time.Now()
	data, err := p.slowGet(ctx, path, params)
	took := time.Since(began)
	if err != nil {
		return took, 0, err
	}
	var d struct {
		Result []json.RawMessage `json:"result"`
	}
	_ = json.Unmarshal(data, &d) // a scalar result counts as no series
	return took, len(d.Result), nil
}

// loadRecordedTrends gives the shipped trend rules their history: the
// rules the boards read, and the rules those read, evaluated over [from,
// to] at each group's interval (recordTrends), in two passes: first the
// rules on raw series, loaded into the running Prometheus' data directory;
// then the rules reading those records (per-pair quantiles, per-to_team
// sums), as Prometheus evaluates a group in order. It returns the number of
// rules recorded.
func loadRecordedTrends(ctx context.Context, t *testing.T, prom *promAPI, promtool, root, dataDir, tmp string, from, to time.Time) int {
	t.Helper()
	passes := trendPasses(t, filepath.Join(root, "dashboards", "rules", "crossteam.rules.yml"), filepath.Join(root, "dashboards", "json"))
	n := 0
	for i, rules := range passes {
		om := filepath.Join(tmp, fmt.Sprintf("rules%d.om", i+1))
		began := time.Now()
		counts := recordTrends(ctx, t, prom, rules, from, to, om)
		createBlocks(t, promtool, om, dataDir)
		os.Remove(om)
		n += len(rules)
		// Prometheus opens new blocks in its data directory at its next
		// compaction cycle (every minute).
		probe := ""
		for _, r := range rules {
			if probe == "" && counts[r.record] > 0 {
				probe = r.record
			}
		}
		if probe == "" {
			t.Fatalf("pass %d: no rule recorded any series", i+1)
		}
		check := fmt.Sprintf("count(last_over_time(%s[%s] @ %d))", probe, model.Duration(to.Sub(from)), to.Unix())
		for deadline := time.Now().Add(5 * time.Minute); ; {
			if v, err := prom.query(ctx, check); err == nil && len(v) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Prometheus did not load the recorded blocks within 5 minutes (%s)", check)
			}
			time.Sleep(2 * time.Second)
		}
		t.Logf("pass %d: recorded %d rules and loaded them in %s", i+1, len(rules), time.Since(began).Round(time.Second))
	}
	return n
}

// trendRule is one recording rule of a trend group and its group's
// interval.
type trendRule struct {
	record, expr string
	interval     time.Duration
}

var recordedNameRE = regexp.MustCompile(`[a-z_]+:[a-zA-Z0-9_]+:[a-zA-Z0-9_]+`)

// trendPasses reads the trend groups of the rules file and returns the
// rules that the boards read, directly or through another rule, in
// evaluation passes: first those reading raw series only, then those
// reading the first pass's records.
func trendPasses(t *testing.T, rulesFile, boardsDir string) [][]trendRule {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Name     string `yaml:"name"`
			Interval string `yaml:"interval"`
			Rules    []struct {
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	rules := map[string]trendRule{}
	var order []string
	for _, g := range rf.Groups {
		if !strings.HasPrefix(g.Name, "crossteam.trends.") {
			continue
		}
		iv, err := model.ParseDuration(g.Interval)
		if err != nil {
			t.Fatalf("group %s: %v", g.Name, err)
		}
		for _, r := range g.Rules {
			if r.Record != "" {
				rules[r.Record] = trendRule{record: r.Record, expr: r.Expr, interval: time.Duration(iv)}
				order = append(order, r.Record)
			}
		}
	}
	reads := func(expr string) []string {
		var out []string
		for _, name := range recordedNameRE.FindAllString(expr, -1) {
			if _, ok := rules[name]; ok {
				out = append(out, name)
			}
		}
		return out
	}
	needed := map[string]bool{}
	var need func(string)
	need = func(name string) {
		if needed[name] {
			return
		}
		needed[name] = true
		for _, dep := range reads(rules[name].expr) {
			need(dep)
		}
	}
	files, err := filepath.Glob(filepath.Join(boardsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range reads(string(b)) {
			need(name)
		}
	}
	passes := make([][]trendRule, 2)
	for _, name := range order {
		if !needed[name] {
			continue
		}
		deps := reads(rules[name].expr)
		pass := 0
		for _, dep := range deps {
			if len(reads(rules[dep].expr)) > 0 {
				t.Fatalf("%s reads %s, itself a rule on records: more than two passes", name, dep)
			}
			pass = 1
		}
		passes[pass] = append(passes[pass], rules[name])
	}
	if len(passes[0]) == 0 {
		t.Fatal("the boards read no trend rule")
	}
	if len(passes[1]) == 0 {
		passes = passes[:1]
	}
	return passes
}

// recordTrends evaluates rules over [from, to] at their groups' intervals,
// through Prometheus' query_range in chunks (two at a time), and writes
// the results as OpenMetrics named by the rules, each series' samples in
// time order.
func recordTrends(ctx context.Context, t *testing.T, p *promAPI, rules []trendRule, from, to time.Time, out string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, r := range rules {
		ruleBegan := time.Now()
		fmt.Fprintf(w, "# TYPE %s gauge\n", r.record)
		chunk := 60 * 24 * time.Hour // well under Prometheus' 11,000 points per series
		type result struct {
			series []matrixSeries
			err    error
		}
		var results []chan result
		sem := make(chan struct{}, 2)
		for start := from; start.Before(to); start = start.Add(chunk) {
			end := start.Add(chunk - r.interval)
			if end.After(to) {
				end = to
			}
			ch := make(chan result, 1)
			results = append(results, ch)
			go func(start, end time.Time) {
				sem <- struct{}{}
				defer func() { <-sem }()
				series, err := p.queryRangeMatrix(ctx, r.expr, start, end, r.interval)
				if err != nil {
					err = fmt.Errorf("%s from %s: %w", r.record, start.Format(time.RFC3339), err)
				}
				ch <- result{series, err}
			}(start, end)
		}
		for _, ch := range results {
			res := <-ch
			if res.err != nil {
				t.Fatal(res.err)
			}
			counts[r.record] = max(counts[r.record], len(res.series))
			for _, s := range res.series {
				lbl := openMetricsLabels(s.Metric)
				for _, v := range s.Values {
					w.WriteString(r.record)
					w.WriteString(lbl)
					w.WriteByte(' ')
					w.WriteString(strings.Trim(string(v[1]), `"`))
					w.WriteByte(' ')
					w.WriteString(string(v[0]))
					w.WriteByte('\n')
				}
			}
		}
		if time.Since(ruleBegan) > 10*time.Second {
			t.Logf("recorded %s in %s", r.record, time.Since(ruleBegan).Round(time.Millisecond))
		}
	}
	fmt.Fprintln(w, "# EOF")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return counts
}

// promAt is prom as the boards' variables see it at the benchmark's now
// (not the wall clock, which may be more than the lookback after the last
// daily raw sample): a proxy that gives instant queries without a time
// that of now, and label queries without a range the board's range before
// now, as Grafana sends them.
func promAt(t *testing.T, prom *promAPI, now time.Time, rng time.Duration) (*promAPI, func()) {
	t.Helper()
	target, err := url.Parse(prom.base)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	direct := proxy.Director
	proxy.Director = func(r *http.Request) {
		direct(r)
		q := r.URL.Query()
		switch {
		case r.URL.Path == "/api/v1/query" && q.Get("time") == "":
			q.Set("time", strconv.FormatInt(now.Unix(), 10))
		case strings.HasPrefix(r.URL.Path, "/api/v1/label/") || r.URL.Path == "/api/v1/series":
			if q.Get("start") == "" {
				q.Set("start", strconv.FormatInt(now.Add(-rng).Unix(), 10))
				q.Set("end", strconv.FormatInt(now.Unix(), 10))
			}
		}
		r.URL.RawQuery = q.Encode()
	}
	srv := httptest.NewServer(proxy)
	return &promAPI{base: srv.URL}, srv.Close
}

// benchClient waits as long as Prometheus takes (its own query timeout
// is 2 minutes).
var benchClient = &http.Client{Timeout: 5 * time.Minute}

// slowGet is promAPI.get without the end-to-end test's short timeout.
func (p *promAPI) slowGet(ctx context.Context, path string, params url.Values) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+path, strings.NewReader(params.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := benchClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d: %w", path, resp.StatusCode, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s: %s", path, r.ErrorType, r.Error)
	}
	return r.Data, nil
}

// matrixSeries is one series of a range query: each value a timestamp (a
// JSON number) and a sample value (a JSON string, "NaN" and "+Inf"
// included), both kept as Prometheus wrote them.
type matrixSeries struct {
	Metric map[string]string    `json:"metric"`
	Values [][2]json.RawMessage `json:"values"`
}

func (p *promAPI) queryRangeMatrix(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]matrixSeries, error) {
	data, err := p.slowGet(ctx, "/api/v1/query_range", url.Values{"query": {expr},
		"start": {strconv.FormatInt(start.Unix(), 10)}, "end": {strconv.FormatInt(end.Unix(), 10)},
		"step": {strconv.FormatInt(int64(step/time.Second), 10)}})
	if err != nil {
		return nil, err
	}
	var d struct {
		Result []matrixSeries `json:"result"`
	}
	err = json.Unmarshal(data, &d)
	return d.Result, err
}

func openMetricsLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// createBlocks loads an OpenMetrics file with promtool, in blocks of up to
// 61 days (promtool reads the file once per block).
func createBlocks(t *testing.T, promtool, file, dataDir string) {
	t.Helper()
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet",
		"--max-block-duration=1464h", file, dataDir).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics %s: %v\n%s", file, err, tail(string(out), 4000))
	}
}

// waitCompacted waits until Prometheus' own compaction counters stop
// moving for two minutes (at most 20 minutes).
func waitCompacted(ctx context.Context, t *testing.T, p *promAPI) {
	t.Helper()
	began := time.Now()
	read := func() string {
		code, b, err := httpGet(ctx, p.base+"/metrics")
		if err != nil || code != http.StatusOK {
			return ""
		}
		var keep []string
		for _, l := range strings.Split(string(b), "\n") {
			// Not compactions_triggered_total: it counts every minute's check.
			if strings.HasPrefix(l, "prometheus_tsdb_compactions_total") || strings.HasPrefix(l, "prometheus_tsdb_vertical_compactions_total") ||
				strings.HasPrefix(l, "prometheus_tsdb_blocks_loaded") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	last, stable := read(), 0
	for stable < 2 && time.Since(began) < 20*time.Minute {
		time.Sleep(61 * time.Second)
		now := read()
		if now == last && now != "" {
			stable++
		} else {
			stable = 0
		}
		last = now
	}
	t.Logf("compaction settled after %s:\n%s", time.Since(began).Round(time.Second), last)
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := model.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a duration such as 6h", name, s)
	}
	return time.Duration(d)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// replaceSection writes body between the begin and end markers of file,
// appending the section when the markers are missing.
func replaceSection(file, begin, end, body string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		s = strings.TrimRight(s, "\n") + "\n\n" + begin + "\n" + body + end + "\n"
	} else {
		s = s[:i+len(begin)] + "\n" + body + s[j:]
	}
	return os.WriteFile(file, []byte(s), 0o644)
}
