package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/crossteam/crossteam/fakeapi"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	"github.com/crossteam/crossteam/internal/cpulane"
)

const serveToken = "ghp_servetesttoken0123456789"

// fakeOrg builds a small GitHub org: acme/web#1 handed design->backend
// (label swap) and picked up by a backend comment 2h later.
func fakeOrg(t *testing.T) *httptest.Server {
	t.Helper()
	org := fakegithub.NewOrg()
	clock := fakeapi.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	org.Now = clock.Now
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(org.AddRepo("acme/web"))
	is, err := org.AddIssue("acme/web", fakegithub.Issue{Title: "Checkout broken", User: "alice"})
	must(err)
	_, err = org.AddEvent("acme/web", fakegithub.Event{Issue: is.Number, Type: "labeled", Actor: "alice", Label: "team:design"})
	must(err)
	clock.Advance(time.Hour)
	_, err = org.AddEvent("acme/web", fakegithub.Event{Issue: is.Number, Type: "unlabeled", Actor: "alice", Label: "team:design"})
	must(err)
	_, err = org.AddEvent("acme/web", fakegithub.Event{Issue: is.Number, Type: "labeled", Actor: "alice", Label: "team:backend"})
	must(err)
	clock.Advance(2 * time.Hour)
	_, err = org.AddComment("acme/web", fakegithub.Comment{Issue: is.Number, User: "bob", Body: "on it"})
	must(err)
	srv := httptest.NewServer(fakegithub.NewGitHub(org, fakegithub.GitHubOptions{Tokens: []string{serveToken}}))
	t.Cleanup(srv.Close)
	return srv
}

func writeServeConfig(t *testing.T, dir, apiURL string) string {
	t.Helper()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(serveToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `
teams:
  design:
    members: [alice]
    markers: {github_labels: ["team:design"]}
  backend:
    members: [bob]
    markers: {github_labels: ["team:backend"]}
sources:
  github:
    - name: acme
      base_url: ` + apiURL + `/
      repos: [acme/web]
      token_file: ` + tokenFile + `
store:
  path: ` + filepath.Join(dir, "crossteam.db") + `
sync:
  interval: 1h
`
	path := filepath.Join(dir, "crossteam.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs `crossteam serve` in-process until the returned stop is
// called.
func startServe(t *testing.T, cfgPath, addr string, logs io.Writer, extra ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	args := []string{"serve", "--config.file=" + cfgPath, "--web.listen-address=" + addr, "--log.level=debug"}
	if len(extra) == 0 {
		extra = []string{"--web.enable-lifecycle"}
	}
	go func() {
		done <- runContext(ctx, append(args, extra...), io.Discard, logs)
	}()
	return func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d", code)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServe(t *testing.T) {
	api := fakeOrg(t)
	dir := t.TempDir()
	cfgPath := writeServeConfig(t, dir, api.URL)
	addr := freeAddr(t)
	base := "http://" + addr
	logs := &syncBuffer{}
	stop := startServe(t, cfgPath, addr, logs)

	waitFor(t, "ready", func() bool { code, _ := get(t, base+"/-/ready"); return code == 200 })
	var metrics string
	waitFor(t, "a handoff in /metrics", func() bool {
		_, metrics = get(t, base+"/metrics")
		return strings.Contains(metrics, `crossteam_handoffs_total{from_team="design",source="github",to_team="backend"} 1`)
	})
	for _, want := range []string{
		`crossteam_handoff_pickup_seconds_sum{from_team="design",source="github",to_team="backend"} 7200`,
		`crossteam_source_up{source="github",target="acme"} 1`,
		`crossteam_config_last_reload_successful 1`,
		`crossteam_build_info{`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
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
	if code, body := get(t, base+"/-/healthy"); code != 200 || !strings.Contains(body, "Healthy") {
		t.Errorf("/-/healthy = %d %q", code, body)
	}
	if code, body := get(t, base+"/"); code != 200 || !strings.Contains(body, "/metrics") || !strings.Contains(body, `href="/review"`) {
		t.Errorf("landing page = %d", code)
	}
	if code, _ := get(t, base+"/-/reload"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload = %d, want 405", code)
	}
	_, cfgView := get(t, base+"/config")
	if !strings.Contains(cfgView, "token_file:") || strings.Contains(cfgView, serveToken) {
		t.Errorf("/config view: %q", cfgView)
	}
	for _, member := range []string{"alice", "bob"} {
		if strings.Contains(cfgView, member) {
			t.Errorf("/config shows member %q: %q", member, cfgView)
		}
	}

	// A reload of an unchanged file does nothing (no restart of the
	// syncs, no recomputation).
	resp, err := http.Post(base+"/-/reload", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(logs.String(), "configuration reloaded") ||
		!strings.Contains(logs.String(), "configuration file unchanged") {
		t.Errorf("reload of an unchanged file = %d, want 200 and nothing reloaded", resp.StatusCode)
	}

	// A broken config is refused and the running one kept.
	good, _ := os.ReadFile(cfgPath)
	if err := os.WriteFile(cfgPath, []byte("teams: {}\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Post(base+"/-/reload", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(body), `unknown key "bogus"`) {
		t.Errorf("bad reload = %d %q", resp.StatusCode, body)
	}
	_, metrics = get(t, base+"/metrics")
	if !strings.Contains(metrics, "crossteam_config_last_reload_successful 0") || !strings.Contains(metrics, `crossteam_handoffs_total{from_team="design",source="github",to_team="backend"} 1`) {
		t.Error("after a failed reload: want reload_successful 0 and the old numbers still served")
	}
	// SIGHUP takes the same path: the broken file is refused again, and
	// the failure is logged.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "SIGHUP reload attempt logged", func() bool {
		return strings.Count(logs.String(), "reload failed; keeping the previous configuration") >= 1
	})
	if err := os.WriteFile(cfgPath, good, 0o600); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Post(base+"/-/reload", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("good reload = %d", resp.StatusCode)
	}
	stop()
	if strings.Contains(logs.String(), serveToken) {
		t.Error("the token appears in the logs")
	}

	// Restart: the stored snapshot is served at once, before any sync —
	// point the target at a dead API to prove no fetch is needed.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	cfg2 := writeServeConfig(t, dir, dead.URL)
	addr2 := freeAddr(t)
	stop2 := startServe(t, cfg2, addr2, io.Discard)
	defer stop2()
	waitFor(t, "ready after restart", func() bool { code, _ := get(t, "http://"+addr2+"/-/ready"); return code == 200 })
	_, metrics = get(t, "http://"+addr2+"/metrics")
	if !strings.Contains(metrics, `crossteam_handoffs_total{from_team="design",source="github",to_team="backend"} 1`) {
		t.Error("restart did not serve the stored snapshot")
	}
}

// TestReloadNeedsLifecycle: without --web.enable-lifecycle, POST /-/reload
// is refused (403) and changes nothing, as in Prometheus.
func TestReloadNeedsLifecycle(t *testing.T) {
	api := fakeOrg(t)
	dir := t.TempDir()
	cfgPath := writeServeConfig(t, dir, api.URL)
	addr := freeAddr(t)
	logs := &syncBuffer{}
	stop := startServe(t, cfgPath, addr, logs, "--web.max-requests=40") // no --web.enable-lifecycle
	defer stop()
	waitFor(t, "serving", func() bool { code, _ := get(t, "http://"+addr+"/-/healthy"); return code == 200 })
	if err := os.WriteFile(cfgPath, []byte("teams: {}\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/-/reload", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "--web.enable-lifecycle") {
		t.Errorf("POST /-/reload without the flag = %d %q, want 403 naming the flag", resp.StatusCode, body)
	}
	if strings.Contains(logs.String(), "reload") {
		t.Errorf("a reload was attempted:\n%s", logs.String())
	}
	// SIGHUP always reloads, flag or not: the broken file is refused (and
	// the running configuration kept), a fixed one is loaded.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the SIGHUP reload refused", func() bool {
		return strings.Contains(logs.String(), "reload failed; keeping the previous configuration")
	})
	writeServeConfig(t, dir, api.URL+"/api/v3") // changed bytes, valid
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the SIGHUP reload done", func() bool { return strings.Contains(logs.String(), "configuration reloaded") })
}

// TestSetProcessors: without GOMAXPROCS in the environment the runtime
// gets one processor more than the cores; with it, the user's value stands.
func TestSetProcessors(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Setenv("GOMAXPROCS", "")
	setProcessors(logger)
	if got, want := runtime.GOMAXPROCS(0), cpulane.Processors(); got != want {
		t.Errorf("GOMAXPROCS %d after setProcessors, want %d", got, want)
	}
	if cpulane.Processors() <= cpulane.Width() {
		t.Errorf("Processors %d, Width %d: no processor left beyond the sync's sections", cpulane.Processors(), cpulane.Width())
	}
	runtime.GOMAXPROCS(1)
	t.Setenv("GOMAXPROCS", "1")
	setProcessors(logger)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS=1 in the environment: the runtime runs %d processors", got)
	}
}
