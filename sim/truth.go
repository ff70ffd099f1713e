package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/crossteam/crossteam/model"
)

// Handoff is a handoff the generator created, as the engine must derive it
// from the collected history (engine.Handoff has the same meaning).
type Handoff struct {
	Source, ItemKey, Kind string // Kind: "owner" or "review"
	From, To              string
	Start                 time.Time
	Pickup                time.Time // zero: not picked up by asOf
	Done                  time.Time // zero: open at asOf
	DoneReason            string    // owner_left, closed, approved, withdrawn
	Bounce                bool
	LastActivity          time.Time // last activity by To after Start (zero: none)
	// Stalled: open, and idle longer than the pair's stall threshold in
	// To's working time. At World.Now exactly the handoffs designed to be
	// stalled (Params.StalledNow) are; see StalledByDesign.
	Stalled bool
	// StalledByDesign marks the handoffs planned to be stalled at Now.
	StalledByDesign bool
	// Idle is asOf minus the later of Start and LastActivity, for open
	// handoffs; IdleWorking the same in To's working hours.
	Idle, IdleWorking time.Duration
}

// Handoffs returns the ground-truth handoffs as of asOf (at most the
// clock), ordered like engine snapshots: by source, item key and start.
func (w *World) Handoffs(asOf time.Time) []Handoff {
	w.mu.Lock()
	defer w.mu.Unlock()
	g := w.g
	t := asOf.Unix()
	var out []Handoff
	for _, it := range g.items {
		if it.created > t {
			continue
		}
		for _, h := range it.handoffs {
			if h.start > t {
				continue
			}
			x := Handoff{Source: it.source, ItemKey: it.key, Kind: h.kind, From: g.teams[h.from].Name, To: g.teams[h.to].Name,
				Start: unix(h.start), Bounce: h.bounce, StalledByDesign: h.stalledAt}
			done := int64(0)
			if h.done != 0 && h.done <= t {
				done = h.done
				x.Done, x.DoneReason = unix(done), h.reason
			}
			var pickup, last int64
			for _, a := range it.acts {
				if int(a.team) != h.to || a.at <= h.start || a.at > t || (done != 0 && a.at > done) {
					continue
				}
				if pickup == 0 {
					pickup = a.at
				}
				last = a.at
			}
			if pickup != 0 {
				x.Pickup, x.LastActivity = unix(pickup), unix(last)
			}
			if done == 0 {
				since := unix(max(h.start, last))
				x.Idle = asOf.Sub(since)
				x.IdleWorking = g.teams[h.to].cal.between(since, asOf)
				x.Stalled = x.IdleWorking > g.stallAfter(h.from, h.to)
			}
			out = append(out, x)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.ItemKey != b.ItemKey {
			return a.ItemKey < b.ItemKey
		}
		return a.Start.Before(b.Start)
	})
	return out
}

// stallAfter is the threshold the generated configuration sets for a pair
// (see Config).
func (g *gen) stallAfter(from, to int) time.Duration {
	if from == 0 && to == 1 {
		return 4 * day
	}
	return 72 * hour
}

// Dataset returns what the collectors must store for the history applied
// so far, built from the generator's own records (not from the API):
// items with their current state, every collected event (creations,
// label/assignee/review-request/milestone/close events, comments, and the
// reviews of pull requests that had a review requested; noise events are
// left out as the collector leaves them out), milestones and GitHub team
// memberships. Events are ordered by (Source, ItemKey, At, apply order).
func (w *World) Dataset() *model.Dataset {
	w.mu.Lock()
	defer w.mu.Unlock()
	g := w.g
	ds := &model.Dataset{}
	for _, it := range g.items {
		x := model.Item{Source: it.source, Key: it.key, Target: GitHubTarget, Kind: it.kind, URL: w.itemURL(it),
			Title: it.title, Author: it.author, Created: unix(it.created), Updated: unix(it.updated)}
		if it.closed != 0 {
			x.Closed = unix(it.closed)
		}
		if it.milestone != "" {
			x.Milestones = []string{it.milestone}
		}
		if it.source == model.SourceJira {
			x.Target, x.Status = JiraTarget, it.status
			x.Milestones = append([]string(nil), it.versions...)
			if len(x.Milestones) == 0 {
				x.Milestones = nil
			}
			for _, l := range it.labels {
				switch l {
				case "decision":
					x.Signals = append(x.Signals, "decision")
				case "postmortem-action":
					x.Signals = append(x.Signals, "postmortem_action")
				case DecisionLabel:
					x.Signals = append(x.Signals, DecisionSignal)
				case PostmortemLabel:
					x.Signals = append(x.Signals, PostmortemSignal)
				}
			}
		}
		x.Labels = append([]string(nil), it.labels...)
		x.Assignees = append([]string(nil), it.assignees...)
		if len(x.Labels) == 0 {
			x.Labels = nil
		}
		if len(x.Assignees) == 0 {
			x.Assignees = nil
		}
		ds.Items = append(ds.Items, x)
	}
	sort.Slice(ds.Items, func(i, j int) bool {
		if ds.Items[i].Source != ds.Items[j].Source {
			return ds.Items[i].Source < ds.Items[j].Source
		}
		return ds.Items[i].Key < ds.Items[j].Key
	})
	idx := make([]int, len(g.events))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		x, y := &g.events[idx[a]], &g.events[idx[b]]
		if x.Source != y.Source {
			return x.Source < y.Source
		}
		if x.ItemKey != y.ItemKey {
			return x.ItemKey < y.ItemKey
		}
		if !x.At.Equal(y.At) {
			return x.At.Before(y.At)
		}
		return g.evSeq[idx[a]] < g.evSeq[idx[b]]
	})
	ds.Events = make([]model.Event, len(idx))
	for i, k := range idx {
		ds.Events[i] = g.events[k]
	}
	for _, rp := range g.repos {
		for _, m := range g.ms {
			n := rp.ms[m.title]
			x := model.Milestone{Source: model.SourceGitHub, Key: fmt.Sprintf("%s/milestones/%d", rp.full, n), Title: m.title,
				URL: fmt.Sprintf("%s/%s/milestone/%d", HTMLURL, rp.full, n), Due: m.due}
			if m.closed {
				x.Closed = m.closeAt.UTC().Truncate(time.Second)
			}
			ds.Milestones = append(ds.Milestones, x)
		}
	}
	if j := g.jira; j != nil {
		// The collector learns a version from the issues that carry it.
		used := map[*jiraProject]map[string]bool{}
		for _, it := range g.items {
			if it.source != model.SourceJira {
				continue
			}
			if used[it.project] == nil {
				used[it.project] = map[string]bool{}
			}
			for _, v := range it.versions {
				used[it.project][v] = true
			}
		}
		for _, jp := range j.projects {
			for _, jv := range j.versions {
				if !used[jp][jv.name] {
					continue
				}
				v := jp.versions[jv.name]
				y, m, d := v.ReleaseDate.Date()
				due := time.Date(y, m, d, 23, 59, 59, 0, time.UTC)
				x := model.Milestone{Source: model.SourceJira, Key: model.JiraVersionPrefix + v.ID, Title: v.Name,
					URL: w.jiraURL() + "/projects/" + jp.key + "/versions/" + v.ID, Due: due}
				if v.Released {
					x.Closed = due
				}
				ds.Milestones = append(ds.Milestones, x)
			}
		}
	}
	sort.Slice(ds.Milestones, func(i, j int) bool {
		if ds.Milestones[i].Source != ds.Milestones[j].Source {
			return ds.Milestones[i].Source < ds.Milestones[j].Source
		}
		return ds.Milestones[i].Key < ds.Milestones[j].Key
	})
	for _, t := range g.teams {
		logins := []string{t.Contractor}
		for _, m := range t.Members {
			logins = append(logins, m.Login)
		}
		for _, l := range logins {
			ds.Members = append(ds.Members, model.TeamMember{Team: t.Name, Source: model.SourceGitHub, Identity: l, Via: t.GitHubTeam})
		}
	}
	sort.Slice(ds.Members, func(i, j int) bool {
		a, b := ds.Members[i], ds.Members[j]
		if a.Team != b.Team {
			return a.Team < b.Team
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Identity != b.Identity {
			return a.Identity < b.Identity
		}
		return a.Via < b.Via
	})
	ds.Identities = g.jiraIdentities(ds)
	return ds
}

// jiraIdentities are the identity facts the Jira collector must store: the
// email of every member whose user object a payload carried (an issue's
// reporter or current assignee, the author of a history or a comment).
// Outsiders have no email on the site.
func (g *gen) jiraIdentities(ds *model.Dataset) []model.Identity {
	seen := map[string]bool{}
	for i := range ds.Items {
		if it := &ds.Items[i]; it.Source == model.SourceJira {
			seen[it.Author] = true
			for _, a := range it.Assignees {
				seen[a] = true
			}
		}
	}
	for i := range ds.Events {
		if e := &ds.Events[i]; e.Source == model.SourceJira {
			seen[e.Actor] = true
		}
	}
	var out []model.Identity
	for _, t := range g.teams {
		for _, m := range t.Members {
			if seen[m.AccountID] && m.Email != "" {
				out = append(out, model.Identity{Source: model.SourceJira, Account: m.AccountID, Kind: model.IdentityEmail, Value: m.Email})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Account < out[j].Account })
	return out
}

// SetJiraURL sets the site URL the fake Jira is served at (as written in
// the configuration), which the ground truth's Jira URLs are built from.
func (w *World) SetJiraURL(u string) {
	w.mu.Lock()
	w.jiraBase = strings.TrimRight(u, "/")
	w.mu.Unlock()
}

func (w *World) jiraURL() string {
	if w.jiraBase == "" {
		return "https://sim.atlassian.net"
	}
	return w.jiraBase
}

func (w *World) itemURL(it *itemPlan) string {
	if it.source == model.SourceJira {
		return w.jiraURL() + "/browse/" + it.key
	}
	kind := "issues"
	if it.kind == model.KindPullRequest {
		kind = "pull"
	}
	return fmt.Sprintf("%s/%s/%s/%d", HTMLURL, it.repo.full, kind, it.number)
}

// Counts are the sizes of the applied history.
type Counts struct {
	Items, Events, Handoffs, StalledNow int
	// ItemsBySource and EventsBySource split Items and Events.
	ItemsBySource, EventsBySource map[string]int
}

// Counts returns the number of items and collected events applied so far
// and the handoffs started by the clock.
func (w *World) Counts() Counts {
	w.mu.Lock()
	g := w.g
	c := Counts{Items: len(g.items), Events: len(g.events), ItemsBySource: map[string]int{}, EventsBySource: map[string]int{}}
	for i := range g.events {
		c.EventsBySource[g.events[i].Source]++
	}
	now := w.Clock.Now().Unix()
	for _, it := range g.items {
		c.ItemsBySource[it.source]++
		for _, h := range it.handoffs {
			if h.start <= now {
				c.Handoffs++
				if h.stalledAt && (h.done == 0 || h.done > now) {
					c.StalledNow++
				}
			}
		}
	}
	w.mu.Unlock()
	return c
}

// Digest is a hash of the applied history (the ground-truth dataset and
// handoffs): equal for equal worlds.
func (w *World) Digest() string {
	h := sha256.New()
	ds := w.Dataset()
	for _, it := range ds.Items {
		fmt.Fprintf(h, "I|%s|%s|%s|%s|%s|%d|%d|%d|%s|%s|%s\n", it.Key, it.Kind, it.Title, it.Author, it.URL,
			it.Created.Unix(), it.Closed.Unix(), it.Updated.Unix(), strings.Join(it.Labels, ","), strings.Join(it.Assignees, ","), strings.Join(it.Milestones, ","))
	}
	for _, e := range ds.Events {
		fmt.Fprintf(h, "E|%s|%s|%s|%d|%s|%s|%s|%s|%s|%s\n", e.Source, e.ID, e.ItemKey, e.At.Unix(), e.Actor, e.Kind, e.Value, e.Team, e.From, e.To)
	}
	for _, m := range ds.Milestones {
		fmt.Fprintf(h, "M|%s|%s|%d|%d\n", m.Key, m.Title, m.Due.Unix(), m.Closed.Unix())
	}
	for _, m := range ds.Members {
		fmt.Fprintf(h, "T|%s|%s|%s\n", m.Team, m.Identity, m.Via)
	}
	for _, x := range w.Handoffs(w.Clock.Now()) {
		fmt.Fprintf(h, "H|%s|%s|%s|%s|%d|%d|%d|%s|%v|%v\n", x.ItemKey, x.Kind, x.From, x.To, x.Start.Unix(), x.Pickup.Unix(), x.Done.Unix(), x.DoneReason, x.Bounce, x.Stalled)
	}
	return hex.EncodeToString(h.Sum(nil))
}
