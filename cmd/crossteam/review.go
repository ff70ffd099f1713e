package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/review"
)

// reviewCommand writes the weekly cross-team review of one week, computed
// from the store like backfill (it never calls GitHub or Jira), and posts
// the digest to a webhook when asked.
type reviewCommand struct {
	*kingpin.CmdClause
	file        string
	week        string
	out         string
	at          string
	webhookFile string
	shardSpec   string
}

func newReviewCommand(app *kingpin.Application) *reviewCommand {
	c := &reviewCommand{CmdClause: app.Command("review", "Write the weekly cross-team review (review.md, review.html) of one ISO week, computed from the store, and optionally post the digest to a chat webhook.")}
	c.Flag("config.file", "Configuration file (its store.path is read).").Default("crossteam.yml").StringVar(&c.file)
	c.Flag("review.week", "ISO week to review, e.g. 2026-W48; default the last complete week in the calendar's time zone.").StringVar(&c.week)
	c.Flag("review.out", "Directory to write review.md and review.html to.").Default(".").StringVar(&c.out)
	c.Flag("review.at", "Instant of the review (RFC 3339); default now. The week must have ended by then.").Hidden().StringVar(&c.at)
	c.Flag("review.webhook-url-file", "File holding a Slack-compatible incoming webhook URL (a secret) to post the Markdown digest to.").StringVar(&c.webhookFile)
	c.Flag("shard", "The shard the store belongs to, as i/n (see serve --shard).").PlaceHolder("i/n").StringVar(&c.shardSpec)
	return c
}

func (c *reviewCommand) run(e *env) int {
	if err := c.review(e); err != nil {
		fmt.Fprintf(e.stderr, "%s review: %v\n", programName, err)
		return exitError
	}
	return exitOK
}

func (c *reviewCommand) review(e *env) error {
	cfg, spec, st, err := loadStored(e, "review", c.file, c.shardSpec)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	if c.at != "" {
		if now, err = time.Parse(time.RFC3339, c.at); err != nil {
			return fmt.Errorf("--review.at %q: want an RFC 3339 time", c.at)
		}
	}
	week := review.LastComplete(now, review.Location(cfg))
	if c.week != "" {
		if week, err = review.ParseWeek(c.week); err != nil {
			return fmt.Errorf("--review.week: %w", err)
		}
	}
	// Read the webhook before computing, so a bad file fails fast; post
	// only after the review computed and was written.
	var hook config.Secret
	if c.webhookFile != "" {
		src := &config.SecretSource{File: c.webhookFile}
		v, err := src.Value()
		if err != nil {
			return fmt.Errorf("--review.webhook-url-file: %w", err)
		}
		hook = config.Secret(v)
		if err := review.CheckWebhook(hook); err != nil {
			return fmt.Errorf("--review.webhook-url-file %s: %w", c.webhookFile, err)
		}
	}
	ds, err := st.Load(e.ctx)
	if err != nil {
		return err
	}
	r, err := review.Compute(cfg, ds, review.Options{Week: week, Now: now, Engine: engine.Options{Sharded: spec.Sharded()}})
	if err != nil {
		return err
	}
	var md, page bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		return err
	}
	if err := r.HTML(&page); err != nil {
		return err
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return fmt.Errorf("--review.out: %w", err)
	}
	for name, b := range map[string][]byte{"review.md": md.Bytes(), "review.html": page.Bytes()} {
		if err := os.WriteFile(filepath.Join(c.out, name), b, 0o644); err != nil {
			return fmt.Errorf("--review.out: %w", err)
		}
	}
	fmt.Fprintf(e.stderr, "%s review: week %s written to %s (review.md, review.html)\n", programName, week, c.out)
	if hook != "" {
		client := &http.Client{Timeout: 30 * time.Second}
		if err := review.Post(e.ctx, client, hook, md.String()); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "%s review: digest posted to the webhook\n", programName)
	}
	return nil
}
