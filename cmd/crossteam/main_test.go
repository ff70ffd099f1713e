package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCheckConfigExample(t *testing.T) {
	path := filepath.Join("..", "..", "config", "example.yml")
	code, stdout, stderr := runCmd(t, "check-config", "--config.file="+path, "--config.skip-secret-files")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want nothing", stderr)
	}
	for _, want := range []string{
		"config OK: " + path + "\n",
		"teams: 3\n",
		"  design: ",
		"github/ghe: https://github.example.com/api/v3/",
		"jira/jira-dc: https://jira.example.com (datacenter)",
		"store: /var/lib/crossteam/crossteam.db; sync every 5m\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.HasPrefix(stdout, "config OK: ") {
		t.Errorf("stdout does not start with the OK line:\n%s", stdout)
	}
}

func TestCheckConfigBad(t *testing.T) {
	path := filepath.Join("..", "..", "config", "testdata", "bad-github-auth-none.yml")
	code, stdout, stderr := runCmd(t, "check-config", "--config.file", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	want := "config " + path + ": sources.github[0]: set one of token, token_file, token_env or app\n"
	if stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

// Every line of a multi-error report names the file.
func TestCheckConfigManyErrors(t *testing.T) {
	path := filepath.Join("..", "..", "config", "testdata", "bad-many.yml")
	code, _, stderr := runCmd(t, "check-config", "--config.file="+path)
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if code != 1 || len(lines) != 6 {
		t.Fatalf("exit %d, want 1 and 6 lines:\n%s", code, stderr)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "config "+path+": ") {
			t.Errorf("line does not name the file: %q", l)
		}
	}
	if !strings.Contains(lines[2], "handoffs.stall_clock") {
		t.Errorf("third error = %q, want handoffs.stall_clock", lines[2])
	}
}

func TestCheckConfigMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yml")
	code, _, stderr := runCmd(t, "check-config", "--config.file="+path)
	if code != 1 || !strings.Contains(stderr, path) {
		t.Errorf("exit %d, stderr %q; want 1 and the file named", code, stderr)
	}
}

func TestCheckConfigDoesNotPrintSecrets(t *testing.T) {
	const token = "ghp_cmdTestTOKEN9876543210"
	const key = "-----BEGIN RSA PRIVATE KEY-----cmdTestKEY-----END RSA PRIVATE KEY-----"
	dir := t.TempDir()
	good := `
teams: {design: {members: [alice]}, backend: {}}
sources:
  github:
    - {name: gh, repos: [o/r], token: "` + token + `"}
    - {name: app, repos: [o/s], app: {app_id: 1, installation_id: 2, private_key: "` + key + `"}}
  jira:
    - {name: j, url: "https://jira.example.com", deployment: datacenter, token: "` + token + `", projects: [P]}
`
	bad := good + `
handoffs: {stall_clock: sometimes}
signals: [{name: "` + token + `x->", github_labels: [x]}]
`
	bad = strings.Replace(bad, "repos: [o/r], ", "repos: [o/r], token_env: GH, base_url: \"ftp://me:"+token+"@h/\", ", 1)
	for name, doc := range map[string]string{"good.yml": good, "bad.yml": bad} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCmd(t, "--log.level=debug", "check-config", "--config.file="+path)
		if want := map[string]int{"good.yml": 0, "bad.yml": 1}[name]; code != want {
			t.Errorf("%s: exit %d, want %d\n%s%s", name, code, want, stdout, stderr)
		}
		for _, secret := range []string{token, key, "cmdTestKEY"} {
			if strings.Contains(stdout, secret) || strings.Contains(stderr, secret) {
				t.Errorf("%s: output shows a secret:\nstdout:\n%s\nstderr:\n%s", name, stdout, stderr)
			}
		}
		if name == "bad.yml" && strings.Count(stderr, "\n") < 4 {
			t.Errorf("bad.yml: want several errors, got:\n%s", stderr)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	code, stdout, _ := runCmd(t, "--version")
	if code != 0 || !strings.HasPrefix(stdout, "crossteam, version") {
		t.Errorf("--version: exit %d, stdout %q", code, stdout)
	}
	code, stdout, _ = runCmd(t, "--help")
	if code != 0 || strings.Count(stdout, "usage: crossteam") != 1 || !strings.Contains(stdout, "check-config") {
		t.Errorf("--help: exit %d, stdout:\n%s", code, stdout)
	}
	code, stdout, _ = runCmd(t, "check-config", "--help")
	if code != 0 || !strings.Contains(stdout, "--config.file") || !strings.Contains(stdout, "--log.level") {
		t.Errorf("check-config --help: exit %d, stdout:\n%s", code, stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"no-such-command"},
		{"check-config", "--no-such-flag"},
		{"--log.level=loud", "check-config"},
		{"--log.format=xml", "check-config"},
	} {
		code, _, stderr := runCmd(t, args...)
		if code != 2 || !strings.HasPrefix(stderr, "crossteam: error: ") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and an error", args, code, stderr)
		}
	}
}

// TestCheckConfigSecretFiles: a token_file that is missing or a directory
// fails check-config with the field path.
func TestCheckConfigSecretFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, tokenFile, want string }{
		{"missing", filepath.Join(dir, "nope"), "sources.github[0].token_file: stat " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"directory", dir, "sources.github[0].token_file: " + dir + " is a directory, not a file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".yml")
			cfg := "teams:\n  design: {}\nsources:\n  github:\n    - name: gh\n      repos: [o/r]\n      token_file: " + tc.tokenFile + "\n"
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCmd(t, "check-config", "--config.file="+path)
			if want := "config " + path + ": " + tc.want + "\n"; code != 1 || stderr != want {
				t.Errorf("exit %d, stderr %q, stdout %q; want 1 and %q", code, stderr, stdout, want)
			}
		})
	}
}
