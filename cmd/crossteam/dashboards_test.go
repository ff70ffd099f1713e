package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossteam/crossteam/dashboards"
	"github.com/crossteam/crossteam/dashboards/grafana/fakegrafana"
)

// --out writes exactly the committed files (dashboards and rules beside the
// dashboards package, provisioning under deploy/grafana).
func TestDashboardsOutMatchesCommittedFiles(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCmd(t, "dashboards", "--out", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	committed := map[string]string{
		"json/overview.json":                      "../../dashboards/json/overview.json",
		"json/health.json":                        "../../dashboards/json/health.json",
		"rules/crossteam.alerts.yml":              "../../dashboards/rules/crossteam.alerts.yml",
		"rules/crossteam.rules.yml":               "../../dashboards/rules/crossteam.rules.yml",
		"provisioning/dashboards/crossteam.yaml":  "../../deploy/grafana/provisioning/dashboards/crossteam.yaml",
		"provisioning/datasources/crossteam.yaml": "../../deploy/grafana/provisioning/datasources/crossteam.yaml",
	}
	for gen, repo := range committed {
		got, err := os.ReadFile(filepath.Join(dir, gen))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(repo)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s", gen, repo)
		}
		if !strings.Contains(stdout, "wrote "+filepath.Join(dir, gen)+"\n") {
			t.Errorf("stdout does not list %s:\n%s", gen, stdout)
		}
	}
	// The provider path follows the flag.
	code, _, stderr = runCmd(t, "dashboards", "--out", dir, "--provisioning.dashboards-path=/srv/dash")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	p, _ := os.ReadFile(filepath.Join(dir, "provisioning/dashboards/crossteam.yaml"))
	if !strings.Contains(string(p), "path: /srv/dash\n") {
		t.Errorf("provider:\n%s", p)
	}
}

func TestDashboardsPush(t *testing.T) {
	const token = "glsa_cmd-test-token"
	g := fakegrafana.New(token)
	g.AddDatasource(fakegrafana.Datasource{UID: "crossteam-prometheus", Name: "Prometheus", Type: "prometheus"})
	srv := httptest.NewServer(g)
	defer srv.Close()

	t.Setenv(grafanaTokenEnv, token)
	code, stdout, stderr := runCmd(t, "dashboards", "--grafana.url", srv.URL, "--grafana.message", "test push")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	n := len(dashboards.Boards)
	if want := fmt.Sprintf("grafana 11.3.0: folder crossteam (created), datasource crossteam-prometheus: %d created, 0 updated, 0 unchanged\n", n); stdout != want {
		t.Errorf("stdout %q\nwant   %q", stdout, want)
	}
	if d, ok := g.Dashboard("crossteam-team"); !ok || d.Messages[0] != "test push" || d.FolderUID != "crossteam" {
		t.Errorf("stored %+v", d)
	}

	// The token from a file; a second run changes nothing.
	t.Setenv(grafanaTokenEnv, "")
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCmd(t, "dashboards", "--grafana.url", srv.URL, "--grafana.token-file", file)
	if code != exitOK || !strings.HasSuffix(stdout, fmt.Sprintf("folder crossteam (reused), datasource crossteam-prometheus: 0 created, 0 updated, %d unchanged\n", n)) {
		t.Errorf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
}

func TestDashboardsErrors(t *testing.T) {
	g := fakegrafana.New("right")
	srv := httptest.NewServer(g)
	defer srv.Close()
	cases := []struct {
		name     string
		env      string
		args     []string
		code     int
		stderr   string
		noLeakOf string
	}{
		{"nothing to do", "", []string{"dashboards"}, exitUsage, "needs --out DIR, --grafana.url URL or both", ""},
		{"no token", "", []string{"dashboards", "--grafana.url", srv.URL}, exitError, "set $CROSSTEAM_GRAFANA_TOKEN or --grafana.token-file", ""},
		{"missing token file", "", []string{"dashboards", "--grafana.url", srv.URL, "--grafana.token-file", "/nonexistent/token"}, exitError, "grafana token: open /nonexistent/token", ""},
		{"refused token", "wrong-s3cret", []string{"dashboards", "--grafana.url", srv.URL}, exitError, "HTTP 401", "wrong-s3cret"},
		{"token flag does not exist", "", []string{"dashboards", "--grafana.url", srv.URL, "--grafana.token", "x"}, exitUsage, "unknown long flag '--grafana.token'", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(grafanaTokenEnv, c.env)
			code, _, stderr := runCmd(t, c.args...)
			if code != c.code || !strings.Contains(stderr, c.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.stderr)
			}
			if c.noLeakOf != "" && strings.Contains(stderr, c.noLeakOf) {
				t.Errorf("stderr leaks the token: %q", stderr)
			}
		})
	}
}
