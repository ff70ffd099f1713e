package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/crossteam/crossteam/catalogue"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/review"
	"github.com/crossteam/crossteam/sim"
)

// startDemo runs `crossteam demo` in-process until the returned stop is
// called; stop reports the exit code.
func startDemo(t *testing.T, args ...string) (stdout *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- runContext(ctx, append([]string{"demo"}, args...), stdout, stderr) }()
	stopped := false
	stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Logf("demo logs:\n%s", stderr.String())
			}
			return code
		case <-time.After(15 * time.Second):
			t.Error("demo did not stop")
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	return stdout, stop
}

// nonZero reports whether a family has a series with a non-zero value
// (for histograms: a non-zero observation count).
// zeroInDemo are catalogue metrics the demo exports at zero, each with
// the reason.
var zeroInDemo = map[string]string{
	"crossteam_jira_comments_deferred": "every cut comment list of the simulated organisation can change a metric under its configuration, so none is deferred (BENCHMARKS.md, API budget); sim's TestDeferredCommentsChangeNoFigure shows deferrals under other mappings",
}

func nonZero(mf *dto.MetricFamily) bool {
	for _, m := range mf.GetMetric() {
		switch {
		case m.GetGauge() != nil && m.GetGauge().GetValue() != 0,
			m.GetCounter() != nil && m.GetCounter().GetValue() != 0,
			m.GetUntyped() != nil && m.GetUntyped().GetValue() != 0,
			m.GetHistogram() != nil && m.GetHistogram().GetSampleCount() != 0:
			return true
		}
	}
	return false
}

func TestDemo(t *testing.T) {
	addr := freeAddr(t)
	out := t.TempDir()
	stdout, stop := startDemo(t, "--web.listen-address="+addr, "--demo.seed=7", "--dashboards.out="+out)
	waitFor(t, "the demo summary", func() bool { return strings.Contains(stdout.String(), "Ctrl-C stops the demo") })
	summary := stdout.String()
	t.Log("\n" + summary)
	small := sim.Small()
	stalled := small.StalledNow + small.JiraStalledNow

	// The summary names what a person wants first.
	for _, want := range []string{
		"metrics       http://" + addr + "/metrics",
		"landing page  http://" + addr + "/",
		"review        http://" + addr + "/review\n",
		"fake GitHub   http://127.0.0.1:",
		"fake Jira     http://127.0.0.1:",
		"Stalled handoffs now: " + strconv.Itoa(stalled),
		"Slowest team pairs by p90 pickup time:",
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	m := regexp.MustCompile(`github\s+(\d+) items, (\d+) events synced`).FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("summary lacks the synced counts")
	}
	if n, _ := strconv.Atoi(m[1]); n < sim.Small().Repos*sim.Small().ItemsPerRepo {
		t.Errorf("synced %d items, want at least %d", n, sim.Small().Repos*sim.Small().ItemsPerRepo)
	}
	m = regexp.MustCompile(`jira\s+(\d+) items, (\d+) events synced`).FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("summary lacks the Jira synced counts")
	}
	if n, _ := strconv.Atoi(m[1]); n < small.JiraProjects*small.JiraIssuesPerProject {
		t.Errorf("synced %d Jira issues, want at least %d", n, small.JiraProjects*small.JiraIssuesPerProject)
	}
	if got := len(regexp.MustCompile(`(?m)^  \S+\s+\S+\s+-> \S+\s+(owner|review)\s+idle`).FindAllString(summary, -1)); got != stalled-1 {
		// The generated config exports one fewer than are stalled, so
		// crossteam_stalled_handoffs_unexported shows something.
		t.Errorf("summary lists %d stalled handoffs, want %d", got, stalled-1)
	}

	code, metrics := get(t, "http://"+addr+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	problems, err := promlint.New(strings.NewReader(metrics)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "crossteam_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(metrics))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range catalogue.Metrics {
		mf, ok := fams[c.Name]
		if !ok {
			t.Errorf("%s: no series in the demo", c.Name)
			continue
		}
		if _, ok := zeroInDemo[c.Name]; !nonZero(mf) && !ok {
			t.Errorf("%s: every series is zero in the demo", c.Name)
		}
	}
	// Every request the real collectors send has a known route (no
	// endpoint="other": a new API call needs its template in apimetrics),
	// and GitHub's REST and GraphQL budgets are told apart.
	for _, m := range fams["crossteam_api_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "endpoint" && l.GetValue() == "other" {
				t.Errorf("a request without a known route: %v", m.GetLabel())
			}
		}
	}
	resources := map[string]bool{}
	for _, m := range fams["crossteam_api_rate_limit_remaining"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "resource" {
				resources[l.GetValue()] = true
			}
		}
	}
	for _, r := range []string{"core", "graphql", "default"} {
		if !resources[r] {
			t.Errorf("no crossteam_api_rate_limit_remaining for resource %q (have %v)", r, resources)
		}
	}
	if code, body := get(t, "http://"+addr+"/"); code != 200 || !strings.Contains(body, "Simulated GitHub REST API") {
		t.Errorf("landing page = %d, want a link to the simulated GitHub", code)
	}

	// Files written on request; the temporary directory is removed on exit.
	if entries, err := os.ReadDir(filepath.Join(out, "json")); err != nil || len(entries) == 0 {
		t.Errorf("--dashboards.out wrote no dashboards: %v", err)
	}
	cfgPath := regexp.MustCompile(`config\s+(\S+)`).FindStringSubmatch(summary)
	if cfgPath == nil {
		t.Fatal("summary lacks the config path")
	}
	if _, err := os.Stat(cfgPath[1]); err != nil {
		t.Errorf("generated config %s: %v", cfgPath[1], err)
	}
	if code := stop(); code != 0 {
		t.Errorf("demo exited %d", code)
	}
	if _, err := os.Stat(filepath.Dir(cfgPath[1])); !os.IsNotExist(err) {
		t.Errorf("temporary directory %s survived the demo: %v", filepath.Dir(cfgPath[1]), err)
	}
}

// TestDemoFaults: with 5xx, secondary rate limits and latency on the fake
// GitHub, the demo still reaches its complete first snapshot. (20% 5xx:
// with GraphQL history the first sync makes few enough requests that 5%
// may inject none.)
func TestDemoFaults(t *testing.T) {
	addr := freeAddr(t)
	stdout, stop := startDemo(t, "--web.listen-address="+addr, "--faults=5xx=0.2,secondary=0.02,retryafter=1s,latency=1ms,seed=3")
	waitFor(t, "the demo summary", func() bool { return strings.Contains(stdout.String(), "Ctrl-C stops the demo") })
	s := stdout.String()
	for _, want := range []string{"faults        latency=1ms,5xx=0.2,secondary=0.02,retryafter=1s,seed=3", "Stalled handoffs now: 8"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	_, metrics := get(t, "http://"+addr+"/metrics")
	if !regexp.MustCompile(`crossteam_api_requests_total\{code="50[23]",endpoint="/[a-z/{}_]+",source="github",target="sim-github"\} [1-9]`).MatchString(metrics) {
		t.Errorf("no 5xx counted in crossteam_api_requests_total")
	}
	if code := stop(); code != 0 {
		t.Errorf("demo exited %d", code)
	}
}

func TestDemoBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"demo", "--faults=bogus=1"}, exitUsage, `unknown fault key "bogus"`},
		{[]string{"demo", "--faults=5xx=2"}, exitUsage, `"2" is not a fraction`},
		{[]string{"demo", "--demo.speed=-1"}, exitUsage, "must not be negative"},
		{[]string{"demo", "--demo.size=huge"}, exitUsage, "huge"},
	} {
		var stderr syncBuffer
		if code := runContext(context.Background(), tc.args, io.Discard, &stderr); code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.args, code, tc.code)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, stderr.String(), tc.want)
		}
	}
}

func TestQuantile(t *testing.T) {
	var h engine.Histogram
	// 10 observations: 9 in (1h, 4h], 1 in (4h, 12h].
	for i := 0; i < 9; i++ {
		h.Observe(2 * time.Hour)
	}
	h.Observe(5 * time.Hour)
	for _, tc := range []struct {
		q    float64
		want time.Duration
		inf  bool
	}{
		// rank 9 of 10 is the last of the 9 in (1h, 4h]: 1h + 3h*9/9.
		{0.9, 4 * time.Hour, false},
		// rank 4.5: 1h + 3h*4.5/9 = 2h30m.
		{0.45, 150 * time.Minute, false},
		// rank 9.5 is in (4h, 12h]: 4h + 8h*0.5/1.
		{0.95, 8 * time.Hour, false},
	} {
		got, inf, ok := quantile(h, tc.q)
		if !ok || got != tc.want || inf != tc.inf {
			t.Errorf("q%g = %s (inf %v, ok %v), want %s", tc.q, got, inf, ok, tc.want)
		}
	}
	var long engine.Histogram
	long.Observe(40 * 24 * time.Hour)
	if d, inf, _ := quantile(long, 0.9); !inf || d != 30*24*time.Hour || p90Label(long) != ">30d0h" {
		t.Errorf("beyond the last bucket: %s inf %v label %q", d, inf, p90Label(long))
	}
	if _, _, ok := quantile(engine.Histogram{}, 0.9); ok || p90Label(engine.Histogram{}) != "-" {
		t.Error("empty histogram has a quantile")
	}
}

func TestShortDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{42 * time.Minute, "42m"},
		{5*time.Hour + 12*time.Minute + 20*time.Second, "5h12m"},
		{76 * time.Hour, "3d4h"},
	} {
		if got := review.Short(tc.d); got != tc.want {
			t.Errorf("review.Short(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestWebBase(t *testing.T) {
	for _, tc := range []struct {
		listen []string
		want   string
	}{
		{[]string{":19280"}, "http://localhost:19280"},
		{[]string{"127.0.0.1:9000"}, "http://127.0.0.1:9000"},
		{[]string{"[::]:19280"}, "http://localhost:19280"},
		{nil, "http://localhost:19280"},
	} {
		if got := webBase(tc.listen); got != tc.want {
			t.Errorf("webBase(%v) = %q, want %q", tc.listen, got, tc.want)
		}
	}
}

// TestDemoLive runs the demo unfrozen: its clock is the wall clock, so the
// snapshot is never ahead of real time and stays fresh (the boards' age
// and CrossteamDataStale read time() minus these), new events reach the
// store at the speed's pace, and the stalled handoffs stay stalled with
// idle times that grow with real time.
func TestDemoLive(t *testing.T) {
	addr := freeAddr(t)
	// An item about every second per repository: 86400x the history's rate.
	stdout, stop := startDemo(t, "--web.listen-address="+addr, "--demo.speed=86400", "--demo.sync-interval=1s")
	waitFor(t, "the demo summary", func() bool { return strings.Contains(stdout.String(), "Ctrl-C stops the demo") })
	if s := stdout.String(); !strings.Contains(s, "goes on on the wall clock") {
		t.Errorf("summary does not say the clock is the wall clock:\n%s", s)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	type scrape struct {
		at   time.Time
		fams map[string]*dto.MetricFamily
	}
	read := func() scrape {
		_, body := get(t, "http://"+addr+"/metrics")
		// After the answer: a snapshot published while the request was
		// on its way is served, so an earlier instant can precede asOf.
		at := time.Now()
		fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return scrape{at, fams}
	}
	gauge := func(s scrape, name string, labels map[string]string) (float64, bool) {
		mf := s.fams[name]
	next:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue next
				}
			}
			return m.GetGauge().GetValue(), true
		}
		return 0, false
	}
	sum := func(s scrape, name string) float64 {
		var v float64
		for _, m := range s.fams[name].GetMetric() {
			v += m.GetGauge().GetValue()
		}
		return v
	}
	wantStalled := float64(sim.Small().StalledNow + sim.Small().JiraStalledNow)
	first := read()
	firstEvents, _ := gauge(first, "crossteam_store_events", map[string]string{"source": "github"})
	if firstEvents == 0 {
		t.Fatal("no crossteam_store_events for github")
	}
	var last scrape
	for i := 0; i < 4; i++ {
		time.Sleep(time.Second)
		last = read()
		asOf, ok := gauge(last, "crossteam_snapshot_timestamp_seconds", nil)
		if !ok {
			t.Fatal("no crossteam_snapshot_timestamp_seconds")
		}
		// The snapshot age as the boards compute it: at least 0, and
		// within a few sync intervals (1s) on a loaded machine.
		age := float64(last.at.UnixNano())/1e9 - asOf
		if age < 0 || age > 15 {
			t.Errorf("snapshot age %.3fs at scrape %d, want 0..15s", age, i)
		}
		for _, src := range []string{"github", "jira"} {
			ls, ok := gauge(last, "crossteam_last_sync_success_timestamp_seconds", map[string]string{"source": src})
			if lag := float64(last.at.UnixNano())/1e9 - ls; !ok || lag < 0 || lag > 15 {
				t.Errorf("%s: last successful sync %.3fs before the scrape (present %v), want 0..15s", src, lag, ok)
			}
		}
		if got := sum(last, "crossteam_handoffs_stalled"); got != wantStalled {
			t.Errorf("scrape %d: %g stalled handoffs, want %g", i, got, wantStalled)
		}
	}
	// Idle times follow the wall clock: every listed stalled handoff has
	// been idle at least the generator's 21 days, and no listed one more
	// than the history.
	for _, m := range last.fams["crossteam_stalled_handoff_idle_seconds"].GetMetric() {
		if v := m.GetGauge().GetValue(); v < 21*86400 || v > 130*86400 {
			t.Errorf("stalled handoff %v idle %gs, want 21..130 days", m.GetLabel(), v)
		}
	}
	lastEvents, _ := gauge(last, "crossteam_store_events", map[string]string{"source": "github"})
	if lastEvents <= firstEvents {
		t.Errorf("no new GitHub events in %s: %g -> %g", last.at.Sub(first.at).Round(time.Second), firstEvents, lastEvents)
	}
	t.Logf("github events %g -> %g in %s", firstEvents, lastEvents, last.at.Sub(first.at).Round(time.Millisecond))
	if code := stop(); code != 0 {
		t.Errorf("demo exited %d", code)
	}
}

// TestDemoBackfillOut: once the first snapshot is complete, the demo writes
// its history as OpenMetrics for promtool: every sample labelled as
// Prometheus scrapes the demo, at instants from the start of the history
// to before the first snapshot, and promtool accepts it.
func TestDemoBackfillOut(t *testing.T) {
	addr := freeAddr(t)
	file := filepath.Join(t.TempDir(), "history.om")
	began := time.Now()
	stdout, stop := startDemo(t, "--web.listen-address="+addr, "--demo.backfill-out="+file, "--demo.backfill-step=7d",
		"--demo.backfill-label=job=crossteam", "--demo.backfill-label=instance=crossteam:19280")
	waitFor(t, "the demo summary", func() bool { return strings.Contains(stdout.String(), "Ctrl-C stops the demo") })
	var data []byte
	waitFor(t, "the history file", func() bool {
		b, err := os.ReadFile(file)
		data = b
		return err == nil
	})
	if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
	text := string(data)
	if !strings.HasSuffix(text, "# EOF\n") {
		t.Fatal("history does not end with # EOF")
	}
	small := sim.Small()
	// History starts Months before the demo's Now (its start, give or take
	// the seconds before the world was generated).
	first := began.AddDate(0, -small.Months, 0).Add(-time.Minute)
	samples := 0
	minTS, maxTS := 1e18, 0.0
	for _, l := range strings.Split(strings.TrimSuffix(text, "# EOF\n"), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		samples++
		if !strings.Contains(l, `instance="crossteam:19280",job="crossteam"`) {
			t.Fatalf("sample without the scrape's labels: %s", l)
		}
		f := strings.Fields(l)
		ts, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", l, err)
		}
		minTS, maxTS = min(minTS, ts), max(maxTS, ts)
	}
	if samples == 0 {
		t.Fatal("no samples")
	}
	if minTS < float64(first.Unix()) || minTS > float64(first.Add(2*time.Minute).Unix()) {
		t.Errorf("first instant %s, want the start of the history, %s", time.Unix(int64(minTS), 0).UTC(), first.Add(time.Minute).UTC())
	}
	// Weekly instants before the first snapshot: the last within a week of it.
	if maxTS >= float64(time.Now().Unix()) || maxTS < float64(began.Add(-8*24*time.Hour).Unix()) {
		t.Errorf("last instant %s, want within a week before the first snapshot", time.Unix(int64(maxTS), 0).UTC())
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=744h", file, t.TempDir()).CombinedOutput()
		if err != nil {
			t.Errorf("promtool refuses the history: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool not installed: the history is not loaded")
	}
	t.Logf("%d samples, %s to %s", samples, time.Unix(int64(minTS), 0).UTC(), time.Unix(int64(maxTS), 0).UTC())
	if code := stop(); code != 0 {
		t.Errorf("demo exited %d", code)
	}
}
