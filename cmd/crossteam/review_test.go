package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/shard"
	"github.com/crossteam/crossteam/store"
)

// syncedServeConfig syncs the serve test's fake org (a handoff
// design->backend at 2026-03-02T10:00Z, picked up at 12:00) into a store
// and returns the configuration file naming it.
func syncedServeConfig(t *testing.T) (dir, cfgPath string) {
	t.Helper()
	api := fakeOrg(t)
	dir = t.TempDir()
	cfgPath = writeServeConfig(t, dir, api.URL)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	st, err := store.Open(context.Background(), cfg.Store.Path, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	targets, err := newTargets(cfg, st, exposition.NewHealth(), logger, nil, shard.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if err := tg.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return dir, cfgPath
}

// hookReceiver is a Slack-compatible incoming webhook on loopback whose
// secret is in the path.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	posts  []string // the "text" of each post
	status int
}

const hookSecret = "T0001/B0001/s3cr3tw3bh00k"

func newHookReceiver(t *testing.T, status int) (*hookReceiver, string) {
	h := &hookReceiver{status: status}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Text string `json:"text"`
		}
		if r.Method != http.MethodPost || r.URL.Path != "/services/"+hookSecret || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.posts = append(h.posts, body.Text)
		h.mu.Unlock()
		w.WriteHeader(h.status)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(h.Close)
	file := filepath.Join(t.TempDir(), "webhook-url")
	if err := os.WriteFile(file, []byte(h.URL+"/services/"+hookSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return h, file
}

func (h *hookReceiver) received() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.posts...)
}

// TestReviewCommand: the last complete week at 2026-03-10 is W10, which
// holds the fake org's one handoff (2h pickup: in (1h,4h], so median
// 3600+10800*0.5 = 2h30m and p90 3600+10800*0.9 = 3h42m); the digest is
// posted as {"text": review.md}.
func TestReviewCommand(t *testing.T) {
	dir, cfgPath := syncedServeConfig(t)
	hook, hookFile := newHookReceiver(t, http.StatusOK)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCmd(t, "review", "--config.file="+cfgPath, "--review.at=2026-03-10T00:00:00Z",
		"--review.out="+out, "--review.webhook-url-file="+hookFile)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, "review.md"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, "review.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Cross-team review, week 2026-W10 (Mon 2 Mar 2026 to Sun 8 Mar 2026, UTC)",
		"| github | design | backend | 1 | 1 | 2h30m | 3h42m | - / - | – |",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("review.md lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(string(page), "<svg") || !strings.Contains(string(page), "design → backend (github)") {
		t.Errorf("review.html lacks the pair's chart")
	}
	if posts := hook.received(); len(posts) != 1 || posts[0] != string(md) {
		t.Errorf("webhook got %d posts, want review.md once: %q", len(posts), posts)
	}
	if strings.Contains(stderr, hookSecret) || !strings.Contains(stderr, "digest posted") {
		t.Errorf("stderr %q", stderr)
	}
}

func TestReviewCommandErrors(t *testing.T) {
	dir, cfgPath := syncedServeConfig(t)
	hook, hookFile := newHookReceiver(t, http.StatusOK)
	failing, failingFile := newHookReceiver(t, http.StatusInternalServerError)
	dead, deadFile := newHookReceiver(t, http.StatusOK)
	dead.Close() // connection refused
	badURL := filepath.Join(dir, "bad-url")
	if err := os.WriteFile(badURL, []byte("hooks.example.com/"+hookSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	at := "--review.at=2026-03-10T00:00:00Z"
	for _, tc := range []struct {
		name    string
		args    []string
		want    string
		written bool // the review was computed and written before the failure
	}{
		{"malformed week", []string{"--review.week=2026-10"}, `--review.week: week "2026-10": want an ISO week like 2026-W48`, false},
		{"unknown week", []string{"--review.week=2026-W54"}, `--review.week: week "2026-W54": 2026 has weeks 01 to 53`, false},
		{"future week", []string{"--review.week=2026-W11", "--review.webhook-url-file=" + hookFile},
			"week 2026-W11 is not complete yet (it ends 2026-03-16T00:00:00Z); the last complete week is 2026-W10", false},
		{"before the history", []string{"--review.week=2026-W09", "--review.webhook-url-file=" + hookFile},
			"week 2026-W09 is before the stored history, whose first week is 2026-W10 (first stored event 2026-03-02T09:00:00Z)", false},
		{"unreadable webhook file", []string{"--review.webhook-url-file=" + filepath.Join(dir, "missing")},
			"--review.webhook-url-file: secret file: stat " + filepath.Join(dir, "missing") + ": no such file or directory", false},
		{"webhook fails", []string{"--review.webhook-url-file=" + failingFile}, "answered 500 Internal Server Error: ok", true},
		{"webhook down", []string{"--review.webhook-url-file=" + deadFile}, "webhook: posting the digest to host " + strings.TrimPrefix(dead.URL, "http://") + ": ", true},
		{"webhook not a URL", []string{"--review.webhook-url-file=" + badURL}, "--review.webhook-url-file " + badURL + ": webhook: the URL in the webhook file must be http or https", false},
		{"bad instant", []string{"--review.at=tomorrow"}, `--review.at "tomorrow": want an RFC 3339 time`, false},
	} {
		args := []string{"review", "--config.file=" + cfgPath, "--review.out=" + filepath.Join(dir, "out-"+tc.name)}
		if !strings.HasPrefix(tc.args[0], "--review.at") {
			args = append(args, at)
		}
		args = append(args, tc.args...)
		code, _, stderr := runCmd(t, args...)
		if code != exitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tc.name, code, stderr, tc.want)
		}
		if strings.Contains(stderr, hookSecret) {
			t.Errorf("%s: stderr shows the webhook URL: %q", tc.name, stderr)
		}
		// A review that failed before posting wrote nothing.
		if _, err := os.Stat(filepath.Join(dir, "out-"+tc.name, "review.md")); (err == nil) != tc.written {
			t.Errorf("%s: review.md written: %v, want %v", tc.name, err == nil, tc.written)
		}
	}
	if n := len(hook.received()); n != 0 {
		t.Errorf("%d posts while the review failed to compute, want none", n)
	}
	if n := len(failing.received()); n != 1 {
		t.Errorf("failing webhook got %d posts, want 1", n)
	}
}
