package syncer

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	jiracollector "github.com/crossteam/crossteam/collectors/jira"
	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/store"
)

// policyTarget records the comment policy Run injected and what it
// answered, at each sync, about an issue whose open handoff
// design->backend a cut comment by a backend member could pick up.
type policyTarget struct {
	pol   jiracollector.CommentPolicy
	seen  chan [2]uint64 // generation, 1 if it matters
	issue model.Item
	evs   []model.Event
}

func (p *policyTarget) Source() string                                 { return "jira" }
func (p *policyTarget) Name() string                                   { return "site" }
func (p *policyTarget) SetCommentPolicy(c jiracollector.CommentPolicy) { p.pol = c }
func (p *policyTarget) Sync(context.Context) error {
	if p.pol == nil {
		p.seen <- [2]uint64{0, 2}
		return nil
	}
	m := uint64(0)
	if p.pol.CutCommentsMatter(&p.issue, p.evs, nil, p.evs[len(p.evs)-1].At) {
		m = 1
	}
	select {
	case p.seen <- [2]uint64{p.pol.Generation(), m}:
	default:
	}
	return nil
}

// TestCommentPolicyInjected: Run hands Jira targets the syncer's policy,
// which answers from the engine under the running configuration before
// the first sync; a reload (Run with a new configuration) gives it a new
// generation and the new configuration's answer.
func TestCommentPolicyInjected(t *testing.T) {
	parse := func(s string) *config.Config {
		c, err := config.Parse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Under a, backend's members are Jira accounts: an open handoff to
	// backend can be picked up by a cut comment. Under b they are GitHub
	// logins only: no Jira actor is in any team.
	a := parse(`
teams:
  design: {members: [{jira: acc-d}], markers: {jira_statuses: [{name: Design}]}}
  backend: {members: [{jira: acc-b}], markers: {jira_statuses: [{name: Dev}]}}
`)
	b := parse(`
teams:
  design: {members: [{github: d}], markers: {jira_statuses: [{name: Design}]}}
  backend: {members: [{github: b}], markers: {jira_statuses: [{name: Dev}]}}
`)
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	tg := &policyTarget{seen: make(chan [2]uint64, 1),
		issue: model.Item{Source: model.SourceJira, Key: "P-1", Author: "x", Created: t0, Status: "Dev"},
		evs: []model.Event{
			{Source: model.SourceJira, ID: "1", ItemKey: "P-1", At: t0.Add(time.Hour), Kind: model.EventStatusChanged, From: "Design", To: "Dev"},
			{Source: model.SourceJira, ID: "2", ItemKey: "P-1", At: t0.Add(2 * time.Hour), Kind: model.EventCommented, Actor: "x"},
		}}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := &Syncer{Store: st, Logger: slog.New(slog.DiscardHandler), Snapshot: exposition.NewSnapshotCollector(), Health: exposition.NewHealth(),
		Now: func() time.Time { return t0.Add(48 * time.Hour) }}
	run := func(cfg *config.Config) [2]uint64 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx, cfg, []Target{tg}); close(done) }()
		var got [2]uint64
		select {
		case got = <-tg.seen:
		case <-time.After(10 * time.Second):
			t.Fatal("no sync")
		}
		cancel()
		<-done
		return got
	}
	if got := run(a); got != [2]uint64{1, 1} {
		t.Errorf("first run: generation %d, matters %d; want 1 and 1", got[0], got[1])
	}
	if got := run(b); got != [2]uint64{2, 0} {
		t.Errorf("after the reload: generation %d, matters %d; want 2 and 0", got[0], got[1])
	}
}
