package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/crossteam/crossteam/sim"
)

// flagValues is every value of a repeatable flag.
func flagValues(cmd []string, name string) []string {
	var out []string
	for _, a := range cmd {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			out = append(out, v)
		}
	}
	return out
}

// volumeAt is the named volume mounted at a container path ("" if none).
func volumeAt(s types.ServiceConfig, target string) string {
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeVolume && v.Target == target {
			return v.Source
		}
	}
	return ""
}

func dependsOn(t *testing.T, s types.ServiceConfig, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for name, d := range s.DependsOn {
		got[name] = d.Condition
	}
	for name, cond := range want {
		if got[name] != cond {
			t.Errorf("%s depends on %s with %q, want %q", s.Name, name, got[name], cond)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s depends on %v, want %v", s.Name, got, want)
	}
}

// TestComposeStartOrder: the services start in the order their
// healthchecks allow: crossteam ready -> history loaded -> prometheus
// ready -> rules evaluated and grafana; every long-running service has a
// healthcheck, the one-shots run once.
func TestComposeStartOrder(t *testing.T) {
	p := compose(t)
	const healthy, done = types.ServiceConditionHealthy, types.ServiceConditionCompletedSuccessfully
	dependsOn(t, service(t, p, "prometheus-history"), map[string]string{"crossteam": healthy})
	dependsOn(t, service(t, p, "prometheus"), map[string]string{"crossteam": healthy, "alertmanager": healthy, "prometheus-history": done})
	dependsOn(t, service(t, p, "prometheus-rules-history"), map[string]string{"prometheus": healthy})
	dependsOn(t, service(t, p, "grafana"), map[string]string{"prometheus": healthy})

	for name, want := range map[string][]string{
		// The distroless image has no curl: the binary's own subcommand.
		"crossteam":    {"CMD", "/usr/local/bin/crossteam", "healthcheck", "--url=http://localhost:19280/-/ready"},
		"prometheus":   {"CMD", "wget", "-q", "--spider", "http://localhost:9090/-/ready"},
		"alertmanager": {"CMD", "wget", "-q", "--spider", "http://localhost:9093/-/ready"},
		"grafana":      {"CMD", "wget", "-q", "--spider", "http://localhost:3000/api/health"},
	} {
		s := service(t, p, name)
		if s.HealthCheck == nil || !slices.Equal([]string(s.HealthCheck.Test), want) {
			t.Errorf("%s healthcheck %+v, want %v", name, s.HealthCheck, want)
			continue
		}
		if s.HealthCheck.Interval == nil || time.Duration(*s.HealthCheck.Interval) > 30*time.Second || s.HealthCheck.Retries == nil || *s.HealthCheck.Retries < 3 {
			t.Errorf("%s healthcheck interval %v retries %v", name, s.HealthCheck.Interval, s.HealthCheck.Retries)
		}
	}
	for _, name := range []string{"prometheus-history", "prometheus-rules-history"} {
		s := service(t, p, name)
		if s.Restart != "no" || len(s.Entrypoint) != 2 || s.Entrypoint[0] != "/bin/sh" {
			t.Errorf("%s: restart %q, entrypoint %v: want a one-shot shell script", name, s.Restart, s.Entrypoint)
			continue
		}
		if hostPath(s, s.Entrypoint[1]) == "" {
			t.Errorf("%s runs %s, which no bind mount provides", name, s.Entrypoint[1])
		}
		if volumeAt(s, "/prometheus") != "prometheus-data" || volumeAt(service(t, p, "prometheus"), "/prometheus") != "prometheus-data" {
			t.Errorf("%s does not write Prometheus' data volume", name)
		}
	}
}

// TestComposeHistory: the demo writes its history where prometheus-history
// reads it, labelled as Prometheus scrapes the demo, and Prometheus keeps
// at least the history it is given.
func TestComposeHistory(t *testing.T) {
	p := compose(t)
	ct, ph, rh, prom := service(t, p, "crossteam"), service(t, p, "prometheus-history"), service(t, p, "prometheus-rules-history"), service(t, p, "prometheus")
	out := flagValue(ct.Command, "demo.backfill-out")
	in := ph.Environment["CROSSTEAM_HISTORY_FILE"]
	if out == "" || in == nil || filepath.Base(out) != filepath.Base(*in) {
		t.Fatalf("demo writes %q, prometheus-history reads %v", out, in)
	}
	if v := volumeAt(ct, filepath.Dir(out)); v == "" || v != volumeAt(ph, filepath.Dir(*in)) {
		t.Errorf("history directory: crossteam volume %q, prometheus-history volume %q", volumeAt(ct, filepath.Dir(out)), volumeAt(ph, filepath.Dir(*in)))
	}
	labels := flagValues(ct.Command, "demo.backfill-label")
	slices.Sort(labels)
	if want := []string{"instance=crossteam:19280", "job=crossteam"}; !slices.Equal(labels, want) {
		t.Errorf("backfill labels %v, want %v (the scrape's job and instance)", labels, want)
	}
	// The rules file evaluated is the committed one Prometheus loads.
	if r := rh.Environment["CROSSTEAM_RULES"]; r == nil || hostPath(rh, *r) != filepath.Join(repo(t), "dashboards", "rules", "crossteam.rules.yml") {
		t.Errorf("prometheus-rules-history evaluates %v", r)
	}
	// Retention: at least the rules' history, which covers the demo's.
	days, err := strconv.Atoi(*rh.Environment["CROSSTEAM_HISTORY_DAYS"])
	if err != nil {
		t.Fatal(err)
	}
	if demo := sim.Small().Months * 31; days < demo {
		t.Errorf("rules evaluated over %d days, the demo's history is up to %d", days, demo)
	}
	ret := flagValue(prom.Command, "storage.tsdb.retention.time")
	if n, err := strconv.Atoi(strings.TrimSuffix(ret, "d")); err != nil || n < days {
		t.Errorf("prometheus retention %q, want at least %dd", ret, days)
	}
}

// TestComposeRealHistory: with real sources, history-export writes the
// stored history once serve is ready, and prometheus-history waits for it.
func TestComposeRealHistory(t *testing.T) {
	p, err := loadProject(t, []string{"CROSSTEAM_CONFIG=./config/example.yml"}, "docker-compose.yml", "deploy/compose.real.yml")
	if err != nil {
		t.Fatal(err)
	}
	ct, hx, ph := service(t, p, "crossteam"), service(t, p, "history-export"), service(t, p, "prometheus-history")
	const healthy, done = types.ServiceConditionHealthy, types.ServiceConditionCompletedSuccessfully
	dependsOn(t, hx, map[string]string{"crossteam": healthy})
	dependsOn(t, ph, map[string]string{"crossteam": healthy, "history-export": done})
	if hx.Command[0] != "backfill" || flagValue(hx.Command, "config.file") != flagValue(ct.Command, "config.file") ||
		hostPath(hx, flagValue(hx.Command, "config.file")) != hostPath(ct, flagValue(ct.Command, "config.file")) {
		t.Errorf("history-export %v does not read crossteam's configuration", hx.Command)
	}
	if out := flagValue(hx.Command, "backfill.out"); out != *ph.Environment["CROSSTEAM_HISTORY_FILE"] || volumeAt(hx, filepath.Dir(out)) != volumeAt(ph, filepath.Dir(out)) {
		t.Errorf("history-export writes %q, prometheus-history reads %q", out, *ph.Environment["CROSSTEAM_HISTORY_FILE"])
	}
	if volumeAt(hx, "/var/lib/crossteam") != volumeAt(ct, "/var/lib/crossteam") {
		t.Error("history-export does not see the exporter's store volume")
	}
	labels := flagValues(hx.Command, "backfill.label")
	slices.Sort(labels)
	if want := []string{"instance=crossteam:19280", "job=crossteam"}; !slices.Equal(labels, want) {
		t.Errorf("backfill labels %v, want %v", labels, want)
	}
	if flagValue(ct.Command, "demo.backfill-out") != "" {
		t.Error("serve is given a demo flag")
	}
}

// fakeTools puts fake promtool and wget first on PATH: promtool records
// its arguments (one call per line), wget answers Prometheus' flags and
// queries.
func fakeTools(t *testing.T, retention string) (calls string, env []string) {
	t.Helper()
	bin := t.TempDir()
	calls = filepath.Join(bin, "calls")
	for name, body := range map[string]string{
		// --help prints $FAKE_PROMTOOL_HELP (the flags of the version faked).
		"promtool": "#!/bin/sh\ncase \"$*\" in *--help*) echo \"$FAKE_PROMTOOL_HELP\"; exit 0;; esac\necho \"$*\" >> " + calls + "\n",
		// A query answers one series unless $FAKE_QUERY_EMPTY is set.
		"wget": "#!/bin/sh\ncase \"$*\" in *api/v1/query*) if [ -n \"$FAKE_QUERY_EMPTY\" ]; then echo '{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}'; else echo '{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,\"380\"]}]}}'; fi; exit 0;; esac\n" +
			"echo '{\"status\":\"success\",\"data\":{\"storage.tsdb.path\":\"/prometheus\",\"storage.tsdb.retention.time\":\"" + retention + "\"}}'\n",
	} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return calls, []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
}

func runScript(t *testing.T, script string, env []string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", filepath.Join(repo(t), "deploy", "backfill", script))
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func readCalls(t *testing.T, calls string) []string {
	t.Helper()
	b, err := os.ReadFile(calls)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestHistoryBackfillScript(t *testing.T) {
	calls, env := fakeTools(t, "400d")
	dir, data := t.TempDir(), t.TempDir()
	file := filepath.Join(dir, "history.om")
	env = append(env, "CROSSTEAM_HISTORY_FILE="+file, "PROMETHEUS_DATA="+data, "CROSSTEAM_HISTORY_WAIT=1")

	// No file: fails after the wait, saying what writes it.
	out, err := runScript(t, "history.sh", env)
	if err == nil || !strings.Contains(out, "no "+file+" after 1s") || !strings.Contains(out, "--demo.backfill-out") {
		t.Errorf("without the file: %v %q", err, out)
	}
	if c := readCalls(t, calls); c != nil {
		t.Errorf("promtool called without a file: %v", c)
	}
	// The file: loaded once, then the marker skips it.
	if err := os.WriteFile(file, []byte("crossteam_store_events{source=\"github\"} 1 1\n# EOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runScript(t, "history.sh", env); err != nil || !strings.Contains(out, "loaded "+file) {
		t.Fatalf("first start: %v %q", err, out)
	}
	want := []string{"tsdb create-blocks-from openmetrics --max-block-duration=744h " + file + " " + data}
	if c := readCalls(t, calls); !slices.Equal(c, want) {
		t.Errorf("promtool calls %q, want %q", c, want)
	}
	if out, err := runScript(t, "history.sh", env); err != nil || !strings.Contains(out, "already loaded") {
		t.Errorf("second start: %v %q", err, out)
	}
	if c := readCalls(t, calls); len(c) != 1 {
		t.Errorf("promtool called again on the second start: %q", c)
	}
}

func TestRulesBackfillScript(t *testing.T) {
	for _, tc := range []struct {
		retention, warn string
		help            string // promtool's help: whether it has --max-block-duration
	}{
		{"400d", "", "--max-block-duration=2h  Maximum duration created blocks may span."},
		{"2y", "", ""},
		{"15d", "Prometheus keeps 15d (--storage.tsdb.retention.time), shorter than the 130 days of history", ""},
		{"10w", "Prometheus keeps 10w", ""},
		{"0s", `cannot read Prometheus' retention ("0s")`, ""},
	} {
		calls, env := fakeTools(t, tc.retention)
		env = append(env, "FAKE_PROMTOOL_HELP="+tc.help)
		data := t.TempDir()
		env = append(env, "PROMETHEUS_DATA="+data, "PROMETHEUS_URL=http://prom.test:9090", "CROSSTEAM_RULES=/r/crossteam.rules.yml", "CROSSTEAM_HISTORY_DAYS=130")
		before := time.Now().Unix()
		out, err := runScript(t, "rules.sh", env)
		after := time.Now().Unix()
		if err != nil {
			t.Fatalf("%s: %v %q", tc.retention, err, out)
		}
		if tc.warn != "" && !strings.Contains(out, tc.warn) || tc.warn == "" && strings.Contains(out, "retention") {
			t.Errorf("retention %s: output %q, want warning %q", tc.retention, out, tc.warn)
		}
		c := readCalls(t, calls)
		if len(c) != 2 || c[0] != c[1] {
			t.Fatalf("promtool calls %q, want the same two passes", c)
		}
		f := strings.Fields(c[0])
		var start, end int64
		for _, a := range f {
			if v, ok := strings.CutPrefix(a, "--start="); ok {
				start, _ = strconv.ParseInt(v, 10, 64)
			}
			if v, ok := strings.CutPrefix(a, "--end="); ok {
				end, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if f[0] != "tsdb" || f[1] != "create-blocks-from" || f[2] != "rules" || !slices.Contains(f, "--url=http://prom.test:9090") ||
			!slices.Contains(f, "--output-dir="+data) || f[len(f)-1] != "/r/crossteam.rules.yml" {
			t.Errorf("promtool %q", c[0])
		}
		if got, want := slices.Contains(f, "--max-block-duration=744h"), tc.help != ""; got != want {
			t.Errorf("help %q: --max-block-duration=744h passed %v, want %v", tc.help, got, want)
		}
		if end < before || end > after || end-start != 130*86400 {
			t.Errorf("window %d..%d, want 130 days ending between %d and %d", start, end, before, after)
		}
		if out, err := runScript(t, "rules.sh", env); err != nil || !strings.Contains(out, "already evaluated") || len(readCalls(t, calls)) != 2 {
			t.Errorf("second start: %v %q", err, out)
		}
	}

	// Prometheus never shows the first pass's series: one pass, and the
	// script says which panels lack history.
	calls, env := fakeTools(t, "400d")
	env = append(env, "PROMETHEUS_DATA="+t.TempDir(), "PROMETHEUS_URL=http://prom.test:9090", "CROSSTEAM_RULES=/r/crossteam.rules.yml",
		"FAKE_QUERY_EMPTY=1", "CROSSTEAM_RULES_WAIT=2", "CROSSTEAM_RULES_POLL=1")
	out, err := runScript(t, "rules.sh", env)
	if err != nil || !strings.Contains(out, "did not show the first pass's recorded series within 2s") || !strings.Contains(out, "per-pair p50/p90") {
		t.Errorf("no second pass: %v %q", err, out)
	}
	if c := readCalls(t, calls); len(c) != 1 {
		t.Errorf("promtool calls %q, want only the first pass", c)
	}
}
