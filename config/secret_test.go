package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	inlineToken = "ghp_inlineTOKEN0123456789"
	fileToken   = "jira_fileTOKEN0123456789"
	privateKey  = "-----BEGIN RSA PRIVATE KEY-----MIIEsecretKEY-----END RSA PRIVATE KEY-----"
	urlPassword = "hunter2urlPASSWORD"
)

var allSecrets = []string{inlineToken, fileToken, privateKey, "MIIEsecretKEY", urlPassword}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range allSecrets {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows a secret:\n%s", what, s)
		}
	}
}

// secretConfig loads a valid config holding an inline token, a token file
// and an inline GitHub App private key.
func secretConfig(t *testing.T) *Config {
	t.Helper()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "jira-token")
	if err := os.WriteFile(tokenFile, []byte(fileToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf(`
teams:
  design:
    calendar: {timezone: Europe/Berlin, holidays: [2025-12-25]}
sources:
  github:
    - name: inline
      repos: [o/r]
      token: %q
    - name: app
      repos: [o/s]
      app:
        app_id: 1
        installation_id: 2
        private_key: %q
  jira:
    - name: dc
      url: https://jira.example.com
      deployment: datacenter
      token_file: %q
      projects: [P]
`, inlineToken, privateKey, tokenFile)
	path := filepath.Join(dir, "crossteam.yml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// Read the file secret once, so a cached value exists too.
	if v, err := c.Sources.Jira[0].TokenSource().Value(); err != nil || v != fileToken {
		t.Fatalf("token_file Value() = %q, %v", v, err)
	}
	return c
}

func TestSecretsDoNotPrint(t *testing.T) {
	c := secretConfig(t)
	var sum strings.Builder
	if err := c.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "WriteSummary", sum.String())

	red, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "Redacted", red)
	if n := strings.Count(red, secretMask); n != 2 {
		t.Errorf("Redacted shows %d masks, want 2 (token, private_key):\n%s", n, red)
	}

	gh, app, jira := c.Sources.GitHub[0], c.Sources.GitHub[1], c.Sources.Jira[0]
	values := map[string]any{
		"Config": c, "*Config": &c, "Sources": c.Sources,
		"*GitHubSource": gh, "GitHubSource": *gh, "*GitHubApp": app.App, "GitHubApp": *app.App,
		"*JiraSource": jira, "JiraSource": *jira,
		"Secret": gh.Token, "[]Secret": []Secret{gh.Token},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			assertNoSecret(t, fmt.Sprintf("Sprintf(%s, %s)", verb, name), fmt.Sprintf(verb, v))
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Errorf("json.Marshal(%s): %v", name, err)
		}
		assertNoSecret(t, "json.Marshal("+name+")", string(b))
	}

	var log strings.Builder
	logger := slog.New(slog.NewJSONHandler(&log, nil))
	logger.Info("loaded", "github", gh, "token", gh.Token, "app", app.App)
	slog.New(slog.NewTextHandler(&log, nil)).Info("loaded", "github", gh, "token", gh.Token)
	assertNoSecret(t, "slog", log.String())
}

func TestSecretSourcesDoNotPrint(t *testing.T) {
	c := secretConfig(t)
	for _, src := range []*SecretSource{c.Sources.GitHub[0].TokenSource(), c.Sources.GitHub[1].App.PrivateKeySource(), c.Sources.Jira[0].TokenSource()} {
		if _, err := src.Value(); err != nil {
			t.Fatal(err)
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			assertNoSecret(t, "SecretSource "+verb, fmt.Sprintf(verb, src))
		}
	}
	if got := c.Sources.GitHub[0].TokenSource().String(); got != "inline <secret>" {
		t.Errorf("String() = %q", got)
	}
	if got := c.Sources.Jira[0].TokenSource().String(); !strings.HasPrefix(got, "file /") {
		t.Errorf("String() = %q", got)
	}
}

// An invalid configuration holding secrets reports every problem without
// repeating a secret, including a password written into a URL.
func TestValidationErrorsDoNotShowSecrets(t *testing.T) {
	doc := fmt.Sprintf(`
teams:
  design: {members: [%[1]q]}
  backend: {members: [%[1]q]}
sources:
  github:
    - name: gh
      base_url: "ftp://bot:%[3]s@ghe.example.com/"
      token: %[1]q
      token_env: GITHUB_TOKEN
      app: {app_id: 0, private_key: %[2]q}
  jira:
    - name: j
      url: "https://bot:%[3]s @jira.example.com"
      token: %[1]q
      token_file: /run/secrets/jira
      projects: [lower]
    - name: k
      url: "http://bot:%[3]s@jira.example.com"
      token: %[1]q
      deployment: datacenter
      projects: [P]
signals:
  - name: %[1]q
`, "not-a-secret-member", privateKey, urlPassword)
	doc = strings.Replace(doc, "gh\n", "gh\n      repos: [\"o/r\"]\n", 1)
	doc += fmt.Sprintf("    github_labels: [x]\n  - {name: leak, jira_jql: %q}\n", inlineToken)
	_, err := Parse([]byte(doc))
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	if n := strings.Count(msg, "\n") + 1; n < 8 {
		t.Errorf("want at least 8 errors, got %d:\n%s", n, msg)
	}
	assertNoSecret(t, "validation error", msg)
	for _, want := range []string{"sources.github[0].base_url", "sources.github[0]: set either app", "sources.jira[0].url", "sources.jira[1].url", "sources.jira[0]: set only one"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}

	// A decoding error in a file holding a token does not show it either.
	_, err = Parse([]byte(fmt.Sprintf("teams: {design: {}}\nsources:\n  github:\n    - {name: gh, token: %q, tokn: x}\n", inlineToken)))
	if err == nil {
		t.Fatal("want an unknown key error")
	}
	assertNoSecret(t, "decoding error", err.Error())
}

func TestSecretSourceInline(t *testing.T) {
	s := &SecretSource{Inline: "abc", File: "/ignored", Env: "IGNORED"}
	if v, err := s.Value(); v != "abc" || err != nil {
		t.Errorf("Value() = %q, %v", v, err)
	}
}

func TestSecretSourceEnv(t *testing.T) {
	t.Setenv("CROSSTEAM_TEST_TOKEN", "  from-env\n")
	s := &SecretSource{Env: "CROSSTEAM_TEST_TOKEN"}
	if v, err := s.Value(); v != "from-env" || err != nil {
		t.Errorf("Value() = %q, %v", v, err)
	}
	t.Setenv("CROSSTEAM_TEST_TOKEN", "rotated")
	if v, err := s.Value(); v != "rotated" || err != nil {
		t.Errorf("Value() after change = %q, %v", v, err)
	}
	t.Setenv("CROSSTEAM_TEST_TOKEN", " ")
	if _, err := s.Value(); err == nil || err.Error() != "environment variable CROSSTEAM_TEST_TOKEN is empty or unset" {
		t.Errorf("Value() of an empty variable: %v", err)
	}
	s = &SecretSource{Env: "CROSSTEAM_TEST_UNSET_VARIABLE"}
	if _, err := s.Value(); err == nil || !strings.Contains(err.Error(), "CROSSTEAM_TEST_UNSET_VARIABLE") {
		t.Errorf("Value() of an unset variable: %v", err)
	}
}

func TestSecretSourceNone(t *testing.T) {
	if _, err := (&SecretSource{}).Value(); err == nil || err.Error() != "no secret configured" {
		t.Errorf("Value() = %v", err)
	}
}

func TestSecretSourceFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	write := func(v string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	s := &SecretSource{File: path}
	check := func(want string) {
		t.Helper()
		if v, err := s.Value(); v != want || err != nil {
			t.Fatalf("Value() = %q, %v; want %q", v, err, want)
		}
	}

	write("first-token\n", t0)
	check("first-token")
	check("first-token")

	// A rotated token of another size is read at once.
	write("second-token-longer\n", t0)
	check("second-token-longer")

	// Same size, new modification time: read again.
	write("third-token-longer!\n", t0.Add(time.Minute))
	check("third-token-longer!")

	// Same size and modification time: the cached value is kept (the file
	// is not read on every call).
	write("fourth-token-long!!\n", t0.Add(time.Minute))
	check("third-token-longer!")

	// An emptied file is an error that names the file, not the old value.
	write(" \n", t0.Add(2*time.Minute))
	_, err := s.Value()
	if err == nil || err.Error() != "secret file "+path+" is empty" {
		t.Errorf("Value() of an empty file: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "token-longer") {
		t.Errorf("error shows the old value: %v", err)
	}

	// A removed file is an error naming the file.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = s.Value()
	if err == nil || !strings.Contains(err.Error(), path) || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("Value() of a missing file: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "token-longer") {
		t.Errorf("error shows the old value: %v", err)
	}

	// And it recovers when the file comes back.
	write("fifth-token\n", t0.Add(3*time.Minute))
	check("fifth-token")
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestSecretString(t *testing.T) {
	var empty Secret
	for _, tt := range []struct{ got, want string }{
		{Secret("x").String(), "<secret>"},
		{empty.String(), ""},
		{fmt.Sprintf("%q", Secret("x")), `"<secret>"`},
		{fmt.Sprintf("%#v", Secret("x")), "<secret>"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// Collectors share one SecretSource between goroutines.
func TestSecretSourceConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &SecretSource{File: path}
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func() {
			var err error
			for j := 0; j < 50 && err == nil; j++ {
				var v string
				if v, err = s.Value(); err == nil && v != "tok" {
					err = fmt.Errorf("Value() = %q", v)
				}
			}
			done <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestRedactedWithoutMembers: /config's view shows no login, Jira account
// id or email of a member, and keeps the rest of the configuration.
func TestRedactedWithoutMembers(t *testing.T) {
	c, err := Parse([]byte(`
teams:
  design:
    members: [alice-login, {jira: "5b10ac8d82e05b22cc7d4ef5"}, {email: carol@example.com}]
    markers: {github_labels: ["team:design"]}
  backend: {members: [bob-login]}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.RedactedWithoutMembers()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"alice-login", "5b10ac8d82e05b22cc7d4ef5", "carol@example.com", "bob-login"} {
		if strings.Contains(s, id) {
			t.Errorf("member identity %q shown:\n%s", id, s)
		}
	}
	for _, want := range []string{"design: # 3 members (not shown)", "backend: # 1 members (not shown)", "team:design"} {
		if !strings.Contains(s, want) {
			t.Errorf("view lacks %q:\n%s", want, s)
		}
	}
	if len(c.Teams["design"].Members) != 3 {
		t.Error("the running configuration lost its members")
	}
}
