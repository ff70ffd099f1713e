package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/crossteam/crossteam/sim"
)

// TestLandingPageInChromium opens the landing pages of two running
// exporters in headless Chromium: the demo (its targets up, links to the
// fake GitHub and Jira), and `crossteam serve` on the demo's configuration
// with the Jira site moved to a server that answers 401 (a target in
// error). In the DOM Chromium renders, each target's row must show the
// state, last success and last error the exporter's own /metrics report,
// and every link on the page must answer: the exporter's own pages 200,
// the boards on a stand-in Grafana that knows the shipped boards' UIDs,
// the fake APIs anything but 404 (401 without their token). Whatever the
// page requests besides itself (the browser's /favicon.ico) must answer
// too.
func TestLandingPageInChromium(t *testing.T) {
	browser := requireChromium(t)
	root := moduleRoot(t)
	tmp := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	// A stand-in Grafana: /d/<uid> of a shipped board is 200, else 404.
	uids := map[string]bool{}
	for _, u := range dashboardsUIDs(t) {
		uids[u] = true
	}
	grafana := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if uid, ok := strings.CutPrefix(r.URL.Path, "/d/"); ok && uids[uid] {
			fmt.Fprintf(w, "<html><body>board %s</body></html>", html.EscapeString(uid))
			return
		}
		http.NotFound(w, r)
	}))
	defer grafana.Close()
	// A Jira site that refuses the token (not retried, unlike a 503).
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "token revoked", http.StatusUnauthorized)
	}))
	defer down.Close()

	bin := buildCrossteam(t, root, tmp)
	demoAddr := freeAddr(t)
	demoTmp := filepath.Join(tmp, "demo-tmp")
	if err := os.Mkdir(demoTmp, 0o700); err != nil {
		t.Fatal(err)
	}
	demo := startProcess(t, tmp, "crossteam demo", []string{"TMPDIR=" + demoTmp}, bin, "demo",
		"--web.listen-address="+demoAddr, "--demo.seed="+strconv.Itoa(demoSeed), "--demo.speed="+demoSpeed,
		"--demo.sync-interval=2s", "--store.path="+filepath.Join(tmp, "demo.db"), "--grafana.url="+grafana.URL)
	waitUntil(t, "the demo's summary", func() (bool, string) {
		return strings.Contains(demo.stdout.String(), "Ctrl-C stops the demo"), "no summary yet"
	}, demo)
	m := regexp.MustCompile(`(?m)^\s+config\s+(\S+)$`).FindStringSubmatch(demo.stdout.String())
	if m == nil {
		t.Fatalf("the demo summary names no config file:\n%s", demo.stdout.String())
	}
	cfgPath := filepath.Join(tmp, "broken-jira.yml")
	writeBrokenJira(t, m[1], cfgPath, down.URL, filepath.Join(tmp, "serve.db"))
	serveAddr := freeAddr(t)
	serve := startProcess(t, tmp, "crossteam serve", nil, bin, "serve", "--config.file="+cfgPath,
		"--web.listen-address="+serveAddr, "--grafana.url="+grafana.URL)
	serveURL := "http://" + serveAddr
	waitUntil(t, "the serve exporter's GitHub target up and its Jira target failing", func() (bool, string) {
		_, b, err := httpGet(ctx, serveURL+"/")
		return err == nil && strings.Contains(string(b), "<td>github</td><td>"+sim.GitHubTarget+"</td><td>up</td>") &&
			strings.Contains(string(b), "<td>jira</td><td>"+sim.JiraTarget+"</td><td>failing</td>"), fmt.Sprintf("%v", err)
	}, serve)

	dir := t.TempDir()
	for _, page := range []struct {
		name, base     string
		wantDown       string // the target in error ("" = none)
		wantErrorShown string
	}{
		{"demo", "http://" + demoAddr, "", ""},
		{"serve with Jira down", serveURL, "jira", "401"},
	} {
		t.Run(page.name, func(t *testing.T) {
			checkLandingInChromium(ctx, t, browser, dir, page.base, page.wantDown, page.wantErrorShown, grafana.URL)
		})
	}
}

// writeBrokenJira copies the demo's configuration with the Jira site at
// jiraURL and its own store.
func writeBrokenJira(t *testing.T, src, dst, jiraURL, storePath string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	jira := mapValue(mapValue(doc.Content[0], "sources"), "jira")
	if jira == nil || jira.Kind != yaml.SequenceNode || len(jira.Content) == 0 {
		t.Fatalf("%s: no sources.jira list", src)
	}
	u := mapValue(jira.Content[0], "url")
	if u == nil {
		t.Fatalf("%s: sources.jira[0] has no url", src)
	}
	u.Value = jiraURL
	store := mapValue(doc.Content[0], "store")
	if store == nil {
		store = &yaml.Node{Kind: yaml.MappingNode}
		doc.Content[0].Content = append(doc.Content[0].Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "store"}, store)
	}
	if p := mapValue(store, "path"); p != nil {
		p.Value = storePath
	} else {
		store.Content = append(store.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "path"}, &yaml.Node{Kind: yaml.ScalarNode, Value: storePath})
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// landingRow is a target's row of the landing page, as Chromium renders it.
type landingRow struct {
	class, source, target, state, lastSuccess, took, lastError string
}

var (
	rowRE  = regexp.MustCompile(`(?s)<tr class="(\w+)">(.*?)</tr>`)
	cellRE = regexp.MustCompile(`(?s)<td>(.*?)</td>`)
	tagRE  = regexp.MustCompile(`<[^>]+>`)
	hrefRE = regexp.MustCompile(`<a [^>]*href="([^"]*)"`)
)

func landingRows(dom string) []landingRow {
	var out []landingRow
	for _, m := range rowRE.FindAllStringSubmatch(dom, -1) {
		var cells []string
		for _, c := range cellRE.FindAllStringSubmatch(m[2], -1) {
			cells = append(cells, c[1])
		}
		if len(cells) != 6 {
			continue
		}
		out = append(out, landingRow{class: m[1], source: cells[0], target: cells[1], state: cells[2],
			lastSuccess: cells[3], took: cells[4], lastError: html.UnescapeString(tagRE.ReplaceAllString(cells[5], ""))})
	}
	return out
}

// checkLandingInChromium loads base+"/" in Chromium and checks its rows
// against the exporter's /metrics and every link on it.
func checkLandingInChromium(ctx context.Context, t *testing.T, browser, dir, base, wantDown, wantError, grafanaURL string) {
	page := base + "/"
	// The exporter's own view of its targets, read before and after the
	// page: a sync may succeed in between (the page then shows one of the
	// two instants).
	type key struct{ source, target string }
	targets := func() (up, success map[key]float64) {
		_, body, err := httpGet(ctx, base+"/metrics")
		if err != nil {
			t.Fatal(err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		up, success = map[key]float64{}, map[key]float64{}
		for name, into := range map[string]map[key]float64{"crossteam_source_up": up, "crossteam_last_sync_success_timestamp_seconds": success} {
			for _, s := range mfs[name].GetMetric() {
				l := labelsOf(s)
				into[key{l["source"], l["target"]}] = s.GetGauge().GetValue()
			}
		}
		return up, success
	}
	_, successBefore := targets()
	dom, requests := chromium(ctx, t, browser, dir, page, "--dump-dom")
	up, success := targets()
	for _, r := range requests {
		if code, _, err := httpGet(ctx, r); err != nil || code >= 400 {
			t.Errorf("the page requested %s, which answers %d %v", r, code, err)
		}
	}
	rows := landingRows(dom)
	if len(rows) == 0 || len(rows) != len(up) {
		t.Fatalf("%d target rows in the rendered page, /metrics has %d targets:\n%s", len(rows), len(up), tail(dom, 3000))
	}
	timeRE := regexp.MustCompile(`^<time datetime="([^"]+)">[^<]+</time> \((\S+) ago\)$`)
	downSeen := false
	for _, r := range rows {
		k := key{r.source, r.target}
		u, ok := up[k]
		switch {
		case !ok:
			t.Errorf("row %s/%s: no crossteam_source_up series for it", r.source, r.target)
			continue
		case u == 1 && (r.state != "up" || r.class != "up" || r.lastError != "-"):
			t.Errorf("row %s/%s: state %q class %q last error %q; /metrics says up", r.source, r.target, r.state, r.class, r.lastError)
		case u == 0 && (r.state != "failing" || r.class != "down"):
			t.Errorf("row %s/%s: state %q class %q; /metrics says down", r.source, r.target, r.state, r.class)
		}
		if u == 0 {
			downSeen = true
			if r.source != wantDown {
				t.Errorf("target %s/%s is down, want only %q down", r.source, r.target, wantDown)
			}
			if !strings.Contains(r.lastError, wantError) {
				t.Errorf("row %s/%s: last error %q, want one naming %q", r.source, r.target, r.lastError, wantError)
			}
		}
		// Last success: the metric's instant, or never.
		ts, synced := success[k]
		if !synced || ts == 0 {
			if r.lastSuccess != "never" {
				t.Errorf("row %s/%s: last success %q, /metrics has none", r.source, r.target, r.lastSuccess)
			}
			continue
		}
		m := timeRE.FindStringSubmatch(r.lastSuccess)
		if m == nil {
			t.Errorf("row %s/%s: last success %q is not a <time> with its age", r.source, r.target, r.lastSuccess)
			continue
		}
		at, err := time.Parse(time.RFC3339, m[1])
		lo := math.Floor(min(ts, successBefore[k]))
		if successBefore[k] == 0 {
			lo = math.Floor(ts)
		}
		if err != nil || float64(at.Unix()) < lo-1 || float64(at.Unix()) > math.Floor(ts)+1 {
			t.Errorf("row %s/%s: last success %s, /metrics says %s (before the page: %s)", r.source, r.target, m[1],
				time.Unix(int64(ts), 0).UTC().Format(time.RFC3339), time.Unix(int64(successBefore[k]), 0).UTC().Format(time.RFC3339))
		}
		if ago, err := time.ParseDuration(m[2]); err != nil || ago < 0 || ago > time.Since(at)+time.Second {
			t.Errorf("row %s/%s: %q ago for a success at %s", r.source, r.target, m[2], m[1])
		}
	}
	if (wantDown != "") != downSeen {
		t.Errorf("a target down: %v, want %v", downSeen, wantDown != "")
	}

	// Every link answers.
	problems, own, boards, other := linkProblems(ctx, dom, page, base, grafanaURL)
	for _, p := range problems {
		t.Error(p)
	}
	if own < 4 || boards != len(dashboardsUIDs(t)) {
		t.Errorf("%d links to the exporter's pages and %d board links; want at least 4 and one per shipped board (%d)", own, boards, len(dashboardsUIDs(t)))
	}

	// A screenshot, kept for a person to look at.
	shot := filepath.Join(dir, "landing.png")
	chromium(ctx, t, browser, dir, page, "--screenshot="+shot)
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	kept := filepath.Join(os.TempDir(), "crossteam-e2e-landing-"+strings.NewReplacer(":", "-", ".", "-", "/", "").Replace(strings.TrimPrefix(base, "http://"))+".png")
	if err := os.WriteFile(kept, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d targets, %d links to the exporter, %d to boards, %d elsewhere, all answering; screenshot %s", base, len(rows), own, boards, other, kept)
}

// linkProblems fetches every link of a page's DOM: links to the
// exporter (under base) must answer 200, board links (under grafanaURL)
// 200, others anything but 404 or 5xx; no link may point at pprof. It
// counts the links of each kind.
func linkProblems(ctx context.Context, dom, page, base, grafanaURL string) (problems []string, own, boards, other int) {
	for _, l := range hrefRE.FindAllStringSubmatch(dom, -1) {
		href := html.UnescapeString(l[1])
		u, err := neturl.Parse(page)
		if err == nil {
			u, err = u.Parse(href)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("link %q: %v", href, err))
			continue
		}
		code, _, err := httpGet(ctx, u.String())
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("link %q (%s): %v", href, u, err))
		case strings.HasPrefix(u.String(), base+"/"):
			own++
			if code != http.StatusOK {
				problems = append(problems, fmt.Sprintf("link %q: %s answers %d", href, u, code))
			}
		case grafanaURL != "" && strings.HasPrefix(u.String(), grafanaURL+"/"):
			boards++
			if code != http.StatusOK {
				problems = append(problems, fmt.Sprintf("board link %q answers %d: no shipped board has that UID", href, code))
			}
		default:
			other++
			if code == http.StatusNotFound || code >= 500 {
				problems = append(problems, fmt.Sprintf("link %q answers %d", href, code))
			}
		}
		if strings.Contains(href, "pprof") {
			problems = append(problems, fmt.Sprintf("link %q: crossteam serves no pprof", href))
		}
	}
	return problems, own, boards, other
}

// TestLinkProblems: the link check reports each kind of broken link.
func TestLinkProblems(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics", "/d/crossteam-overview", "/debug/pprof/":
			w.Write([]byte("ok"))
		case "/api":
			http.Error(w, "no token", http.StatusUnauthorized)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dom := `<ul><li><a href="/metrics">ok</a></li><li><a href="/http://127.0.0.1:1/x">toolkit-mangled</a></li>` +
		`<li><a href="/debug/pprof/">pprof</a></li><li><a class="x" href="` + srv.URL + `/grafana/d/nope">board</a></li>` +
		`<li><a href="` + srv.URL + `/api">fake API</a></li></ul>`
	// The page is served under /exporter; Grafana under /grafana.
	got, own, boards, other := linkProblems(context.Background(), strings.ReplaceAll(dom, `href="/`, `href="/exporter/`),
		srv.URL+"/exporter/", srv.URL+"/exporter", srv.URL+"/grafana")
	want := []string{
		`link "/exporter/metrics": ` + srv.URL + `/exporter/metrics answers 404`,
		`link "/exporter/http://127.0.0.1:1/x": ` + srv.URL + `/exporter/http://127.0.0.1:1/x answers 404`,
		`link "/exporter/debug/pprof/": ` + srv.URL + `/exporter/debug/pprof/ answers 404`,
		`link "/exporter/debug/pprof/": crossteam serves no pprof`,
		`board link "` + srv.URL + `/grafana/d/nope" answers 404: no shipped board has that UID`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || own != 3 || boards != 1 || other != 1 {
		t.Errorf("linkProblems = %d own, %d boards, %d other:\n%s\nwant 3, 1, 1:\n%s", own, boards, other, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Served at the root, the good links pass.
	got, _, _, _ = linkProblems(context.Background(), `<a href="/metrics">m</a><a href="/debug/pprof/">p</a>`, srv.URL+"/", srv.URL, "")
	if strings.Join(got, "\n") != `link "/debug/pprof/": crossteam serves no pprof` {
		t.Errorf("linkProblems at the root = %q", got)
	}
}

// dashboardsUIDs lists the shipped boards' UIDs.
func dashboardsUIDs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(moduleRoot(t), "dashboards", "json", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			UID string `json:"uid"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d.UID)
	}
	return out
}
