package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/crossteam/crossteam/bench"
)

// benchCommand is the performance harness (package bench): a simulated
// organisation served on loopback, this binary's `serve` as a child
// process syncing it, and a table of the measurements, also written to a
// marked section of BENCHMARKS.md.
type benchCommand struct {
	*kingpin.CmdClause
	size           string
	seed           uint64
	out            string
	json           string
	exporter       string
	dir            string
	scrapers       int
	scrapeInterval time.Duration
	timeout        time.Duration
	gomemlimit     string
	upstreamNice   int
}

func newBenchCommand(app *kingpin.Application) *benchCommand {
	c := &benchCommand{CmdClause: app.Command("bench", "Benchmark the exporter against a simulated organisation and print (and record) the figures.")}
	c.Flag("bench.size", "Organisation size: small (seconds), medium (a fifth of large), large (20 repos, 100,000 items, ~1M issue events, 50,000 Jira issues; 2.17M events stored), xlarge (large's items with a deeper history: ~5.5M events) or xlarge-items (2.5x large's items over 30 months, ~5.4M events).").
		Default("large").EnumVar(&c.size, bench.Sizes...)
	c.Flag("bench.seed", "Seed of the simulated organisation.").Default("1").Uint64Var(&c.seed)
	c.Flag("bench.out", "Markdown file whose <!-- bench:begin --> ... <!-- bench:end --> section receives the table; empty: print only.").Default("BENCHMARKS.md").StringVar(&c.out)
	c.Flag("bench.json", "File that receives every figure as one JSON object (null: a figure the run did not reach); empty: none.").StringVar(&c.json)
	c.Flag("bench.exporter", "Binary run as the exporter under measurement (default: this one); e.g. an older build, to compare before and after with the same harness.").StringVar(&c.exporter)
	c.Flag("bench.dir", "Directory for the store, configuration and exporter log; default a temporary directory removed on exit.").StringVar(&c.dir)
	c.Flag("bench.scrapers", "Concurrent /metrics scrapers during the full sync.").Default("10").IntVar(&c.scrapers)
	c.Flag("bench.scrape-interval", "Interval of each scraper (0: back to back).").Default("1s").DurationVar(&c.scrapeInterval)
	c.Flag("bench.timeout", "Longest time one sync phase may take.").Default("15m").DurationVar(&c.timeout)
	c.Flag("bench.gomemlimit", "GOMEMLIMIT for the exporter only (e.g. 384MiB, what the Docker image and compose stack set); empty: the exporter inherits the environment. The harness itself holds the whole simulated organisation, so setting GOMEMLIMIT for both would measure its garbage collector instead.").StringVar(&c.gomemlimit)
	c.Flag("bench.upstream-nice", "Nice value (1-19) for the harness's process, which serves the simulated GitHub and Jira, from the full sync on; the exporter and the scrapers keep the original priority. A remote GitHub or Jira never takes the exporter's CPU; the fakes on the same cores do. 0: one priority for all, the default.").Default("0").IntVar(&c.upstreamNice)
	return c
}

// benchScrapersCommand is the harness's scraper process (hidden: the
// harness starts it; see bench.ScrapeProcess).
type benchScrapersCommand struct {
	*kingpin.CmdClause
	url      string
	scrapers int
	interval time.Duration
}

func newBenchScrapersCommand(app *kingpin.Application) *benchScrapersCommand {
	c := &benchScrapersCommand{CmdClause: app.Command(bench.ScrapeCommand, "Scrape --url with --scrapers concurrent scrapers until standard input closes, then print the latencies as JSON (run by crossteam bench).").Hidden()}
	c.Flag("url", "The /metrics URL.").Required().StringVar(&c.url)
	c.Flag("scrapers", "Concurrent scrapers.").Required().IntVar(&c.scrapers)
	c.Flag("interval", "Interval of each scraper (0: back to back).").Required().DurationVar(&c.interval)
	return c
}

func (c *benchScrapersCommand) run(e *env) int {
	if err := bench.ScrapeProcess(e.ctx, c.url, c.scrapers, c.interval, os.Stdin, e.stdout); err != nil {
		fmt.Fprintf(e.stderr, "%s %s: %v\n", programName, bench.ScrapeCommand, err)
		return exitError
	}
	return exitOK
}

func (c *benchCommand) run(e *env) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: error: cannot find this binary to run as the exporter and the scrapers: %v\n", programName, err)
		return exitError
	}
	exe := self
	if c.exporter != "" {
		exe = c.exporter
	}
	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	at := time.Now()
	var childEnv []string
	if c.gomemlimit != "" {
		childEnv = append(childEnv, "GOMEMLIMIT="+c.gomemlimit)
	}
	r, err := bench.Run(ctx, bench.Options{Size: c.size, Seed: c.seed, Exe: exe, ScraperExe: self, Dir: c.dir, Scrapers: c.scrapers,
		ScrapeInterval: c.scrapeInterval, Timeout: c.timeout, Logger: e.logger, Progress: e.stderr, ChildEnv: childEnv, UpstreamNice: c.upstreamNice})
	if err != nil {
		e.logger.Error("benchmark failed", "err", err)
		if r == nil {
			return exitError
		}
		// The figures measured before the failing phase are still figures.
		fmt.Fprintf(e.stdout, "Partial figures (the %s phase failed):\n\n%s\n", r.Failed, r.Table())
		if c.json != "" {
			if err := bench.WriteJSON(c.json, r); err != nil {
				e.logger.Error("writing the benchmark JSON failed", "err", err)
			}
		}
		return exitError
	}
	if c.json != "" {
		if err := bench.WriteJSON(c.json, r); err != nil {
			e.logger.Error("writing the benchmark JSON failed", "err", err)
			return exitError
		}
	}
	command := "crossteam bench --bench.size=" + c.size
	switch c.size {
	case "large":
		command = "make bench"
	case "xlarge":
		command = "make bench-xlarge"
	case "xlarge-items":
		command = "make bench-xlarge-items"
	}
	section := r.Section(command, at)
	fmt.Fprintln(e.stdout, section)
	if c.out != "" {
		if err := bench.WriteSection(c.out, section); err != nil {
			e.logger.Error("writing the benchmark section failed", "file", c.out, "err", err)
			return exitError
		}
		fmt.Fprintf(e.stdout, "Written to %s (between %s and %s).\n", c.out, bench.BeginMarker, bench.EndMarker)
	}
	for _, t := range r.Goals() {
		if !t.Met {
			fmt.Fprintf(e.stdout, "target missed: %s: wanted %s, measured %s\n", t.Name, t.Want, strings.TrimSpace(t.Got))
		}
	}
	// A failed scrape is a fault, not a figure: make load relies on it.
	if r.Scrape.Errors > 0 {
		fmt.Fprintf(e.stderr, "%s bench: %d of %d scrapes failed during the full sync\n", programName, r.Scrape.Errors, r.Scrape.Scrapes)
		return exitError
	}
	return exitOK
}
