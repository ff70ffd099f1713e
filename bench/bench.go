// Package bench is crossteam's performance harness (`crossteam bench`,
// `make bench`). It generates a simulated organisation (package sim), serves
// it as the GitHub and Jira Cloud REST APIs on loopback (package fakeapi),
// writes the generated configuration and runs the exporter as a child
// process (`crossteam serve`, the same binary), so that the CPU time and
// peak RSS it reports are the exporter's alone. It then measures:
//
//   - the full sync: wall and CPU time, events stored per second, requests
//     sent against the theoretical minimum of apis.md §9 and against one
//     timeline call per item, and bytes received;
//   - an incremental sync with nothing changed (requests, GitHub primary
//     rate limit spent);
//   - an incremental sync after the simulated clock moved until about 1% of
//     the items changed (requests, time);
//   - the snapshot computation (the exporter's own gauge, and store load and
//     engine.Compute timed in-process on the store it wrote);
//   - the store size on disk and the exporter's peak RSS;
//   - /metrics latency (p50, p99) with concurrent scrapers during the full
//     sync, and the number of series exposed;
//   - the physical reference: encoding/json decode throughput of a sample of
//     the very pages the sync received, so ingest is a fraction of it.
//
// Sync completion is read from the child's /metrics: every target's
// crossteam_last_sync_success_timestamp_seconds newer than the phase start
// and a snapshot computed after the last of them. The sync interval is long
// (24h), so the only syncs are the ones the harness triggers: the first at
// start, the others by POST /-/reload (which restarts the sync loop).
//
// The simulated history ends when the run starts and the fakes' clock is
// set to the real time while the exporter syncs (Jira's relative JQL is
// evaluated on it; the collectors' watermarks are capped at the real time).
// The 1% phase changes items through the fakes' mutators at the real time:
// planned history (sim.World.Advance) would either lie in the future or, if
// the history ended earlier, leave the watermarks hours behind the clock, so
// that an unchanged Jira sync would re-read those hours.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/fakeapi"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
	"github.com/crossteam/crossteam/sim"
	"github.com/crossteam/crossteam/store"
)

// Sizes are the organisation sizes the harness knows.
var Sizes = []string{"small", "medium", "large", "xlarge", "xlarge-items"}

// XLargeHistoryDepth is xlarge's sim.Params.HistoryDepth: the mean extra
// collected events per item that take large's items to about 5.5 million
// events (as many as xlarge-items).
const XLargeHistoryDepth = 28

// SizeParams returns the simulator parameters of a size: large is
// sim.Large (20 repositories, 100,000 items, about a million issue events,
// 50,000 Jira issues, 2.17 million events stored), medium a fifth of it,
// small sim.Small. The two xlarge sizes separate growth with history from
// growth with items: xlarge is large with a deeper history
// (XLargeHistoryDepth: comments and label changes by accounts in no team,
// about 5.5 million events) and so the same items, handoffs and engine
// figures but the events counted; xlarge-items has 2.5 times large's items
// over 30 months (about 5.4 million events).
func SizeParams(size string) (sim.Params, error) {
	switch size {
	case "small":
		return sim.Small(), nil
	case "medium":
		p := sim.Large()
		p.ItemsPerRepo = 1000
		p.JiraIssuesPerProject = 2000
		p.StalledNow, p.JiraStalledNow = 20, 10
		return p, nil
	case "large":
		return sim.Large(), nil
	case "xlarge":
		p := sim.Large()
		p.HistoryDepth = XLargeHistoryDepth
		return p, nil
	case "xlarge-items":
		p := sim.Large()
		p.Months = 30
		p.ItemsPerRepo = 12500
		p.JiraIssuesPerProject = 25000
		return p, nil
	}
	return sim.Params{}, fmt.Errorf("bench: size %q: want one of %s", size, strings.Join(Sizes, ", "))
}

// Options configure a run.
type Options struct {
	Size string
	Seed uint64
	// Exe is the crossteam binary run as `Exe serve` (os.Executable()).
	Exe string
	// ScraperExe is the binary run as `ScraperExe bench-scrapers`: the
	// harness's own (os.Executable()), which Exe need not be.
	ScraperExe string
	// Dir holds the store, configuration and exporter log; empty: a
	// temporary directory removed afterwards.
	Dir string
	// Scrapers scrape /metrics concurrently during the full sync, each
	// every ScrapeInterval (0: back to back).
	Scrapers       int
	ScrapeInterval time.Duration
	// ChangedShare is the share of items the incremental-with-changes
	// phase changes (default 0.01).
	ChangedShare float64
	// SampleStride keeps every n-th response for the decode reference
	// (default: chosen by size).
	SampleStride int
	// Interval is the sync interval of the incremental phases (default 15s).
	Interval time.Duration
	// Timeout bounds each sync phase (default 15 minutes).
	Timeout time.Duration
	Logger  *slog.Logger
	// Progress receives one line per phase (nil: none).
	Progress io.Writer
	// ChildEnv is added to the exporter's environment.
	ChildEnv []string
	// UpstreamNice, 1 to 19, runs the harness's threads, and with them
	// the simulated GitHub and Jira, at that nice value from the full
	// sync on, while the exporter and the scraper process keep the
	// harness's original priority (see nice_linux.go); 0: all at one
	// priority.
	UpstreamNice int
}

// Run runs the whole benchmark.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Minute
	}
	if o.Interval <= 0 {
		o.Interval = 15 * time.Second
	}
	if o.ChangedShare <= 0 {
		o.ChangedShare = 0.01
	}
	p, err := SizeParams(o.Size)
	if err != nil {
		return nil, err
	}
	if o.Seed != 0 {
		p.Seed = o.Seed
	}
	if o.SampleStride <= 0 {
		o.SampleStride = map[string]int{"small": 1, "medium": 4, "large": 16, "xlarge": 40, "xlarge-items": 40}[o.Size]
	}
	if o.Exe == "" {
		return nil, errors.New("bench: no exporter binary (Options.Exe)")
	}
	if o.Scrapers > 0 && o.ScraperExe == "" {
		return nil, errors.New("bench: no scraper binary (Options.ScraperExe)")
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "crossteam-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &Result{Size: o.Size, Machine: DescribeMachine(), Scrapers: o.Scrapers, ScrapeInterval: o.ScrapeInterval}
	say := func(format string, a ...any) { fmt.Fprintf(o.Progress, "bench: "+format+"\n", a...) }
	r.LoadAverageStart = LoadAverage()
	r.ExporterEnv = o.ChildEnv
	// fail keeps the figures measured so far: the caller prints them with
	// the phase that failed.
	phase := "generate"
	fail := func(err error) (*Result, error) {
		r.Failed = phase
		r.LoadAverage = LoadAverage()
		return r, fmt.Errorf("%s: %w", phase, err)
	}

	// The world.
	realStart := time.Now().UTC().Truncate(time.Second)
	p.Now = realStart
	began := time.Now()
	w, err := sim.Generate(p)
	if err != nil {
		return fail(err)
	}
	r.Generate = time.Since(began)
	site := w.JiraSite()
	r.Census = TakeCensus(w.Org, site)
	r.Repos = len(w.Repos)
	say("%s world generated in %s: %d repositories, %d GitHub items, %d issue events, %d Jira issues, %d Jira histories",
		o.Size, r.Generate.Round(time.Millisecond), r.Repos, r.Census.GitHubItems, r.Census.IssueEvents, r.Census.JiraIssues, r.Census.JiraHistories)

	// The fakes, on loopback, behind byte counters.
	budget := 256 << 20
	// Budgets no sync here reaches, REST and GraphQL alike: the harness
	// counts what a sync pays (the points are figures of their own), and a
	// spent budget would only measure the wait for its hourly reset (the
	// deep xlarge history spends more than GitHub's 5,000 points, and the
	// exporter waited for the reset, as it must).
	gh := fakegithub.NewGitHub(w.Org, fakegithub.GitHubOptions{Tokens: []string{w.GitHubToken}, RateLimit: 10_000_000,
		GraphQLRateLimit: 10_000_000, MaxLog: 50_000_000})
	ghRec := newRecorder(gh, o.SampleStride, budget/2)
	ghURL, stopGH, err := fakeapi.ServeLoopback(ghRec, o.Logger)
	if err != nil {
		return fail(fmt.Errorf("fake GitHub: %w", err))
	}
	defer stopGH()
	storePath := filepath.Join(dir, "crossteam.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(storePath + suffix)
	}
	tokenFile := filepath.Join(dir, "github-token")
	if err := os.WriteFile(tokenFile, []byte(w.GitHubToken+"\n"), 0o600); err != nil {
		return fail(err)
	}
	co := sim.ConfigOptions{GitHubURL: ghURL, TokenFile: tokenFile, StorePath: storePath, SyncInterval: "24h"}
	var jira *fakejira.API
	var jiraRec *recorder
	if site != nil {
		jo := w.JiraOptions()
		jo.MaxLog = 50_000_000
		jo.RateLimit = 10_000_000
		jira = fakejira.NewAPI(site, jo)
		jiraRec = newRecorder(jira, o.SampleStride, budget/2)
		u, stopJira, err := fakeapi.ServeLoopback(jiraRec, o.Logger)
		if err != nil {
			return fail(fmt.Errorf("fake Jira: %w", err))
		}
		defer stopJira()
		co.JiraURL = strings.TrimRight(u, "/")
		w.SetJiraURL(co.JiraURL)
		co.JiraTokenFile = filepath.Join(dir, "jira-token")
		if err := os.WriteFile(co.JiraTokenFile, []byte(w.JiraToken()+"\n"), 0o600); err != nil {
			return fail(err)
		}
	}
	cfgPath := filepath.Join(dir, "crossteam.yml")
	if err := os.WriteFile(cfgPath, []byte(w.Config(co)), 0o600); err != nil {
		return fail(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return fail(fmt.Errorf("generated configuration: %w", err))
	}
	r.Targets = len(cfg.Sources.GitHub) + len(cfg.Sources.Jira)
	r.Teams = len(cfg.Teams)

	logs := func() []fakeLog {
		l := []fakeLog{{source: "github", reqs: gh.Requests()}}
		if jira != nil {
			l = append(l, fakeLog{source: "jira", reqs: jira.Requests()})
		}
		return l
	}
	resetLogs := func() {
		gh.ResetRequests()
		ghRec.resetBytes()
		if jira != nil {
			jira.ResetRequests()
			jiraRec.resetBytes()
		}
	}
	// The fakes' clock follows the real one (the collectors compute Jira's
	// relative windows from their clock, the fake evaluates them on its own).
	w.Clock.Set(time.Now().UTC())
	clockCtx, stopClock := context.WithCancel(ctx)
	defer stopClock()
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-clockCtx.Done():
				return
			case <-tick.C:
				w.Clock.Set(time.Now().UTC())
			}
		}
	}()

	// Phase 1: full sync, with scrapers.
	phase = "full sync"
	spawn, unnice, err := niceHarness(ctx, o.UpstreamNice)
	if err != nil {
		return fail(err)
	}
	defer unnice()
	r.UpstreamNice = o.UpstreamNice
	ghRec.start()
	if jiraRec != nil {
		jiraRec.start()
	}
	phaseStart := time.Now()
	harnessCPU0 := selfCPU()
	var ch *child
	spawn(func() { ch, err = startChild(ctx, o.Exe, cfgPath, filepath.Join(dir, "exporter.log"), o.ChildEnv) })
	if err != nil {
		return fail(err)
	}
	defer ch.kill()
	anon := ch.sampleRSS()
	var scraper *scrapeProcess
	spawn(func() {
		scraper, err = startScrapeProcess(o.ScraperExe, ch.base+"/metrics", o.Scrapers, o.ScrapeInterval)
	})
	if err != nil {
		return fail(err)
	}
	done, err := waitSynced(ctx, ch, nil, phaseStart, r.Targets, o.Timeout)
	harnessCPU := selfCPU() - harnessCPU0
	sc, serr := scraper.stop()
	if err != nil {
		return fail(err)
	}
	if serr != nil {
		return fail(serr)
	}
	cpu, err := ch.cpuTime()
	if err != nil {
		return fail(err)
	}
	r.Full = phaseFrom(logs(), done, phaseStart)
	r.reached.full = true
	r.Full.CPU = cpu
	r.Full.HarnessCPU = harnessCPU
	r.Full.Bytes = ghRec.total()
	var ghSamples, jiraSamples []sample
	_, ghSamples = ghRec.stop()
	if jiraRec != nil {
		r.Full.Bytes += jiraRec.total()
		_, jiraSamples = jiraRec.stop()
	}
	r.Full.StoredEvents = done.storedEvents
	r.SnapshotGauge = done.computeSeconds
	r.Scrape = scrapeResult(sc)
	r.Scrape.Series = len(done.final)
	r.Scrape.CrossteamSeries = done.final.countPrefix("crossteam_")
	r.Scrape.StalledSeries = done.final.countPrefix("crossteam_stalled_handoff_idle_seconds{")
	r.Scrape.MaxStalled = cfg.Handoffs.MaxStalledExported
	r.Scrape.Pairs = len(done.final.byName("crossteam_handoffs_total"))
	say("full sync: %s wall, %s CPU, %d GitHub + %d Jira requests, %d events stored",
		r.Full.Wall.Round(time.Millisecond), r.Full.CPU.Round(time.Millisecond), r.Full.GitHub.Requests, r.Full.Jira.Requests, r.Full.StoredEvents)

	// The decode reference, on the pages just received.
	phase = "decode reference"
	r.Decode, err = decodeReference(append(ghSamples, jiraSamples...), 2*time.Second)
	if err != nil {
		return fail(err)
	}
	ghSamples, jiraSamples = nil, nil
	say("decode reference: %d pages, %.1f MB/s", r.Decode.Pages, r.Decode.BytesPerSec()/1e6)

	// The incremental syncs run in the exporter's own loop, with the
	// collectors that did the full sync (a reload would build new ones,
	// which fetch Jira's metadata again): the configuration is rewritten
	// with a short interval and reloaded once; the first sync after the
	// reload is a warm-up, the next one is measured.
	phase = "warm-up sync after the reload"
	co.SyncInterval = o.Interval.String()
	if err := os.WriteFile(cfgPath, []byte(w.Config(co)), 0o600); err != nil {
		return fail(err)
	}
	reloaded := time.Now()
	if err := ch.reload(ctx); err != nil {
		return fail(err)
	}
	warm, err := waitSynced(ctx, ch, nil, reloaded, r.Targets, o.Timeout)
	if err != nil {
		return fail(err)
	}

	// Phase 2: nothing changed.
	phase = "incremental sync, nothing changed"
	resetLogs()
	if jiraRec != nil {
		jiraRec.captureBodies(true)
	}
	done, err = waitSynced(ctx, ch, warm.successes, reloaded, r.Targets, o.Timeout)
	if err != nil {
		return fail(err)
	}
	r.NoChange = phaseFrom(logs(), done, time.Time{})
	r.reached.noChange = true
	if jiraRec != nil {
		r.NoChangeJira = jiraRec.captureBodies(false)
	}
	say("no-change sync: %d GitHub requests (%d paid), %d Jira requests", r.NoChange.GitHub.Requests, r.NoChange.GitHub.Paid, r.NoChange.Jira.Requests)

	// Phase 3: ChangedShare of the items change, right after the last
	// sync (the next starts an interval later).
	phase = "incremental sync after changes"
	resetLogs()
	mutStart := time.Now().UTC().Truncate(time.Second).Add(-time.Second)
	if err := changeShare(w, p.Seed, o.ChangedShare); err != nil {
		return fail(err)
	}
	r.Changed = CountChanged(w.Org, site, mutStart)
	changed := r.Changed
	done, err = waitSynced(ctx, ch, done.successes, reloaded, r.Targets, o.Timeout)
	if err != nil {
		return fail(err)
	}
	r.Incremental = phaseFrom(logs(), done, time.Time{})
	r.SnapshotGaugeIncremental = done.computeSeconds
	r.reached.incremental = true
	say("1%% changed (%d GitHub items, %d Jira issues): %d GitHub + %d Jira requests, %s",
		changed.GitHubItems, changed.JiraIssues, r.Incremental.GitHub.Requests, r.Incremental.Jira.Requests, r.Incremental.Wall.Round(time.Millisecond))

	phase = "stopping the exporter"
	if r.PeakRSS, err = ch.peakRSS(); err != nil {
		return fail(err)
	}
	r.PeakRSSAnon = anon.stop()
	if err := ch.stop(); err != nil {
		return fail(fmt.Errorf("stopping the exporter: %w; log: %s", err, tail(ch.logPath)))
	}

	// Phase 4: a restart on the full store (the first snapshot is computed
	// from the store alone), then the CPU of a scrape while idle.
	phase = "restart"
	co.SyncInterval = "24h"
	if err := os.WriteFile(cfgPath, []byte(w.Config(co)), 0o600); err != nil {
		return fail(err)
	}
	restart := time.Now()
	spawn(func() {
		ch, err = startChild(ctx, o.Exe, cfgPath, filepath.Join(dir, "exporter-restart.log"), o.ChildEnv)
	})
	if err != nil {
		return fail(err)
	}
	defer ch.kill()
	anon = ch.sampleRSS()
	if r.RecomputeFirst, err = ch.firstSnapshot(ctx, o.Timeout); err != nil {
		return fail(err)
	}
	r.reached.restart = true
	say("restart: first snapshot computed in %.2f s (%s after the start)", r.RecomputeFirst, time.Since(restart).Round(time.Millisecond))
	if _, err := waitSynced(ctx, ch, nil, restart, r.Targets, o.Timeout); err != nil {
		return fail(err)
	}
	phase = "scrape CPU"
	if r.ScrapeCPU, err = ch.scrapeCPU(ctx, 1000); err != nil {
		return fail(err)
	}
	r.reached.scrapeCPU = true
	say("scrape CPU: %.2f ms per scrape (idle CPU removed)", float64(r.ScrapeCPU)/1e6)
	rss, err := ch.peakRSS()
	if err != nil {
		return fail(err)
	}
	r.PeakRSS = max(r.PeakRSS, rss)
	r.PeakRSSAnon = max(r.PeakRSSAnon, anon.stop())
	phase = "stopping the restarted exporter"
	if err := ch.stop(); err != nil {
		return fail(fmt.Errorf("stopping the exporter: %w; log: %s", err, tail(ch.logPath)))
	}
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(storePath + suffix); err == nil {
			r.StoreBytes += fi.Size()
		}
	}

	// Snapshot computation in-process, on the store the exporter wrote.
	phase = "in-process snapshot"
	if err := r.measureSnapshot(ctx, cfg, storePath, o.Logger); err != nil {
		return fail(err)
	}
	r.Total = time.Since(began)
	r.LoadAverage = LoadAverage()
	return r, nil
}

// measureSnapshot times store.Load and engine.Compute on the store file.
func (r *Result) measureSnapshot(ctx context.Context, cfg *config.Config, path string, logger *slog.Logger) error {
	st, err := store.Open(ctx, path, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	ds, err := st.Load(ctx)
	if err != nil {
		return err
	}
	r.StoreLoad = time.Since(start)
	eng := engine.New(cfg, ds.Members, engine.Options{})
	best := time.Duration(0)
	for i := 0; i < 3; i++ {
		start = time.Now()
		_ = eng.Compute(ds, time.Now())
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
	}
	r.Compute = best
	r.SnapshotEvents = len(ds.Events)
	return nil
}

// synced is the child's state once a phase's syncs and snapshot are done.
type synced struct {
	at             time.Time
	syncDurations  map[string]float64   // by target series
	successes      map[string]time.Time // last successful sync, by target series
	lastSuccess    time.Time
	computeSeconds float64
	storedEvents   int
	final          samples
}

// pollInterval is how often waitSynced scrapes the child. Sync times come
// from the child's own timestamps, so a slow poll loses no precision; a
// fast one would load the exporter it measures (a scrape of the large
// organisation's 7,000 series costs it about 20 ms of CPU).
const pollInterval = 500 * time.Millisecond

// waitSynced polls the child's /metrics until every target synced
// successfully after since and after its time in after, and a snapshot was
// computed after the last of those syncs.
func waitSynced(ctx context.Context, ch *child, after map[string]time.Time, since time.Time, targets int, timeout time.Duration) (synced, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Minute}
	for {
		select {
		case err := <-ch.done:
			ch.done <- err
			return synced{}, fmt.Errorf("exporter exited: %v; log: %s", err, tail(ch.logPath))
		case <-ctx.Done():
			return synced{}, fmt.Errorf("no complete sync within %s: %w; log: %s", timeout, ctx.Err(), tail(ch.logPath))
		case <-time.After(pollInterval):
		}
		s, _, err := scrape(ctx, client, ch.base+"/metrics")
		if err != nil {
			continue
		}
		succ := s.byName("crossteam_last_sync_success_timestamp_seconds")
		if len(succ) < targets {
			continue
		}
		out := synced{successes: map[string]time.Time{}}
		ok := true
		for k, v := range succ {
			t := time.Unix(0, int64(v*1e9))
			out.successes[k] = t
			ok = ok && t.After(since) && t.After(after[k])
			if t.After(out.lastSuccess) {
				out.lastSuccess = t
			}
		}
		snap := time.Unix(0, int64(s["crossteam_snapshot_timestamp_seconds"]*1e9))
		if !ok || snap.Before(out.lastSuccess) {
			continue
		}
		out.at, out.computeSeconds = time.Now(), s["crossteam_snapshot_compute_seconds"]
		out.syncDurations, out.final = s.byName("crossteam_sync_duration_seconds"), s
		for _, v := range s.byName("crossteam_store_events") {
			out.storedEvents += int(v)
		}
		return out, nil
	}
}

// Machine describes the host.
func DescribeMachine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%d cores (%s)%s, %s/%s, %s", runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
