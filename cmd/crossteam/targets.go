package main

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	ghcollector "github.com/crossteam/crossteam/collectors/github"
	jiracollector "github.com/crossteam/crossteam/collectors/jira"
	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/resilience"
	"github.com/crossteam/crossteam/shard"
	"github.com/crossteam/crossteam/store"
	"github.com/crossteam/crossteam/syncer"
)

// buildTargets creates one collector per configured source target. Each
// gets a transport that counts its requests for the health metrics.
func buildTargets(cfg *config.Config, st *store.Store, health *exposition.Health, logger *slog.Logger) ([]syncer.Target, error) {
	return newTargets(cfg, st, health, logger, nil, shard.Spec{})
}

// shardTargets is buildTargets for one shard of the organisation.
func shardTargets(spec shard.Spec) targetBuilder {
	return func(cfg *config.Config, st *store.Store, health *exposition.Health, logger *slog.Logger) ([]syncer.Target, error) {
		return newTargets(cfg, st, health, logger, nil, spec)
	}
}

// newTargets builds the collectors on the clock now (nil = time.Now) for
// the repositories and Jira projects spec owns: both collectors take the
// shard as an Owns predicate. A Jira target none of whose projects this
// shard owns is left to the other shards.
func newTargets(cfg *config.Config, st *store.Store, health *exposition.Health, logger *slog.Logger, now func() time.Time, spec shard.Spec) ([]syncer.Target, error) {
	var out []syncer.Target
	var owns func(string) bool
	if spec.Sharded() {
		owns = spec.Owns
	}
	for _, g := range cfg.Sources.GitHub {
		c, err := ghcollector.New(ghcollector.Options{
			Config:    cfg,
			Target:    g,
			Store:     st,
			Now:       now,
			Owns:      owns,
			Transport: health.Transport("github", g.Name, resilience.TimeoutTransport(nil, resilience.RequestTimeout)),
			Logger:    logger, // the collector adds source and target
		})
		if err != nil {
			return nil, fmt.Errorf("github target %q: %w", g.Name, err)
		}
		out = append(out, c)
	}
	for _, j := range cfg.Sources.Jira {
		var ownsProject func(string) bool
		if spec.Sharded() {
			ownsProject = func(p string) bool { return spec.Owns(shard.JiraKey(j.URL, p)) }
		}
		c, err := jiracollector.New(jiracollector.Options{
			Config:    cfg,
			Target:    j,
			Store:     st,
			Now:       now,
			Owns:      ownsProject,
			Transport: health.Transport("jira", j.Name, resilience.TimeoutTransport(nil, resilience.RequestTimeout)),
			Logger:    logger, // the collector adds source and target
			OnLinkTypes: func(missing []string) {
				health.SetLinkTypesMissing("jira", j.Name, missing)
			},
			OnCommentsDeferred: func(n int) {
				health.SetCommentsDeferred("jira", j.Name, n)
			},
		})
		if errors.Is(err, jiracollector.ErrNotInShard) {
			logger.Info("no project of this Jira target is in this shard; other shards sync it", "target", j.Name, "shard", spec.String())
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("jira target %q: %w", j.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}
