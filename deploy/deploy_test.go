package deploy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/crossteam/crossteam/dashboards"
)

// repo is the repository root, absolute.
func repo(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func loadProject(t *testing.T, env []string, files ...string) (*types.Project, error) {
	t.Helper()
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(repo(t), f))
	}
	opts, err := cli.NewProjectOptions(paths, cli.WithWorkingDirectory(repo(t)), cli.WithName("crossteam"), cli.WithEnv(env))
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func compose(t *testing.T) *types.Project {
	t.Helper()
	p, err := loadProject(t, nil, "docker-compose.yml")
	if err != nil {
		t.Fatalf("loading docker-compose.yml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("no service %s", name)
	}
	return s
}

// hostPath maps a path inside a service's container to the repository file
// bind-mounted there, or "" when no bind mount covers it.
func hostPath(s types.ServiceConfig, container string) string {
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if container == v.Target {
			return v.Source
		}
		if rest, ok := strings.CutPrefix(container, strings.TrimRight(v.Target, "/")+"/"); ok {
			return filepath.Join(v.Source, rest)
		}
	}
	return ""
}

func TestComposeLoads(t *testing.T) {
	p := compose(t)
	var names []string
	for n := range p.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"alertmanager", "crossteam", "grafana", "prometheus", "prometheus-history", "prometheus-rules-history"}; !slices.Equal(names, want) {
		t.Errorf("services %v, want %v", names, want)
	}
}

func TestBindMountsExistInRepo(t *testing.T) {
	p := compose(t)
	n := 0
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			n++
			rel, err := filepath.Rel(repo(t), v.Source)
			if err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s: bind mount %s is outside the repository", name, v.Source)
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s: bind mount source %s: %v", name, rel, err)
			}
			if !v.ReadOnly {
				t.Errorf("%s: bind mount %s is writable; the stack only reads repository files", name, rel)
			}
		}
	}
	if n < 5 {
		t.Errorf("%d bind mounts, want at least 5", n)
	}
}

// defaultListenPort reads the exporter's default --web.listen-address.
func defaultListenPort(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repo(t), "cmd", "crossteam", "serve.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`defaultListenAddress = "([^"]*)"`).FindSubmatch(src)
	if m == nil {
		t.Fatal("no defaultListenAddress in cmd/crossteam/serve.go")
	}
	_, port, err := net.SplitHostPort(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return port
}

type promConfig struct {
	RuleFiles []string `yaml:"rule_files"`
	Alerting  struct {
		Alertmanagers []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"alertmanagers"`
	} `yaml:"alerting"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// flagValue finds --name=value in a command.
func flagValue(cmd []string, name string) string {
	for _, a := range cmd {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

func TestExporterPortAgrees(t *testing.T) {
	p := compose(t)
	port := defaultListenPort(t)
	if port != "19280" {
		t.Errorf("exporter default port %s, the stack expects 19280", port)
	}
	ct := service(t, p, "crossteam")
	if _, got, _ := net.SplitHostPort(flagValue(ct.Command, "web.listen-address")); got != port {
		t.Errorf("crossteam listens on %q, want port %s", flagValue(ct.Command, "web.listen-address"), port)
	}
	published := false
	for _, pc := range ct.Ports {
		published = published || fmt.Sprint(pc.Target) == port
	}
	if !published {
		t.Errorf("crossteam ports %+v do not include %s", ct.Ports, port)
	}
	// The Dockerfile's default command agrees.
	df, err := os.ReadFile(filepath.Join(repo(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(df, []byte(`CMD ["demo", "--web.listen-address=:`+port+`"]`)) {
		t.Errorf("Dockerfile CMD does not run the demo on :%s", port)
	}

	prom := service(t, p, "prometheus")
	cfgPath := hostPath(prom, flagValue(prom.Command, "config.file"))
	if cfgPath != filepath.Join(repo(t), "deploy", "prometheus", "prometheus.yml") {
		t.Fatalf("prometheus --config.file maps to %q", cfgPath)
	}
	var pc promConfig
	readYAML(t, cfgPath, &pc)
	var targets []string
	for _, sc := range pc.ScrapeConfigs {
		if sc.JobName == "crossteam" {
			for _, s := range sc.StaticConfigs {
				targets = append(targets, s.Targets...)
			}
		}
	}
	if !slices.Equal(targets, []string{"crossteam:" + port}) {
		t.Errorf("prometheus scrapes %v, want [crossteam:%s]", targets, port)
	}
}

func TestPrometheusLoadsTheCommittedRulesAndAlertmanager(t *testing.T) {
	p := compose(t)
	prom := service(t, p, "prometheus")
	containerCfg := flagValue(prom.Command, "config.file")
	var pc promConfig
	readYAML(t, hostPath(prom, containerCfg), &pc)
	var loaded []string
	for _, rf := range pc.RuleFiles {
		// Relative rule files resolve against the config file's directory.
		inContainer := filepath.Join(filepath.Dir(containerCfg), rf)
		host := hostPath(prom, inContainer)
		if host == "" {
			t.Errorf("rule file %s (%s in the container) is not mounted", rf, inContainer)
			continue
		}
		rel, _ := filepath.Rel(repo(t), host)
		loaded = append(loaded, rel)
	}
	want := []string{filepath.Join("dashboards", "rules", dashboards.RecordingRulesFile), filepath.Join("dashboards", "rules", dashboards.AlertingRulesFile)}
	if !slices.Equal(loaded, want) {
		t.Errorf("prometheus loads %v, want %v", loaded, want)
	}
	var am []string
	for _, a := range pc.Alerting.Alertmanagers {
		for _, s := range a.StaticConfigs {
			am = append(am, s.Targets...)
		}
	}
	amSvc := service(t, p, "alertmanager")
	if !slices.Equal(am, []string{"alertmanager:9093"}) || len(amSvc.Ports) == 0 || amSvc.Ports[0].Target != 9093 {
		t.Errorf("prometheus alerts %v; alertmanager ports %+v", am, amSvc.Ports)
	}
	if h := hostPath(amSvc, flagValue(amSvc.Command, "config.file")); h != filepath.Join(repo(t), "deploy", "alertmanager", "alertmanager.yml") {
		t.Errorf("alertmanager --config.file maps to %q", h)
	}
}

func TestGrafanaProvisioning(t *testing.T) {
	p := compose(t)
	g := service(t, p, "grafana")
	provDir := hostPath(g, "/etc/grafana/provisioning")
	if provDir != filepath.Join(repo(t), "deploy", "grafana", "provisioning") {
		t.Fatalf("/etc/grafana/provisioning maps to %q", provDir)
	}
	// Strict decode: a misspelt key fails here, not silently in Grafana.
	strict := func(path string, v any) {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		dec := yaml.NewDecoder(f)
		dec.KnownFields(true)
		if err := dec.Decode(v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var prov dashboards.Provider
	strict(filepath.Join(provDir, "dashboards", "crossteam.yaml"), &prov)
	if len(prov.Providers) != 1 {
		t.Fatalf("%d providers", len(prov.Providers))
	}
	path := prov.Providers[0].Options.Path
	jsonDir := hostPath(g, path)
	if jsonDir != filepath.Join(repo(t), "dashboards", "json") {
		t.Errorf("provider path %s maps to %q, want the repository's dashboards/json", path, jsonDir)
	}
	for _, b := range dashboards.Boards {
		if _, err := os.Stat(filepath.Join(jsonDir, b.File)); err != nil {
			t.Errorf("dashboard %s: %v", b.UID, err)
		}
	}
	home := g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	if home == nil || hostPath(g, *home) != filepath.Join(repo(t), "dashboards", "json", "overview.json") {
		t.Errorf("home dashboard %v is not the mounted overview", home)
	}

	var ds dashboards.Datasources
	strict(filepath.Join(provDir, "datasources", "crossteam.yaml"), &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].UID != dashboards.DatasourceUID || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Fatalf("datasources %+v", ds.Datasources)
	}
	promPorts := service(t, p, "prometheus").Ports
	if len(promPorts) == 0 || promPorts[0].Target != 9090 {
		t.Errorf("prometheus ports %+v, the datasource expects 9090", promPorts)
	}

	for k, want := range map[string]string{"GF_AUTH_ANONYMOUS_ENABLED": "true", "GF_AUTH_ANONYMOUS_ORG_ROLE": "Viewer"} {
		if v := g.Environment[k]; v == nil || *v != want {
			t.Errorf("grafana %s = %v, want %s", k, v, want)
		}
	}
}

// The override for real sources loads on top of the base file: the
// exporter serves the mounted config, tokens come from Docker secrets.
func TestRealSourcesOverride(t *testing.T) {
	p, err := loadProject(t, []string{"CROSSTEAM_CONFIG=./config/example.yml"}, "docker-compose.yml", "deploy/compose.real.yml")
	if err != nil {
		t.Fatal(err)
	}
	ct := service(t, p, "crossteam")
	if ct.Command[0] != "serve" || flagValue(ct.Command, "config.file") != "/etc/crossteam/config.yml" || flagValue(ct.Command, "web.listen-address") != ":19280" {
		t.Errorf("command %v", ct.Command)
	}
	if h := hostPath(ct, "/etc/crossteam/config.yml"); h != filepath.Join(repo(t), "config", "example.yml") {
		t.Errorf("config maps to %q", h)
	}
	var secrets []string
	for _, s := range ct.Secrets {
		secrets = append(secrets, s.Source)
	}
	if !slices.Equal(secrets, []string{"github_token", "jira_token"}) {
		t.Errorf("secrets %v", secrets)
	}
	// The secrets land where config/example.yml reads them.
	ex, _ := os.ReadFile(filepath.Join(repo(t), "config", "example.yml"))
	if !bytes.Contains(ex, []byte("token_file: /run/secrets/github_token")) {
		t.Error("config/example.yml does not read /run/secrets/github_token")
	}
}

// compose-go rejects what docker compose would: the loader is not lenient.
func TestComposeLoaderRejectsMistakes(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown key":       "services:\n  a:\n    image: x\n    portz: [1]\n",
		"undefined secret":  "services:\n  a:\n    image: x\n    secrets: [nope]\n",
		"undefined volume":  "services:\n  a:\n    image: x\n    volumes: [\"data:/d\"]\n",
		"required variable": "services:\n  a:\n    image: ${IMAGE:?set IMAGE}\n",
	} {
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yml")
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		opts, err := cli.NewProjectOptions([]string{f}, cli.WithWorkingDirectory(dir), cli.WithName("x"), cli.WithEnv(nil))
		if err == nil {
			_, err = opts.LoadProject(context.Background())
		}
		if err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

// requireTool finds an external tool. CI sets CROSSTEAM_REQUIRE_TOOLS=1 and
// installs the tools, so there a missing tool fails; elsewhere it skips.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CROSSTEAM_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s not found and CROSSTEAM_REQUIRE_TOOLS=1: install Debian's %s package", name, pkg)
	}
	t.Skipf("%s not found (install Debian's %s package; CI sets CROSSTEAM_REQUIRE_TOOLS=1 to make this a failure)", name, pkg)
	return ""
}

func runTool(t *testing.T, tool string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool, args...)
	cmd.Dir = repo(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(tool), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPromtoolCheckConfig(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	out := runTool(t, promtool, "check", "config", "deploy/prometheus/prometheus.yml")
	// The rule counts promtool must report are those of the committed
	// files, counted here independently of promtool's parser.
	want := []string{"SUCCESS: 2 rule files found"}
	for _, f := range []string{"dashboards/rules/crossteam.rules.yml", "dashboards/rules/crossteam.alerts.yml"} {
		b, err := os.ReadFile(filepath.Join(repo(t), f))
		if err != nil {
			t.Fatal(err)
		}
		n := len(regexp.MustCompile(`(?m)^\s*- (record|alert):`).FindAll(b, -1))
		if n == 0 {
			t.Fatalf("%s: no rules counted", f)
		}
		want = append(want, fmt.Sprintf("SUCCESS: %d rules found", n))
	}
	for _, want := range want {
		if !strings.Contains(out, want) {
			t.Errorf("promtool output lacks %q:\n%s", want, out)
		}
	}
}

func TestAmtoolCheckConfigAndRoutes(t *testing.T) {
	amtool := requireTool(t, "amtool", "prometheus-alertmanager")
	out := runTool(t, amtool, "check-config", "deploy/alertmanager/alertmanager.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("amtool check-config:\n%s", out)
	}
	// Team alerts route by to_team; health alerts go to the operators.
	cases := []struct {
		labels []string
		want   string
	}{
		{[]string{"alertname=CrossteamHandoffStalled", "to_team=backend"}, "team-backend"},
		{[]string{"alertname=CrossteamHandoffStalled", "to_team=web"}, "teams"},
		// Agreement burns: the receiving team, and the sending team copied
		// when the agreement says notify_sender.
		{[]string{"alertname=CrossteamHandoffAgreementBurn", "from_team=web", "to_team=backend", "notify_sender=true"}, "teams,team-backend"},
		{[]string{"alertname=CrossteamHandoffAgreementBurn", "from_team=backend", "to_team=web", "notify_sender=true"}, "team-backend,teams"},
		{[]string{"alertname=CrossteamHandoffAgreementBurn", "from_team=backend", "to_team=web", "notify_sender=false"}, "teams"},
		{[]string{"alertname=CrossteamMilestoneAtRisk", "milestone=v2.0"}, "teams"},
		// Record alerts carry the owning team as to_team.
		{[]string{"alertname=CrossteamPostmortemActionOverdue", "team=backend", "to_team=backend"}, "team-backend"},
		{[]string{"alertname=CrossteamDecisionRevisitDue", "team=web", "to_team=web"}, "teams"},
		{[]string{"alertname=CrossteamSourceDown", "source=github"}, "crossteam-operators"},
	}
	for _, c := range cases {
		args := append([]string{"config", "routes", "test", "--config.file=deploy/alertmanager/alertmanager.yml"}, c.labels...)
		cmd := exec.Command(amtool, args...)
		cmd.Dir = repo(t)
		got, err := cmd.Output() // warnings go to stderr
		if err != nil || strings.TrimSpace(string(got)) != c.want {
			t.Errorf("%v routes to %q (%v), want %s", c.labels, strings.TrimSpace(string(got)), err, c.want)
		}
	}
}
