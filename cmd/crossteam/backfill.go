package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"

	"github.com/crossteam/crossteam/backfill"
	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/shard"
	"github.com/crossteam/crossteam/store"
)

// backfillCommand writes the metrics' history, computed from the store,
// as OpenMetrics for promtool: months of trends on the day the exporter is
// installed. It never calls GitHub or Jira.
type backfillCommand struct {
	*kingpin.CmdClause
	file      string
	from, to  string
	step      model.Duration
	out       string
	labels    map[string]string
	shardSpec string
	promURL   string
}

func newBackfillCommand(app *kingpin.Application) *backfillCommand {
	c := &backfillCommand{labels: map[string]string{}, CmdClause: app.Command("backfill", "Write the metrics' history, computed from the store, as OpenMetrics for `promtool tsdb create-blocks-from openmetrics`.")}
	c.Flag("config.file", "Configuration file (its store.path is read).").Default("crossteam.yml").StringVar(&c.file)
	c.Flag("backfill.from", "First instant: a duration before --backfill.to (e.g. 90d) or an RFC 3339 time.").Default("90d").StringVar(&c.from)
	c.Flag("backfill.to", "End (exclusive): an RFC 3339 time; default now.").StringVar(&c.to)
	c.Flag("backfill.step", "Time between instants; Prometheus' windows (7d, 28d) want several per window.").Default("1d").SetValue(&c.step)
	c.Flag("backfill.out", "Output file; - for standard output.").Default("-").StringVar(&c.out)
	c.Flag("backfill.label", "Label added to every sample, as name=value (repeatable): the job and instance of the live scrape, so the live series continue these.").
		Default("job=crossteam").StringMapVar(&c.labels)
	c.Flag("shard", "The shard the store belongs to, as i/n (see serve --shard).").PlaceHolder("i/n").StringVar(&c.shardSpec)
	c.Flag("backfill.prometheus-url", "The Prometheus the history is for (http://host:9090): its retention is checked first; a retention shorter than the backfilled span is an error (Prometheus would delete the older samples), one shorter than the recording rules need a warning.").
		PlaceHolder("URL").StringVar(&c.promURL)
	return c
}

func (c *backfillCommand) run(e *env) int {
	if err := c.backfill(e); err != nil {
		fmt.Fprintf(e.stderr, "%s backfill: %v\n", programName, err)
		return exitError
	}
	return exitOK
}

// loadStored is what backfill and review start with: the configuration,
// the shard, and the store it names, which must exist (both only read what
// serve stored). The caller closes the store.
func loadStored(e *env, command, file, shardSpec string) (*config.Config, shard.Spec, *store.Store, error) {
	cfg, err := config.Load(file)
	if err != nil {
		return nil, shard.Spec{}, nil, err
	}
	spec, err := shard.Parse(shardSpec)
	if err != nil {
		return nil, shard.Spec{}, nil, err
	}
	if _, err := os.Stat(cfg.Store.Path); err != nil {
		return nil, shard.Spec{}, nil, fmt.Errorf("store %s: %w (run serve first: %s reads what it stored)", cfg.Store.Path, err, command)
	}
	st, err := store.Open(e.ctx, cfg.Store.Path, e.logger)
	if err != nil {
		return nil, shard.Spec{}, nil, err
	}
	return cfg, spec, st, nil
}

func (c *backfillCommand) backfill(e *env) error {
	cfg, spec, st, err := loadStored(e, "backfill", c.file, c.shardSpec)
	if err != nil {
		return err
	}
	defer st.Close()
	to := time.Now()
	if c.to != "" {
		if to, err = time.Parse(time.RFC3339, c.to); err != nil {
			return fmt.Errorf("--backfill.to %q: want an RFC 3339 time", c.to)
		}
	}
	from, err := parseFrom(c.from, to)
	if err != nil {
		return err
	}
	if c.promURL != "" {
		// Before any work: a Prometheus that keeps less than the span
		// would silently drop the older part at its next compaction.
		ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
		r, err := backfill.FetchRetention(ctx, http.DefaultClient, c.promURL)
		cancel()
		if err != nil {
			return fmt.Errorf("--backfill.prometheus-url: %w", err)
		}
		warnings, err := backfill.CheckRetention(r, from, to)
		if err != nil {
			return fmt.Errorf("--backfill.prometheus-url %s: %w", c.promURL, err)
		}
		for _, w := range warnings {
			fmt.Fprintf(e.stderr, "%s backfill: warning: %s\n", programName, w)
		}
	}
	ds, err := st.Load(e.ctx)
	if err != nil {
		return err
	}
	var w io.Writer = e.stdout
	if c.out != "-" {
		f, err := os.Create(c.out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	began := time.Now()
	stats, err := backfill.Write(w, cfg, ds, backfill.Options{From: from, To: to, Step: time.Duration(c.step),
		Labels: c.labels, Engine: engine.Options{Sharded: spec.Sharded()}})
	if err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && f != os.Stdout {
		if err := f.Close(); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "%s backfill: %d instants from %s to %s every %s, %d samples, in %s\n", programName,
		stats.Instants, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), c.step, stats.Samples, time.Since(began).Round(time.Millisecond))
	if c.out != "-" {
		fmt.Fprintf(e.stderr, "load it into Prometheus with: promtool tsdb create-blocks-from openmetrics %s <prometheus data dir>\n", c.out)
	}
	return nil
}

// parseFrom reads --backfill.from: a Prometheus duration before to, or an
// RFC 3339 time.
func parseFrom(s string, to time.Time) (time.Time, error) {
	if d, err := model.ParseDuration(s); err == nil {
		return to.Add(-time.Duration(d)), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--backfill.from %q: want a duration like 90d or an RFC 3339 time", strings.TrimSpace(s))
	}
	return t, nil
}
