package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/internal/cpulane"
	"github.com/crossteam/crossteam/resilience"
	"github.com/crossteam/crossteam/shard"
	"github.com/crossteam/crossteam/store"
	"github.com/crossteam/crossteam/syncer"
)

// defaultListenAddress is outside the 9100-9999 block of exporter ports
// (fully allocated) and below the ephemeral range.
const defaultListenAddress = ":19280"

// serveCommand is the exporter: background sync into the store, snapshots
// computed after each sync, /metrics serving the last snapshot.
type serveCommand struct {
	*kingpin.CmdClause
	file        string
	web         *web.FlagConfig
	metricsPath string
	maxRequests int
	shard       string
	lifecycle   bool
	grafanaURL  string
	collectors  collectorSwitches
}

// collectorSwitches turn whole sources off without editing the
// configuration file (--no-collector.github, --no-collector.jira): their
// targets are not synced; what the store holds from them stays and is
// still exported.
type collectorSwitches struct {
	github, jira bool
}

// allCollectors is every source on (the demo).
var allCollectors = collectorSwitches{github: true, jira: true}

// apply drops the targets of switched-off sources from cfg.
func (s collectorSwitches) apply(cfg *config.Config, logger *slog.Logger) {
	if !s.github && len(cfg.Sources.GitHub) > 0 {
		logger.Info("GitHub collector switched off (--no-collector.github); its targets are not synced", "targets", len(cfg.Sources.GitHub))
		cfg.Sources.GitHub = nil
	}
	if !s.jira && len(cfg.Sources.Jira) > 0 {
		logger.Info("Jira collector switched off (--no-collector.jira); its targets are not synced", "targets", len(cfg.Sources.Jira))
		cfg.Sources.Jira = nil
	}
}

func newServeCommand(app *kingpin.Application) *serveCommand {
	c := &serveCommand{CmdClause: app.Command("serve", "Sync the configured sources in the background and serve /metrics.")}
	c.Flag("config.file", "Configuration file.").Default("crossteam.yml").Envar("CROSSTEAM_CONFIG_FILE").StringVar(&c.file)
	c.web = kingpinflag.AddFlags(c.CmdClause, defaultListenAddress)
	c.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&c.metricsPath)
	c.Flag("web.max-requests", "Maximum number of parallel scrape requests; 0 means no limit.").Default("40").IntVar(&c.maxRequests)
	c.Flag("web.enable-lifecycle", "Enable configuration reload via HTTP request (POST /-/reload). SIGHUP always reloads.").Default("false").BoolVar(&c.lifecycle)
	addGrafanaURLFlag(c.CmdClause, &c.grafanaURL)
	c.Flag("collector.github", "Sync the configured GitHub targets (--no-collector.github turns them off without editing the file).").
		Default("true").Envar("CROSSTEAM_COLLECTOR_GITHUB").BoolVar(&c.collectors.github)
	c.Flag("collector.jira", "Sync the configured Jira targets (--no-collector.jira turns them off without editing the file).").
		Default("true").Envar("CROSSTEAM_COLLECTOR_JIRA").BoolVar(&c.collectors.jira)
	c.Flag("shard", "Sync only this shard of the repositories and Jira projects, as i/n (e.g. 0/3); every shard runs its own store. Empty: everything.").
		PlaceHolder("i/n").StringVar(&c.shard)
	return c
}

func (c *serveCommand) run(e *env) int {
	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := c.serve(ctx, e, hup); err != nil {
		e.logger.Error("crossteam stopped", "err", err)
		return exitError
	}
	return exitOK
}

// setProcessors gives the Go runtime one processor more than the cores
// (cpulane.Processors says why), unless GOMAXPROCS is set in the
// environment, which then stands as the user set it. serve calls it once
// the first snapshot after start is computed.
func setProcessors(logger *slog.Logger) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	n := cpulane.Processors()
	prev := runtime.GOMAXPROCS(n)
	logger.Debug("Go processors set", "gomaxprocs", n, "cores", prev, "sync_sections", cpulane.Width())
}

// exporter is the running state that a reload swaps parts of.
type exporter struct {
	logger  *slog.Logger
	file    string
	st      *store.Store
	syncer  *syncer.Syncer
	health  *exposition.Health
	targets targetBuilder
	// switches are applied to every configuration loaded.
	switches collectorSwitches
	mu       sync.Mutex
	cfg      *config.Config
	loaded   [sha256.Size]byte // hash of the file the running configuration came from
	cancel   context.CancelFunc
	running  sync.WaitGroup
}

// targetBuilder makes the collectors of a configuration (buildTargets, or
// the demo's, which runs them on the simulated clock).
type targetBuilder func(cfg *config.Config, st *store.Store, health *exposition.Health, logger *slog.Logger) ([]syncer.Target, error)

// exporterOptions are what `serve` and `demo` run the exporter with.
type exporterOptions struct {
	file        string // configuration file, re-read on reload
	web         *web.FlagConfig
	metricsPath string
	maxRequests int
	lifecycle   bool             // POST /-/reload enabled (--web.enable-lifecycle)
	now         func() time.Time // asOf clock of snapshots; nil = time.Now
	// processors: set the Go processors (setProcessors) once the first
	// snapshot is computed (serve; the demo and tests leave them).
	processors bool
	targets    targetBuilder      // nil = buildTargets (for shard)
	shard      shard.Spec         // the part of the organisation synced here
	links      []externalLink     // extra landing page links to other servers
	grafanaURL string             // Grafana showing the boards, linked from the landing page
	collectors *collectorSwitches // nil = every source on
	// started, when set, runs in its own goroutine once the exporter is
	// syncing and the web server is starting.
	started func(ctx context.Context, x *exporter)
}

// addGrafanaURLFlag declares --grafana.url, the Grafana whose boards the
// landing page links.
func addGrafanaURLFlag(c *kingpin.CmdClause, v *string) {
	c.Flag("grafana.url", "Grafana that shows crossteam's dashboards (e.g. http://localhost:3000); the landing page links each board there.").
		PlaceHolder("URL").Envar("CROSSTEAM_GRAFANA_URL").StringVar(v)
}

// serve runs until ctx ends. Each value on hup (SIGHUP) reloads the
// configuration, as does POST /-/reload.
func (c *serveCommand) serve(ctx context.Context, e *env, hup <-chan os.Signal) error {
	spec, err := shard.Parse(c.shard)
	if err != nil {
		return err
	}
	return runExporter(ctx, e, hup, exporterOptions{processors: true, file: c.file, web: c.web, metricsPath: c.metricsPath, maxRequests: c.maxRequests, shard: spec, lifecycle: c.lifecycle, grafanaURL: c.grafanaURL, collectors: &c.collectors})
}

// runExporter loads the configuration file, syncs its targets in the
// background and serves /metrics and the landing page until ctx ends.
func runExporter(ctx context.Context, e *env, hup <-chan os.Signal, o exporterOptions) error {
	logger := e.logger
	raw, err := os.ReadFile(o.file)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	cfg, err := config.Load(o.file)
	if err != nil {
		return err
	}
	switches := allCollectors
	if o.collectors != nil {
		switches = *o.collectors
	}
	switches.apply(cfg, logger)
	st, err := store.Open(ctx, cfg.Store.Path, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	health := exposition.NewHealth()
	health.SetReload(true, time.Now())
	snap := exposition.NewSnapshotCollector()
	if o.targets == nil {
		o.targets = shardTargets(o.shard)
	}
	if o.shard.Sharded() {
		logger.Info("syncing one shard of the organisation", "shard", o.shard.String())
	}
	x := &exporter{logger: logger, file: o.file, st: st, health: health, cfg: cfg, targets: o.targets, loaded: sha256.Sum256(raw), switches: switches,
		syncer: &syncer.Syncer{Store: st, Logger: logger, Snapshot: snap, Health: health, Now: o.now,
			Engine: engine.Options{Sharded: o.shard.Sharded()}, SyncContext: ctx}}
	if o.processors {
		// After the first computation: it runs alone, and a processor
		// more than the cores only slowed it (the garbage collector's
		// workers take a quarter of each processor while marking).
		x.syncer.Started = func() { setProcessors(logger) }
	}

	// The live families, encoded per scrape; the snapshot's are encoded
	// once per snapshot by the handler.
	reg := prometheus.NewRegistry()
	reg.MustRegister(exposition.Sequential(health, exposition.BuildInfo(),
		promcollectors.NewGoCollector(),
		promcollectors.NewProcessCollector(promcollectors.ProcessCollectorOpts{})))

	if err := x.start(ctx, cfg); err != nil {
		return err
	}
	defer x.stop()

	reloadCh := make(chan chan error)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := x.reload(ctx); err != nil {
					logger.Error("reload failed; keeping the previous configuration", "err", err)
				}
			case done := <-reloadCh:
				done <- x.reload(ctx)
			}
		}
	}()

	mux := http.NewServeMux()
	mux.Handle(o.metricsPath, metricsHandler(snap, reg, logger, o.maxRequests))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if ok, why := x.syncer.Readiness(); !ok {
			http.Error(w, "Not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if !o.lifecycle {
			// As Prometheus: reloading over HTTP is opt-in, since without a
			// web config anyone who reaches the port could trigger it.
			http.Error(w, "Lifecycle API is not enabled (start with --web.enable-lifecycle, or send SIGHUP).", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "This endpoint requires a POST request.", http.StatusMethodNotAllowed)
			return
		}
		done := make(chan error, 1)
		select {
		case reloadCh <- done:
		case <-r.Context().Done():
			return
		}
		if err := <-done; err != nil {
			http.Error(w, "reload failed, previous configuration kept: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "Reloaded")
	})
	mux.HandleFunc("/config", func(w http.ResponseWriter, _ *http.Request) {
		x.mu.Lock()
		cfg := x.cfg
		x.mu.Unlock()
		s, err := cfg.RedactedWithoutMembers()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, s)
	})
	healthReg := prometheus.NewRegistry()
	healthReg.MustRegister(health)
	reviews := &reviewPages{logger: logger, snapshot: snap.Snapshot, load: st.Load, health: healthReg,
		engine: engine.Options{Sharded: o.shard.Sharded()},
		config: func() *config.Config { x.mu.Lock(); defer x.mu.Unlock(); return x.cfg }}
	mux.Handle("/review", reviews)
	mux.Handle("/review/", reviews)
	if o.metricsPath != "/" {
		mux.Handle("/", &landingPage{logger: logger, health: health, metricsPath: o.metricsPath, grafanaURL: o.grafanaURL,
			external: o.links, now: time.Now, scrub: &resilience.Scrubber{}, served: func() bool { return snap.Snapshot() != nil }})
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Minute}
	errCh := make(chan error, 1)
	go func() { errCh <- web.ListenAndServe(srv, o.web, logger) }()
	if o.started != nil {
		go o.started(ctx, x)
	}
	logger.Info("crossteam serving", "version", version.Version, "listen", *o.web.WebListenAddresses, "config", o.file, "store", cfg.Store.Path)
	select {
	case err := <-errCh:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

// start begins syncing the targets of cfg.
func (x *exporter) start(ctx context.Context, cfg *config.Config) error {
	targets, err := x.targets(cfg, x.st, x.health, x.logger)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	x.mu.Lock()
	x.cfg, x.cancel = cfg, cancel
	x.mu.Unlock()
	x.running.Add(1)
	go func() {
		defer x.running.Done()
		x.syncer.Run(runCtx, cfg, targets)
	}()
	return nil
}

func (x *exporter) stop() {
	x.mu.Lock()
	cancel := x.cancel
	x.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	x.running.Wait()
}

// reload loads the configuration file again; on any error the running
// configuration stays in place. A file whose bytes did not change does
// nothing (token files are re-read at request time anyway). Reloads run
// one at a time (the caller's single goroutine), and the targets' syncs in
// flight finish before the new configuration starts: they run under the
// Syncer's SyncContext, which only shutdown cancels.
func (x *exporter) reload(ctx context.Context) error {
	raw, err := os.ReadFile(x.file)
	if err != nil {
		x.health.SetReload(false, time.Now())
		return fmt.Errorf("config: %w", err)
	}
	sum := sha256.Sum256(raw)
	x.mu.Lock()
	unchanged := sum == x.loaded
	x.mu.Unlock()
	if unchanged {
		x.health.SetReload(true, time.Now())
		x.logger.Debug("configuration file unchanged; nothing reloaded", "file", x.file)
		return nil
	}
	cfg, err := config.Load(x.file)
	if err != nil {
		x.health.SetReload(false, time.Now())
		return err
	}
	x.switches.apply(cfg, x.logger)
	x.mu.Lock()
	old := x.cfg
	x.mu.Unlock()
	if cfg.Store.Path != old.Store.Path {
		x.health.SetReload(false, time.Now())
		return fmt.Errorf("store.path changed from %q to %q: a restart is needed for that", old.Store.Path, cfg.Store.Path)
	}
	if _, err := x.targets(cfg, x.st, x.health, x.logger); err != nil {
		x.health.SetReload(false, time.Now())
		return err
	}
	x.stop()
	for _, g := range old.Sources.GitHub {
		x.health.Forget("github", g.Name)
	}
	for _, j := range old.Sources.Jira {
		x.health.Forget("jira", j.Name)
	}
	if err := x.start(ctx, cfg); err != nil {
		x.health.SetReload(false, time.Now())
		return err
	}
	x.mu.Lock()
	x.loaded = sum
	x.mu.Unlock()
	x.health.SetReload(true, time.Now())
	x.logger.Info("configuration reloaded", "file", x.file)
	return nil
}

// metricsHandler serves the snapshot and the live families of reg; more
// than maxRequests concurrent scrapes (0: no limit) are answered 503 at once
// instead of queueing behind a slow one.
func metricsHandler(snap *exposition.SnapshotCollector, reg prometheus.Gatherer, logger *slog.Logger, maxRequests int) http.Handler {
	return exposition.NewHandler(snap, reg, exposition.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(logger.Handler(), slog.LevelError),
		MaxRequestsInFlight: maxRequests,
	})
}
