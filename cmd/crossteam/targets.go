package main

import (
	"fmt"
	"log/slog"

	"github.com/crossteam/crossteam/collectors"
	ghcollector "github.com/crossteam/crossteam/collectors/github"
	jiracollector "github.com/crossteam/crossteam/collectors/jira"
	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/store"
)

// buildTargets creates one collector per configured source target. Each
// gets a transport that counts its requests for the health metrics.
func buildTargets(cfg *config.Config, st *store.Store, health *collectors.Health, logger *slog.Logger) ([]collectors.Target, error) {
	var out []collectors.Target
	for _, g := range cfg.Sources.GitHub {
		c, err := ghcollector.New(ghcollector.Options{
			Config:    cfg,
			Target:    g,
			Store:     st,
			Transport: health.Transport("github", g.Name, nil),
			Logger:    logger.With("source", "github", "target", g.Name),
		})
		if err != nil {
			return nil, fmt.Errorf("github target %q: %w", g.Name, err)
		}
		out = append(out, c)
	}
	for _, j := range cfg.Sources.Jira {
		c, err := jiracollector.New(jiracollector.Options{
			Config:    cfg,
			Target:    j,
			Store:     st,
			Transport: health.Transport("jira", j.Name, nil),
			Logger:    logger.With("source", "jira", "target", j.Name),
		})
		if err != nil {
			return nil, fmt.Errorf("jira target %q: %w", j.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}
