package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/crossteam/crossteam/backfill"
	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/dashboards"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/fakeapi"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
	"github.com/crossteam/crossteam/review"
	"github.com/crossteam/crossteam/shard"
	"github.com/crossteam/crossteam/sim"
	"github.com/crossteam/crossteam/store"
	"github.com/crossteam/crossteam/syncer"
)

// demoCommand runs the whole kit with no account anywhere: a simulated
// organisation (package sim) served on loopback as the GitHub REST API and
// the Jira Cloud REST API by the fake-API package, the real collectors
// (go-github, go-jira) syncing it into a store, and the exporter serving
// /metrics exactly as `serve` does.
type demoCommand struct {
	*kingpin.CmdClause
	web           *web.FlagConfig
	metricsPath   string
	maxRequests   int
	seed          uint64
	size          string
	faults        string
	speed         float64
	storePath     string
	dashboardsOut string
	syncInterval  time.Duration
	grafanaURL    string
	// The history's backfill, written once the first snapshot is complete.
	backfillOut    string
	backfillStep   model.Duration
	backfillLabels map[string]string
}

func newDemoCommand(app *kingpin.Application) *demoCommand {
	c := &demoCommand{backfillLabels: map[string]string{}, CmdClause: app.Command("demo", "Run the exporter against a built-in simulated organisation (no GitHub or Jira account needed).")}
	c.web = kingpinflag.AddFlags(c.CmdClause, defaultListenAddress)
	c.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&c.metricsPath)
	c.Flag("web.max-requests", "Maximum number of parallel scrape requests; 0 means no limit.").Default("40").IntVar(&c.maxRequests)
	c.Flag("demo.seed", "Seed of the simulated organisation; the same seed gives the same history.").Default("1").Uint64Var(&c.seed)
	c.Flag("demo.size", "Size of the simulated organisation: small (seconds) or large (benchmark size).").Default("small").EnumVar(&c.size, "small", "large")
	c.Flag("demo.speed", "How much happens after the history, which ends now: new items arrive this many times as often as in the history, on the wall clock (0 freezes the clock at the end of the history).").Default("60").Float64Var(&c.speed)
	c.Flag("demo.sync-interval", "Time between syncs of the simulated sources.").Default("10s").DurationVar(&c.syncInterval)
	c.Flag("faults", "Faults of the fake APIs, e.g. 5xx=0.05,latency=20ms,secondary=0.01,retryafter=2s (keys: "+faultKeyList()+").").Default("none").StringVar(&c.faults)
	c.Flag("store.path", "SQLite store file; default a temporary directory removed on exit.").StringVar(&c.storePath)
	addGrafanaURLFlag(c.CmdClause, &c.grafanaURL)
	c.Flag("demo.backfill-out", "Once the first snapshot holds the whole history, write the history's metrics to this file as OpenMetrics for `promtool tsdb create-blocks-from openmetrics` (as `crossteam backfill` does), so Prometheus' trends start with the history.").
		PlaceHolder("FILE").StringVar(&c.backfillOut)
	c.Flag("demo.backfill-step", "Time between the backfill's instants (promtool's cost grows with their number: 1d loads 4 months in about 10 s).").Default("1d").SetValue(&c.backfillStep)
	c.Flag("demo.backfill-label", "Label added to every backfilled sample, as name=value (repeatable): the job and instance Prometheus scrapes the demo as.").
		Default("job=crossteam").StringMapVar(&c.backfillLabels)
	c.Flag("dashboards.out", "Write the Grafana dashboards, Prometheus rules and provisioning files to this directory.").StringVar(&c.dashboardsOut)
	return c
}

func faultKeyList() string {
	keys := make([]string, 0, len(fakeapi.FaultKeys()))
	for k := range fakeapi.FaultKeys() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func (c *demoCommand) run(e *env) int {
	faults, err := fakeapi.ParseFaults(c.faults)
	if err == nil && c.speed < 0 {
		err = fmt.Errorf("--demo.speed %g: must not be negative", c.speed)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: error: %v, try --help\n", programName, err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := c.demo(ctx, e, faults); err != nil {
		e.logger.Error("crossteam demo stopped", "err", err)
		return exitError
	}
	return exitOK
}

func (c *demoCommand) demo(ctx context.Context, e *env, faults fakeapi.Faults) error {
	began := time.Now()
	p := sim.Small()
	if c.size == "large" {
		p = sim.Large()
	}
	p.Seed = c.seed
	// History ends now, so dashboards show the last months, and goes on on
	// the wall clock: ages, staleness and alerts behave as in production.
	p.Now = time.Now().UTC().Truncate(time.Second)
	p.LivePace = c.speed
	w, err := sim.Generate(p)
	if err != nil {
		return err
	}
	generated := time.Since(began)

	dir, err := os.MkdirTemp("", "crossteam-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	storePath := c.storePath
	if storePath == "" {
		storePath = filepath.Join(dir, "crossteam.db")
	}
	tokenFile := filepath.Join(dir, "github-token")
	if err := os.WriteFile(tokenFile, []byte(w.GitHubToken+"\n"), 0o600); err != nil {
		return err
	}

	// The demo's clock is the wall clock; --demo.speed=0 freezes it at the
	// end of the history (tests that compare with the ground truth at Now).
	simNow := time.Now
	if c.speed == 0 {
		simNow = func() time.Time { return w.Now }
	}

	ghOpts := fakegithub.GitHubOptions{Tokens: []string{w.GitHubToken}, Faults: faults}
	if c.size == "large" {
		// A first sync of the large world needs ~50,000 requests: more than
		// GitHub's 5,000 an hour, and the demo would wait for resets for
		// hours before its first snapshot.
		ghOpts.RateLimit = 1_000_000
	}
	gh := fakegithub.NewGitHub(w.Org, ghOpts)
	ghURL, stopGH, err := fakeapi.ServeLoopback(gh, e.logger)
	if err != nil {
		return fmt.Errorf("fake GitHub: %w", err)
	}
	defer stopGH()

	opts := sim.ConfigOptions{GitHubURL: ghURL, TokenFile: tokenFile, StorePath: storePath, SyncInterval: c.syncInterval.String()}
	jiraURL := ""
	if site := w.JiraSite(); site != nil {
		jo := w.JiraOptions()
		jo.Faults = faults
		u, stopJira, err := fakeapi.ServeLoopback(fakejira.NewAPI(site, jo), e.logger)
		if err != nil {
			return fmt.Errorf("fake Jira: %w", err)
		}
		defer stopJira()
		jiraURL = strings.TrimRight(u, "/")
		w.SetJiraURL(jiraURL)
		opts.JiraURL = jiraURL
		opts.JiraTokenFile = filepath.Join(dir, "jira-token")
		if err := os.WriteFile(opts.JiraTokenFile, []byte(w.JiraToken()+"\n"), 0o600); err != nil {
			return err
		}
	}
	cfgPath := filepath.Join(dir, "crossteam.yml")
	cfgText := w.Config(opts)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		return err
	}
	if c.dashboardsOut != "" {
		files, err := dashboards.Generate(dashboards.Options{})
		if err != nil {
			return fmt.Errorf("dashboards: %w", err)
		}
		if err := dashboards.Write(c.dashboardsOut, files); err != nil {
			return fmt.Errorf("dashboards: %w", err)
		}
		e.logger.Info("dashboards and rules written", "dir", c.dashboardsOut, "files", len(files))
	}

	// Live mode: apply the planned history as the clock moves, once a
	// second (events are planned to the second).
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := w.Advance(simNow()); err != nil {
					e.logger.Error("simulated organisation stopped advancing", "err", err)
					return
				}
			}
		}
	}()

	info := demoInfo{world: w, size: c.size, githubURL: ghURL, jiraURL: jiraURL, configPath: cfgPath, storePath: storePath,
		listen: *c.web.WebListenAddresses, metricsPath: c.metricsPath, faults: faults, speed: c.speed,
		began: began, generated: generated, out: e.stdout}
	return runExporter(ctx, e, nil, exporterOptions{
		file: cfgPath, web: c.web, metricsPath: c.metricsPath, maxRequests: c.maxRequests,
		now:        simNow,
		targets:    demoTargets(simNow),
		links:      demoLinks(ghURL, jiraURL, p.Org, tokenFile, opts.JiraTokenFile),
		grafanaURL: c.grafanaURL,
		started: func(ctx context.Context, x *exporter) {
			s := info.printWhenReady(ctx, x)
			if s == nil || c.backfillOut == "" {
				return
			}
			if err := c.writeBackfill(ctx, x, w.Start, s.AsOf); err != nil {
				e.logger.Error("demo backfill failed", "file", c.backfillOut, "err", err)
			}
		},
	})
}

// writeBackfill writes the history's metrics from the start of the
// history to the first complete snapshot (exclusive: live scrapes continue
// from there), to a temporary file renamed into place, so whoever waits for
// the file never reads half of it.
func (c *demoCommand) writeBackfill(ctx context.Context, x *exporter, from, to time.Time) error {
	began := time.Now()
	ds, err := x.st.Load(ctx)
	if err != nil {
		return err
	}
	x.mu.Lock()
	cfg := x.cfg
	x.mu.Unlock()
	tmp := c.backfillOut + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // after a successful rename, nothing to remove
	stats, err := backfill.Write(f, cfg, ds, backfill.Options{From: from, To: to, Step: time.Duration(c.backfillStep), Labels: c.backfillLabels})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, c.backfillOut); err != nil {
		return err
	}
	x.logger.Info("demo history backfill written", "file", c.backfillOut, "from", from.UTC().Format(time.RFC3339), "to", to.UTC().Format(time.RFC3339),
		"step", c.backfillStep.String(), "instants", stats.Instants, "samples", stats.Samples, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// demoLinks are the landing page's links to the fake APIs. Like GitHub's
// and Jira's, they answer 401 without the token, so each says where the
// token is.
func demoLinks(ghURL, jiraURL, org, ghTokenFile, jiraTokenFile string) []externalLink {
	out := []externalLink{{URL: strings.TrimRight(ghURL, "/") + "/orgs/" + org + "/repos", Text: "Simulated GitHub REST API (fake, on loopback)",
		Description: "send the token in " + ghTokenFile + " as Authorization: Bearer"}}
	if jiraURL != "" {
		out = append(out, externalLink{URL: jiraURL + "/rest/api/3/myself", Text: "Simulated Jira Cloud REST API (fake, on loopback)",
			Description: "basic auth " + sim.JiraEmail + " with the token in " + jiraTokenFile})
	}
	return out
}

// demoTargets builds the collectors like buildTargets, on the demo's clock
// (frozen at the end of the history with --demo.speed=0: their sync
// watermarks must not pass the history the fakes serve).
func demoTargets(now func() time.Time) targetBuilder {
	return func(cfg *config.Config, st *store.Store, health *exposition.Health, logger *slog.Logger) ([]syncer.Target, error) {
		return newTargets(cfg, st, health, logger, now, shard.Spec{})
	}
}

// demoInfo is what the terminal summary shows.
type demoInfo struct {
	world                 *sim.World
	size                  string
	githubURL, jiraURL    string
	configPath, storePath string
	listen                []string
	metricsPath           string
	faults                fakeapi.Faults
	speed                 float64
	began                 time.Time
	generated             time.Duration
	out                   io.Writer
}

// printWhenReady waits for the first snapshot that holds every generated
// item and event, prints the summary and returns the snapshot (nil when
// ctx ended first). (Counting items is not enough: a
// snapshot computed after one target's sync can see another target half
// way through its sync.)
func (d demoInfo) printWhenReady(ctx context.Context, x *exporter) *engine.Snapshot {
	want := d.world.Counts()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		s := x.syncer.Snapshot.Snapshot()
		complete := s != nil
		for src, n := range want.ItemsBySource {
			complete = complete && s.Items[src] >= n && s.Events[src] >= want.EventsBySource[src]
		}
		if complete {
			d.print(s, time.Since(d.began))
			return s
		}
	}
}

// webBase turns a listen address into a URL a person can open.
func webBase(listen []string) string {
	addr := defaultListenAddress
	if len(listen) > 0 {
		addr = listen[0]
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func (d demoInfo) print(s *engine.Snapshot, ready time.Duration) {
	w, out := d.world, d.out
	base := webBase(d.listen)
	fmt.Fprintf(out, "crossteam demo: simulated organisation %q (seed %d, %s): %d teams, %d repositories, %d Jira projects, %d months of history\n",
		w.Params.Org, w.Params.Seed, d.size, len(w.Teams), len(w.Repos), w.Params.JiraProjects, w.Params.Months)
	fmt.Fprintf(out, "  metrics       %s%s\n", base, d.metricsPath)
	fmt.Fprintf(out, "  landing page  %s/\n", base)
	fmt.Fprintf(out, "  review        %s/review\n", base)
	fmt.Fprintf(out, "  fake GitHub   %s  (REST API; token in the generated config)\n", d.githubURL)
	if d.jiraURL != "" {
		fmt.Fprintf(out, "  fake Jira     %s  (Cloud REST API)\n", d.jiraURL)
	}
	fmt.Fprintf(out, "  config        %s\n", d.configPath)
	fmt.Fprintf(out, "  store         %s\n", d.storePath)
	if f := d.faults.String(); f != "none" {
		fmt.Fprintf(out, "  faults        %s\n", f)
	}
	fmt.Fprintf(out, "Ready in %s (world generated in %s): first complete snapshot as of %s\n",
		ready.Round(time.Millisecond), d.generated.Round(time.Millisecond), s.AsOf.Format(time.RFC3339))
	for _, src := range sortedKeys(s.Items) {
		fmt.Fprintf(out, "  %-8s %d items, %d events synced\n", src, s.Items[src], s.Events[src])
	}
	fmt.Fprintf(out, "Stalled handoffs now: %d\n", s.StalledTotal)
	for _, h := range s.Stalled {
		fmt.Fprintf(out, "  %-22s %-9s -> %-9s %-6s idle %-8s %s\n", h.Key, h.From, h.To, h.Kind, review.Short(h.Idle), h.URL)
	}
	fmt.Fprintln(out, "Slowest team pairs by p90 pickup time:")
	for _, p := range slowestPairs(s.Pairs, 5) {
		fmt.Fprintf(out, "  %-7s %-9s -> %-9s p90 %-8s (%d handoffs)\n", p.Source, p.From, p.To, p90Label(p.Pickup), p.Handoffs)
	}
	if d.speed == 0 {
		fmt.Fprintln(out, "The simulated clock is frozen (--demo.speed=0). Ctrl-C stops the demo.")
	} else {
		fmt.Fprintf(out, "The history ends now and goes on on the wall clock, new items arriving %gx as often as in the history. Ctrl-C stops the demo.\n", d.speed)
	}
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// quantile estimates a quantile of a histogram the way histogram_quantile
// does: linear interpolation inside the bucket that holds it. ok is false
// for an empty histogram; inf is true when it falls in the +Inf bucket.
func quantile(h engine.Histogram, q float64) (d time.Duration, inf, ok bool) {
	if h.Count == 0 {
		return 0, false, false
	}
	rank := q * float64(h.Count)
	var cum float64
	lower := 0.0
	for i, b := range engine.Buckets {
		c := float64(h.Counts[i])
		if cum+c >= rank && c > 0 {
			v := lower + (b-lower)*(rank-cum)/c
			return time.Duration(v * float64(time.Second)), false, true
		}
		cum += c
		lower = b
	}
	return time.Duration(lower * float64(time.Second)), true, true
}

func p90Label(h engine.Histogram) string {
	d, inf, ok := quantile(h, 0.9)
	switch {
	case !ok:
		return "-"
	case inf:
		return ">" + review.Short(d)
	}
	return review.Short(d)
}

// slowestPairs are the pairs with the highest p90 pickup time.
func slowestPairs(pairs []engine.PairStats, n int) []engine.PairStats {
	var out []engine.PairStats
	for _, p := range pairs {
		if p.Pickup.Count > 0 {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, _, _ := quantile(out[i].Pickup, 0.9)
		b, _, _ := quantile(out[j].Pickup, 0.9)
		return a > b
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
