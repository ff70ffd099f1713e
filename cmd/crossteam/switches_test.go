package main

import (
	"os"
	"strings"
	"testing"
)

// TestCollectorSwitches: --no-collector.jira and CROSSTEAM_COLLECTOR_GITHUB
// =false turn a source off without editing the file: its targets are not
// synced (no health series, no requests), the other source's are.
func TestCollectorSwitches(t *testing.T) {
	api := fakeOrg(t)
	dir := t.TempDir()
	cfgPath := writeServeConfig(t, dir, api.URL)
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// A Jira target nothing answers: synced, it would be down.
	text := strings.Replace(string(raw), "store:", `  jira:
    - name: nowhere
      url: http://127.0.0.1:1
      deployment: cloud
      email: bot@acme.example
      token_env: CROSSTEAM_TEST_JIRA_TOKEN
      projects: [CORE]
store:`, 1)
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CROSSTEAM_TEST_JIRA_TOKEN", "jira-token-value")

	for _, tc := range []struct {
		name        string
		flags       []string
		env         string
		want, unwan string
		log         string
	}{
		{"flag", []string{"--no-collector.jira"}, "",
			`crossteam_source_up{source="github",target="acme"} 1`, `source="jira"`, "Jira collector switched off"},
		{"env", []string{"--collector.jira"}, "false",
			`crossteam_source_up{source="jira",target="nowhere"} 0`, `source="github"`, "GitHub collector switched off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("CROSSTEAM_COLLECTOR_GITHUB", tc.env)
			}
			addr := freeAddr(t)
			logs := &syncBuffer{}
			stop := startServe(t, cfgPath, addr, logs, tc.flags...)
			defer stop()
			defer func() {
				if t.Failed() {
					t.Log(logs.String())
				}
			}()
			var metrics string
			waitFor(t, tc.want, func() bool {
				_, metrics = get(t, "http://"+addr+"/metrics")
				return strings.Contains(metrics, tc.want)
			})
			// No health or API series for the switched-off source: its
			// targets do not exist in this run.
			for _, l := range strings.Split(metrics, "\n") {
				for _, p := range []string{"crossteam_source_up", "crossteam_sync_duration_seconds", "crossteam_last_sync_success", "crossteam_api_"} {
					if strings.HasPrefix(l, p) && strings.Contains(l, tc.unwan) {
						t.Errorf("switched-off source has a target: %s", l)
					}
				}
			}
			// The first run stored GitHub's history; switched off, it is
			// still exported (a switch stops syncing, it deletes nothing).
			if tc.name == "env" && !strings.Contains(metrics, `crossteam_handoffs_total{from_team="design",source="github",to_team="backend"} 1`) {
				t.Error("stored GitHub history not exported with the GitHub collector off")
			}
			if !strings.Contains(logs.String(), tc.log) {
				t.Errorf("logs lack %q:\n%s", tc.log, logs.String())
			}
		})
	}
}
