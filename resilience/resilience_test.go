package resilience

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestScrubberString(t *testing.T) {
	const tok = "s3cr3t-value-not-token-shaped"
	basic := base64.StdEncoding.EncodeToString([]byte("bot@example.com:" + tok))
	sc := &Scrubber{Secrets: func() []string { return []string{tok, "bot@example.com:" + tok, "ab"} }}
	for _, tc := range []struct{ in, want string }{
		{"plain text stays", "plain text stays"},
		{"value " + tok + " echoed", "value <secret> echoed"},
		{"Authorization: Basic " + basic, "Authorization: Basic <secret>"},
		{"raw " + basic, "raw <secret>"},
		{"b64 of token " + base64.StdEncoding.EncodeToString([]byte(tok)), "b64 of token <secret>"},
		{"Authorization: Bearer ghp_0123456789abcdefABCDEF0123456789abcd", "Authorization: Bearer <secret>"},
		{"authorization: token gho_0123456789abcdefABCDEF", "authorization: token <secret>"},
		{"pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz here", "pat <secret> here"},
		{"installation ghs_0123456789abcdefABCDEF01 expired", "installation <secret> expired"},
		{"jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjMifQ.c2lnbmF0dXJlLXZhbHVl", "jwt <secret>"},
		{"atlassian ATATT3xFfGF0T4k3nValue0123456789", "atlassian <secret>"},
		{"Bearer short", "Bearer short"}, // under 8 characters: not a credential
		{"ab is too short to mask", "ab is too short to mask"},
	} {
		if got := sc.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestScrubberErrorUnwraps(t *testing.T) {
	sentinel := errors.New("sentinel")
	sc := &Scrubber{Secrets: func() []string { return []string{"hunter2hunter2"} }}
	err := sc.Error(errors.Join(sentinel, errors.New("got hunter2hunter2 back")))
	if !errors.Is(err, sentinel) {
		t.Error("scrubbed error does not unwrap")
	}
	if strings.Contains(err.Error(), "hunter2") || sc.Error(nil) != nil {
		t.Errorf("Error = %q", err)
	}
}

// TestScrubTransport: error bodies are scrubbed and cut; 2xx bodies are
// untouched whatever they hold.
func TestScrubTransport(t *testing.T) {
	long := strings.Repeat("é", 3000) // 6000 bytes, cut at a rune boundary
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, "Bearer ghp_0123456789abcdefABCDEF0123456789abcd")
		case "/long":
			w.WriteHeader(500)
			io.WriteString(w, long)
		default:
			w.WriteHeader(403)
			io.WriteString(w, "echo: "+r.Header.Get("Authorization"))
		}
	}))
	defer srv.Close()
	sc := &Scrubber{Secrets: func() []string { return []string{"my-current-token-value"} }}
	c := &http.Client{Transport: sc.Transport(http.DefaultTransport)}
	body := func(path, auth string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", auth)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := body("/ok", ""); got != "Bearer ghp_0123456789abcdefABCDEF0123456789abcd" {
		t.Errorf("2xx body changed: %q", got)
	}
	if got := body("/denied", "my-current-token-value"); got != "echo: <secret>" {
		t.Errorf("403 body = %q", got)
	}
	got := body("/long", "")
	if want := long[:MaxUpstreamText] + " [cut]"; got != want {
		t.Errorf("long body: %d bytes, want %d", len(got), len(want))
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{{"", 0, false}, {"7", 7 * time.Second, true}, {" 0 ", 0, true}, {"-1", 0, false}, {"soon", 0, false},
		{"Mon, 02 Mar 2026 09:01:30 GMT", 90 * time.Second, true}, {"Mon, 02 Mar 2026 08:00:00 GMT", 0, true}} {
		if d, ok := RetryAfter(tc.in, now); d != tc.want || ok != tc.ok {
			t.Errorf("RetryAfter(%q) = %v %v, want %v %v", tc.in, d, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffAndJitter(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 30 * time.Second, 40: 30 * time.Second} {
		if got := Exponential(attempt, time.Second, 30*time.Second); got != want {
			t.Errorf("Exponential(%d) = %v, want %v", attempt, got, want)
		}
		for i := 0; i < 50; i++ {
			if j := HalfJitter(want); j < want/2 || j > want {
				t.Fatalf("HalfJitter(%v) = %v", want, j)
			}
			if j := AddJitter(want, 0.1); j < want || j > want+want/10 {
				t.Fatalf("AddJitter(%v) = %v", want, j)
			}
		}
	}
}

func TestSleepCtx(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := SleepCtx(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled sleep = %v", err)
	}
	if err := SleepCtx(context.Background(), time.Millisecond); err != nil {
		t.Error(err)
	}
}
