package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"log/slog"

	"github.com/crossteam/crossteam/review"
	"github.com/crossteam/crossteam/store"
)

// The weekly review's numbers must be the boards' numbers. The review
// reads engine snapshots at the week boundaries; Prometheus has the same
// snapshots when backfill writes a sample at each boundary, so PromQL
// over the backfilled history must give the same figures: a week's
// handoffs are the counter at its end minus at its start, its median and
// p90 are histogram_quantile over the difference of the buckets.

// reviewWeek is the week the demo's /review shows: the last complete week
// at the demo's (frozen) clock.
func reviewWeek(dw *demoWorld) review.Week {
	return review.LastComplete(dw.now, review.Location(dw.cfg))
}

// reviewBounds are the instants the review reads: the starts of the
// previous weeks and the reviewed one, and its end.
func reviewBounds(dw *demoWorld, w review.Week) []time.Time {
	loc := review.Location(dw.cfg)
	var out []time.Time
	for i := review.PreviousWeeks; i >= 0; i-- {
		out = append(out, w.Add(-i).Start(loc))
	}
	return append(out, w.End(loc))
}

// backfillBoundaries writes a sample at every boundary of the review's
// weeks (a second backfill; Prometheus merges the overlapping blocks).
func backfillBoundaries(t *testing.T, bin, promtool, dir, dataDir string, dw *demoWorld, w review.Week, labels map[string]string) {
	t.Helper()
	b := reviewBounds(dw, w)
	step := b[1].Sub(b[0])
	for i := 1; i < len(b); i++ {
		if b[i].Sub(b[i-1]) != step {
			t.Fatalf("week boundaries %v are not evenly spaced (a DST change in %s): one backfill step cannot hit them", b, review.Location(dw.cfg))
		}
	}
	file := filepath.Join(dir, "weeks.om")
	args := []string{"backfill", "--config.file=" + dw.cfgPath, "--backfill.from=" + b[0].Format(time.RFC3339),
		"--backfill.to=" + b[len(b)-1].Add(time.Second).Format(time.RFC3339), "--backfill.step=" + step.String(), "--backfill.out=" + file}
	for k, v := range labels {
		args = append(args, "--backfill.label="+k+"="+v)
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("crossteam backfill at the week boundaries: %v\n%s", err, out)
	}
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", file, dataDir).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, tail(string(out), 4000))
	}
}

type pairLabels struct{ source, from, to string }

func byPair(t *testing.T, ss []sample) map[pairLabels]float64 {
	t.Helper()
	out := map[pairLabels]float64{}
	for _, s := range ss {
		k := pairLabels{s.Metric["source"], s.Metric["from_team"], s.Metric["to_team"]}
		if _, dup := out[k]; dup {
			t.Fatalf("two samples for %v", k)
		}
		out[k] = s.float()
	}
	return out
}

// checkReviewEqualsPromQL computes the review from the demo's store and
// the same figures with PromQL, and requires them equal.
func checkReviewEqualsPromQL(ctx context.Context, t *testing.T, prom *promAPI, dw *demoWorld, storePath string, w review.Week) {
	st, err := store.Open(ctx, storePath, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ds, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := review.Compute(dw.cfg, ds, review.Options{Week: w, Now: dw.now})
	if err != nil {
		t.Fatal(err)
	}
	b := reviewBounds(dw, w)
	first, start, end := b[0].Unix(), b[len(b)-2].Unix(), b[len(b)-1].Unix()
	sel := fmt.Sprintf(`{job=%q}`, jobName)
	by := "source, from_team, to_team"
	query := func(expr string) map[pairLabels]float64 {
		ss, err := prom.query(ctx, expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return byPair(t, ss)
	}
	// Counters at an instant, per pair.
	at := func(metric string, ts int64) map[pairLabels]float64 {
		return query(fmt.Sprintf("sum by (%s) (%s%s @ %d)", by, metric, sel, ts))
	}
	// histogram_quantile over the buckets' increase between two boundaries
	// (a pair whose series starts later counts from zero).
	quantile := func(q float64, from, to int64) map[pairLabels]float64 {
		m := "crossteam_handoff_pickup_seconds_bucket" + sel
		return query(fmt.Sprintf("histogram_quantile(%g, sum by (le, %s) (%s @ %d) - sum by (le, %s) ((%s @ %d) or (%s @ %d) * 0))",
			q, by, m, to, by, m, from, m, to))
	}
	handoffsEnd, handoffsStart, handoffsFirst := at("crossteam_handoffs_total", end), at("crossteam_handoffs_total", start), at("crossteam_handoffs_total", first)
	countEnd, countStart, countFirst := at("crossteam_handoff_pickup_seconds_count", end), at("crossteam_handoff_pickup_seconds_count", start), at("crossteam_handoff_pickup_seconds_count", first)
	med, p90 := quantile(0.5, start, end), quantile(0.9, start, end)
	prevMed, prevP90 := quantile(0.5, first, start), quantile(0.9, first, start)

	sameQ := func(what string, k pairLabels, got review.Quantile, promVal float64, ok bool) {
		t.Helper()
		switch {
		case !got.OK && (!ok || math.IsNaN(promVal)):
		case got.OK && ok && math.Abs(got.Seconds-promVal) <= 1e-9*math.Max(1, promVal):
		default:
			t.Errorf("%v %s: review %+v, PromQL %g (present %v)", k, what, got, promVal, ok)
		}
	}
	inReview := map[pairLabels]bool{}
	checked := 0
	for _, p := range r.Pairs {
		k := pairLabels{p.Source, p.From, p.To}
		inReview[k] = true
		if got, want := float64(p.Started), handoffsEnd[k]-handoffsStart[k]; got != want {
			t.Errorf("%v handoffs started in %s: review %g, PromQL %g", k, w, got, want)
		}
		if got, want := float64(p.PickedUp), countEnd[k]-countStart[k]; got != want {
			t.Errorf("%v picked up in %s: review %g, PromQL %g", k, w, got, want)
		}
		if got, want := float64(p.PrevStarted), handoffsStart[k]-handoffsFirst[k]; got != want {
			t.Errorf("%v handoffs started in the previous weeks: review %g, PromQL %g", k, got, want)
		}
		if got, want := float64(p.PrevPickedUp), countStart[k]-countFirst[k]; got != want {
			t.Errorf("%v picked up in the previous weeks: review %g, PromQL %g", k, got, want)
		}
		v, ok := med[k]
		sameQ("median pickup", k, p.Median, v, ok)
		v, ok = p90[k]
		sameQ("p90 pickup", k, p.P90, v, ok)
		v, ok = prevMed[k]
		sameQ("previous median pickup", k, p.PrevMedian, v, ok)
		v, ok = prevP90[k]
		sameQ("previous p90 pickup", k, p.PrevP90, v, ok)
		if p.Median.OK {
			checked++
		}
	}
	// Every pair with handoffs in the window is in the review.
	for k, v := range handoffsEnd {
		if v != handoffsFirst[k] && !inReview[k] {
			t.Errorf("%v: %g handoffs in the window by PromQL, missing from the review", k, v-handoffsFirst[k])
		}
	}
	// Stalled at the week's end, and joint milestones completed in it (the
	// small wins), from the gauges and the counter at the boundaries.
	scalar := func(expr string) float64 {
		ss, err := prom.query(ctx, expr)
		if err != nil || len(ss) != 1 {
			t.Fatalf("%s: %v %v", expr, ss, err)
		}
		return ss[0].float()
	}
	if got, want := float64(r.StalledTotal), scalar(fmt.Sprintf("sum(crossteam_handoffs_stalled%s @ %d)", sel, end)); got != want {
		t.Errorf("stalled at the end of %s: review %g, PromQL %g", w, got, want)
	}
	wins := 0
	for _, win := range r.Wins {
		if win.Kind == review.WinMilestone {
			wins++
		}
	}
	completed := fmt.Sprintf("sum(crossteam_joint_milestones_completed_total%s @ %%d) or vector(0)", sel)
	if got, want := float64(wins), scalar(fmt.Sprintf(completed, end))-scalar(fmt.Sprintf(completed, start)); got != want {
		t.Errorf("joint milestones completed in %s: review %g small wins, PromQL %g", w, got, want)
	}
	if checked == 0 {
		t.Fatalf("week %s has no pair with a pickup: the comparison compared nothing", w)
	}
	t.Logf("week %s: %d pairs equal both ways, %d with a median pickup", w, len(r.Pairs), checked)
}

// requireChromium finds Debian's chromium (scripts/install-tools.sh
// installs it); with CROSSTEAM_REQUIRE_TOOLS=1 a missing one fails.
func requireChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CROSSTEAM_REQUIRE_TOOLS") == "1" {
		t.Fatal("chromium not found and CROSSTEAM_REQUIRE_TOOLS=1: install Debian's chromium package (make tools)")
	}
	t.Skip("chromium not found: install Debian's chromium package (make tools) to open the review page in a real browser; CI sets CROSSTEAM_REQUIRE_TOOLS=1 to make this a failure")
	return ""
}

// chromium runs headless Chromium on url with a fresh profile, recording
// every network request in a net log, and returns its standard output and
// the requests the page made (see pageRequests).
func chromium(ctx context.Context, t *testing.T, bin, dir, url string, args ...string) (string, []string) {
	t.Helper()
	profile, err := os.MkdirTemp(dir, "chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	netlog := profile + ".netlog.json"
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--user-data-dir=" + profile, "--log-net-log=" + netlog, "--window-size=1000,1300", "--hide-scrollbars"}, args...)
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, bin, append(all, url)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, tail(stderr.String(), 3000))
	}
	raw, err := os.ReadFile(netlog)
	if err != nil {
		t.Fatalf("chromium net log: %v", err)
	}
	return stdout.String(), pageRequests(t, raw, url)
}

// pageRequests lists the URLs a page requested, from a Chromium net log:
// every URL request whose initiator is the page's origin (the page's own
// load is browser-initiated, and so are Chromium's service calls — update
// checks, accounts — which the test flags do not all silence and which no
// page can cause). It fails the test unless the page's own load is there,
// so an empty list means something.
func pageRequests(t *testing.T, raw []byte, page string) []string {
	t.Helper()
	// Chromium may end the file without closing the events array.
	s := strings.TrimSpace(string(raw))
	if !strings.HasSuffix(s, "}") {
		s = strings.TrimSuffix(s, ",") + "]}"
	}
	var log struct {
		Constants struct {
			LogEventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int            `json:"type"`
			Params map[string]any `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(s), &log); err != nil {
		t.Fatalf("chromium net log: %v", err)
	}
	start, ok := log.Constants.LogEventTypes["URL_REQUEST_START_JOB"]
	if !ok {
		t.Fatal("chromium net log: no URL_REQUEST_START_JOB event type")
	}
	u, err := neturl.Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	origin := u.Scheme + "://" + u.Host
	loaded := false
	var out []string
	for _, e := range log.Events {
		if e.Type != start {
			continue
		}
		url, _ := e.Params["url"].(string)
		initiator, _ := e.Params["initiator"].(string)
		switch {
		case initiator == origin:
			out = append(out, url)
		case url == page:
			loaded = true
		}
	}
	if !loaded {
		t.Fatalf("chromium net log: no request for %s", page)
	}
	return out
}

// checkReviewInChromium opens the demo's /review in headless Chromium:
// every section heading in order, one chart per pair, no request but the
// page itself, and a screenshot (CROSSTEAM_UPDATE_SCREENSHOT=1 writes it
// to docs/review.png for the README).
func checkReviewInChromium(ctx context.Context, t *testing.T, root, demoURL string) {
	bin := requireChromium(t)
	dir := t.TempDir()
	// The request check can fail: a page with an image is caught.
	control := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<!DOCTYPE html><html><body><h2>control</h2><img src="/pixel.png"></body></html>`))
			return
		}
		http.NotFound(w, r)
	}))
	defer control.Close()
	if _, reqs := chromium(ctx, t, bin, dir, control.URL+"/", "--dump-dom"); !slices.Contains(reqs, control.URL+"/pixel.png") {
		t.Errorf("control page: requests %q do not include its image: the check would miss requests", reqs)
	}
	page := demoURL + "/review"
	dom, urls := chromium(ctx, t, bin, dir, page, "--dump-dom")
	var headings []string
	for _, m := range regexp.MustCompile(`<h2>([^<]*)</h2>`).FindAllStringSubmatch(dom, -1) {
		headings = append(headings, m[1])
	}
	if strings.Join(headings, "|") != strings.Join(review.Headings, "|") {
		t.Errorf("section headings %q, want %q", headings, review.Headings)
	}
	section := dom
	if i, j := strings.Index(dom, `id="handoffs"`), strings.Index(dom, `id="stalled"`); i >= 0 && j > i {
		section = dom[i:j]
	}
	rows := strings.Count(section, "<tr>") - 1 // the header row
	charts := regexp.MustCompile(`<svg[\s>]`).FindAllStringIndex(dom, -1)
	if rows <= 0 || len(charts) != rows {
		t.Errorf("%d pairs in the handoffs table and %d charts, want one chart per pair", rows, len(charts))
	}
	for _, u := range urls {
		t.Errorf("the page requested %s (it must request nothing)", u)
	}
	for _, bad := range []string{"<script", "<link", " src=", "<iframe", "<object"} {
		if strings.Contains(dom, bad) {
			t.Errorf("the page's DOM has %q: it would load something", bad)
		}
	}
	shot := filepath.Join(dir, "review.png")
	_, urls = chromium(ctx, t, bin, dir, page, "--screenshot="+shot)
	for _, u := range urls {
		t.Errorf("screenshot run: the page requested %s", u)
	}
	png, err := os.ReadFile(shot)
	if err != nil || len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	// Kept after the test (the temporary directory is not) for a person
	// to look at.
	kept := filepath.Join(os.TempDir(), "crossteam-e2e-review.png")
	if err := os.WriteFile(kept, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("review page: %d sections, %d charts, screenshot %s (%d bytes)", len(headings), len(charts), kept, len(png))
	if os.Getenv("CROSSTEAM_UPDATE_SCREENSHOT") == "1" {
		if err := os.WriteFile(filepath.Join(root, "docs", "review.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
