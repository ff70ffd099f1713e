package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSecretsNeverShown drives serve through the failure paths a token can
// travel (a token the API refuses: 401; a token without access: 403; a dead
// API: network error; a broken config reloaded; check-config of a broken
// file), with debug logging on, and asserts that no token appears in the
// logs, /metrics, the landing page, /config, /-/ready, the reload answer or
// check-config's output. Each token is 32+ characters so a match cannot be
// a coincidence.
func TestSecretsNeverShown(t *testing.T) {
	const (
		refused   = "ghp_REFUSED0000000000000000000000000001"
		forbidden = "ghp_FORBIDDEN00000000000000000000000002"
		deadTok   = "ghp_DEADAPI000000000000000000000000003"
		inline    = "ghp_INLINEINBROKENCONFIG000000000000004"
		jiraTok   = "jira-token-not-token-shaped-0000000005"
		jiraEmail = "bot@example.com"
	)
	jiraBasic := base64.StdEncoding.EncodeToString([]byte(jiraEmail + ":" + jiraTok))
	secrets := []string{refused, forbidden, deadTok, inline, jiraTok, jiraBasic}

	api := fakeOrg(t) // accepts serveToken only: refused gets 401
	var (
		mu      sync.Mutex
		sawAuth []string
	)
	forbid := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sawAuth = append(sawAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		// As a proxy or WAF in front of GitHub may, echo the credential.
		fmt.Fprintf(w, `{"message":"Resource not accessible (request had Authorization: %s)","documentation_url":"https://docs.github.com/rest","status":"403"}`, r.Header.Get("Authorization"))
	}))
	defer forbid.Close()
	// A Jira front-end that refuses every request with 400, echoing the
	// Basic credential (base64 of email:token) in its error message.
	jiraEcho := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"errorMessages":["bad request, headers: Authorization=%s"],"errors":{}}`, r.Header.Get("Authorization"))
	}))
	defer jiraEcho.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "forbidden-token")
	if err := os.WriteFile(tokenFile, []byte(forbidden+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CROSSTEAM_TEST_REFUSED_TOKEN", refused)
	cfg := `
teams:
  design: {members: [alice], markers: {github_labels: ["team:design"]}}
  backend: {members: [bob], markers: {github_labels: ["team:backend"]}}
sources:
  github:
    - name: refused
      base_url: ` + api.URL + `/
      repos: [acme/web]
      token_env: CROSSTEAM_TEST_REFUSED_TOKEN
    - name: forbidden
      base_url: ` + forbid.URL + `/
      repos: [acme/web]
      token_file: ` + tokenFile + `
    - name: dead
      base_url: ` + dead.URL + `/
      repos: [acme/web]
      token: ` + deadTok + `
  jira:
    - name: echo
      url: ` + jiraEcho.URL + `
      email: ` + jiraEmail + `
      token: ` + jiraTok + `
      projects: [OPS]
store:
  path: ` + filepath.Join(dir, "crossteam.db") + `
sync:
  interval: 1h
`
	cfgPath := filepath.Join(dir, "crossteam.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"serve", "--config.file=" + cfgPath, "--web.listen-address=" + addr, "--log.level=debug", "--web.enable-lifecycle"}, io.Discard, logs)
	}()
	var shown []string // every text a user or a scraper can see
	waitFor(t, "all three targets down", func() bool {
		_, m := get(t, base+"/metrics")
		return strings.Contains(m, `crossteam_source_up{source="github",target="refused"} 0`) &&
			strings.Contains(m, `crossteam_source_up{source="github",target="forbidden"} 0`) &&
			strings.Contains(m, `crossteam_source_up{source="github",target="dead"} 0`) &&
			strings.Contains(m, `crossteam_source_up{source="jira",target="echo"} 0`)
	})
	// source_up is 0 before a target's first sync too: wait until each
	// failure has been logged (the checks below read the logs).
	waitFor(t, "every target's failure logged", func() bool {
		l := logs.String()
		return strings.Contains(l, "401") && strings.Contains(l, "403") && strings.Contains(l, "connection refused") && strings.Contains(l, "HTTP 400")
	})
	for _, p := range []string{"/metrics", "/", "/config", "/-/ready", "/-/healthy"} {
		_, body := get(t, base+p)
		shown = append(shown, p+": "+body)
	}
	// A broken config with an inline token: the reload answer names the
	// problem, never the token.
	broken := strings.Replace(cfg, "token: "+deadTok, "token: "+inline+"\n      bogus: 1", 1)
	if err := os.WriteFile(cfgPath, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/-/reload", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(body), `unknown key "bogus"`) {
		t.Errorf("reload of a broken config = %d %q", resp.StatusCode, body)
	}
	shown = append(shown, "reload: "+string(body))
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	code, stdout, stderr := runCmd(t, "check-config", "--config.file="+cfgPath)
	if code != 1 {
		t.Errorf("check-config of the broken file exited %d", code)
	}
	shown = append(shown, "check-config: "+stdout+stderr, "logs: "+logs.String())

	for _, s := range secrets {
		for _, text := range shown {
			if strings.Contains(text, s) {
				where, _, _ := strings.Cut(text, ":")
				t.Errorf("secret %s…%s shown in %s", s[:8], s[len(s)-4:], where)
			}
		}
	}
	// The failures themselves are reported (the test would pass vacuously
	// if nothing was logged).
	for _, want := range []string{"401", "403", "connection refused", "Authorization: Bearer <secret>", "HTTP 400"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs do not report %q", want)
		}
	}
	// The 403 server did get the token: it was sent, only never shown.
	mu.Lock()
	defer mu.Unlock()
	if len(sawAuth) == 0 || !strings.Contains(sawAuth[0], forbidden) {
		t.Errorf("the forbidden target sent Authorization %q", sawAuth)
	}
}
