package main

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/resilience"
	"github.com/crossteam/crossteam/sim"
)

// TestLandingPage: each target's state, last success (with its age on the
// page's clock) and last error, scrubbed and escaped; board links when
// Grafana is known; no pprof links (nothing serves /debug/pprof).
func TestLandingPage(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	h := exposition.NewHealth()
	h.SyncDone("github", "acme", 1500*time.Millisecond, nil, now.Add(-90*time.Second))
	h.SyncDone("jira", "broken", 250*time.Millisecond, nil, now.Add(-2*time.Hour))
	h.SyncDone("jira", "broken", 300*time.Millisecond,
		errors.New(`GET https://acme.atlassian.net/rest/api/3/myself: 401 <script>alert(1)</script> Authorization: Basic Ym90QGFjbWUuZXhhbXBsZTpzZWNyZXQ= ghp_abcdefghijklmnopqrstuvwxyz0123`), now.Add(-time.Minute))
	h.Register("github", "new")
	p := &landingPage{logger: slog.New(slog.DiscardHandler), health: h, metricsPath: "/metrics", grafanaURL: "http://grafana.example:3000/",
		external: []externalLink{{URL: "http://127.0.0.1:4242/orgs/acme/repos", Text: "Fake GitHub", Description: "token in /tmp/x"}},
		now:      func() time.Time { return now }, scrub: &resilience.Scrubber{}}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("landing page: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{
		`<tr class="up"><td>github</td><td>acme</td><td>up</td><td><time datetime="2026-12-03T11:58:30Z">2026-12-03T11:58:30Z</time> (1m30s ago)</td><td>1.5s</td><td>-</td></tr>`,
		`<tr class="pending"><td>github</td><td>new</td><td>not synced yet</td><td>never</td><td></td><td>-</td></tr>`,
		`<tr class="down"><td>jira</td><td>broken</td><td>failing</td><td><time datetime="2026-12-03T10:00:00Z">2026-12-03T10:00:00Z</time> (2h0m0s ago)</td><td>300ms</td>`,
		`401 &lt;script&gt;alert(1)&lt;/script&gt; Authorization: Basic &lt;secret&gt; &lt;secret&gt;</code>`,
		`<a href="http://grafana.example:3000/d/crossteam-overview">Cross-team overview</a>`,
		`<a href="http://grafana.example:3000/d/crossteam-health">crossteam health</a>`,
		`<a href="http://127.0.0.1:4242/orgs/acme/repos">Fake GitHub</a>: token in /tmp/x`,
		`href="/metrics"`, `href="/review"`, `href="/config"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	for _, bad := range []string{"ghp_abcdefghij", "Ym90QGFjbWUu", "<script>", "debug/pprof", `href="/http`} {
		if strings.Contains(body, bad) {
			t.Errorf("landing page shows %q", bad)
		}
	}
	// No snapshot yet: /review would answer 503, so it is not linked.
	p.served = func() bool { return false }
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if b := rec.Body.String(); strings.Contains(b, `href="/review"`) || !strings.Contains(b, `href="/-/ready"`) {
		t.Error("/review linked before a snapshot is served")
	}
	// No Grafana: no board links. Other paths: 404.
	p.grafanaURL = ""
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if strings.Contains(rec.Body.String(), "/d/crossteam-") {
		t.Error("board links without --grafana.url")
	}
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nope", nil))
	if rec.Code != 404 {
		t.Errorf("/nope = %d", rec.Code)
	}
	// The icon every browser asks for: nothing, and no 404.
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/favicon.ico", nil))
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Errorf("/favicon.ico = %d with %d bytes, want 204 and nothing", rec.Code, rec.Body.Len())
	}
}

// TestDemoLandingLinks: every link on the demo's landing page works: the
// exporter's own pages answer 200, the fake APIs answer as GitHub and Jira
// do (401 without the token, 200 with the one the page names).
func TestDemoLandingLinks(t *testing.T) {
	addr := freeAddr(t)
	stdout, stop := startDemo(t, "--web.listen-address="+addr, "--demo.speed=0", "--grafana.url=http://localhost:3000")
	waitFor(t, "the demo summary", func() bool { return strings.Contains(stdout.String(), "Ctrl-C stops the demo") })
	base := "http://" + addr
	code, body := get(t, base+"/")
	if code != 200 {
		t.Fatalf("landing page = %d", code)
	}
	for _, want := range []string{`<td>github</td><td>` + sim.GitHubTarget + `</td><td>up</td>`, `<td>jira</td><td>` + sim.JiraTarget + `</td><td>up</td>`,
		`href="http://localhost:3000/d/crossteam-overview"`} {
		if !strings.Contains(body, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	links := regexp.MustCompile(`href="([^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(links) < 10 {
		t.Fatalf("%d links on the landing page", len(links))
	}
	tokenFile := regexp.MustCompile(`token in (\S+) as Authorization`).FindStringSubmatch(body)
	jiraToken := regexp.MustCompile(`basic auth (\S+) with the token in (\S+)</li>`).FindStringSubmatch(body)
	if tokenFile == nil || jiraToken == nil {
		t.Fatalf("the fake API links do not say where the tokens are:\n%s", body)
	}
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	checked := 0
	for _, l := range links {
		u := l[1]
		switch {
		case strings.HasPrefix(u, "http://localhost:3000/"), strings.HasPrefix(u, "https://pprof.me"):
			continue // Grafana is not running here
		case strings.HasPrefix(u, "/"):
			if code, _ := get(t, base+u); code != 200 {
				t.Errorf("link %s = %d", u, code)
			}
		case strings.HasPrefix(u, "http://127.0.0.1:"):
			if code, _ := get(t, u); code != http.StatusUnauthorized {
				t.Errorf("fake API link %s without a token = %d, want 401", u, code)
			}
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			if strings.Contains(u, "/rest/api/") {
				req.SetBasicAuth(jiraToken[1], read(jiraToken[2]))
			} else {
				req.Header.Set("Authorization", "Bearer "+read(tokenFile[1]))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("fake API link %s with the named token = %d", u, resp.StatusCode)
			}
		default:
			t.Errorf("unexpected link %q", u)
		}
		checked++
	}
	if checked < 7 {
		t.Errorf("checked %d links", checked)
	}
	if code := stop(); code != 0 {
		t.Errorf("demo exited %d", code)
	}
}
