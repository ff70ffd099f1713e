package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
)

// base is Monday 2026-03-02 00:00 UTC.
var base = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func at(d string) time.Time {
	dd, err := time.ParseDuration(d)
	if err != nil {
		panic(err)
	}
	return base.Add(dd)
}

const testTeams = `
teams:
  design:
    members: [alice]
    github_teams: [acme/design]
    markers:
      github_labels: ["team:design"]
      jira_statuses: [{name: "Design Review", waiting: false}]
  backend:
    members: [bob, bill]
    github_teams: [acme/backend]
    markers:
      github_labels: ["team:backend"]
      jira_statuses: [{name: "Ready for Dev", waiting: true}, {name: "In Dev"}]
      jira_components: [API]
  qa:
    members: [quinn]
    markers:
      github_labels: ["team:qa"]
      jira_statuses: [{name: "Ready for QA", waiting: true}, {name: "Testing"}]
      jira_team_values: [QA]
  frontend:
    members: [fred]
    markers:
      github_labels: ["team:frontend"]
`

func mustConfig(t testing.TB, extra string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(testTeams + extra))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}

// evb builds events for one item with sequential ids.
type evb struct {
	source, key string
	n           int
	evs         []model.Event
}

func gh(key string) *evb   { return &evb{source: model.SourceGitHub, key: key} }
func jira(key string) *evb { return &evb{source: model.SourceJira, key: key} }

func (b *evb) add(when, actor string, kind model.EventKind, value string) *evb {
	b.n++
	b.evs = append(b.evs, model.Event{Source: b.source, ID: fmt.Sprintf("%s-%d", b.key, b.n), ItemKey: b.key,
		At: at(when), Actor: actor, Kind: kind, Value: value})
	return b
}

func (b *evb) status(when, actor, from, to string) *evb {
	b.add(when, actor, model.EventStatusChanged, "")
	b.evs[len(b.evs)-1].From, b.evs[len(b.evs)-1].To = from, to
	return b
}

func (b *evb) field(when, actor, from, to string) *evb {
	b.add(when, actor, model.EventTeamFieldChanged, "")
	b.evs[len(b.evs)-1].From, b.evs[len(b.evs)-1].To = from, to
	return b
}

func (b *evb) teamReview(when, actor, team string) *evb {
	b.add(when, actor, model.EventReviewRequested, "")
	b.evs[len(b.evs)-1].Team = team
	return b
}

func item(source, key, author, created string) model.Item {
	return model.Item{Source: source, Key: key, Author: author, Created: at(created),
		URL: "https://example.test/" + key, Title: "title of " + key}
}

// dataset sorts nothing: builders emit events in time order per item, and
// items are added in key order, as the store returns them.
func dataset(items []model.Item, bs ...*evb) *model.Dataset {
	ds := &model.Dataset{Items: items}
	for _, b := range bs {
		ds.Events = append(ds.Events, b.evs...)
	}
	return ds
}

func off(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return short(t.Sub(base))
}

func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// fmtHandoff renders a handoff compactly for table comparisons:
// "owner design->backend start=1h pickup=3h done=10h/closed".
func fmtHandoff(h Handoff) string {
	s := fmt.Sprintf("%s %s %s->%s start=%s pickup=%s done=%s", h.ItemKey, h.Kind, h.From, h.To, off(h.Start), off(h.Pickup), off(h.Done))
	if h.DoneReason != "" {
		s += "/" + h.DoneReason
	}
	if h.Bounce {
		s += " bounce"
	}
	if h.Stalled {
		s += fmt.Sprintf(" stalled idle=%s working=%s", short(h.Idle), short(h.IdleWorking))
	}
	return s
}

func compute(t testing.TB, cfg *config.Config, ds *model.Dataset, asOf time.Time) *Snapshot {
	t.Helper()
	return New(cfg, ds.Members, Options{KeepHandoffs: true}).Compute(ds, asOf)
}

func pairOf(s *Snapshot, source, from, to string) *PairStats {
	for i := range s.Pairs {
		p := &s.Pairs[i]
		if p.Source == source && p.From == from && p.To == to {
			return p
		}
	}
	return nil
}
