package engine

import (
	"sort"
	"strings"
	"time"

	"github.com/crossteam/crossteam/model"
)

// Joint milestones, item cycle time and signals: the per-item figures that
// are folded in after an item's replay.

// MergedSource is the source label of milestones merged across GitHub and
// Jira (milestones.merge_sources).
const MergedSource = "all"

type msKey struct{ source, title string }

type msAgg struct {
	open, closed         int
	teamOpen, teamClosed []int // per team index
	url                  string
}

// msGroup returns the group of a milestone title seen on an item or a
// milestone record: GitHub milestones group by title across repositories
// unless milestones.github_by_title is off (then per repository: repo is
// repoOf the item's or record's key).
//
// Jira values are fix version names or epic references (model.JiraEpicPrefix
// + key, shown under the epic's summary when its record is stored); ok is
// false for the kinds milestones.jira_fix_versions / jira_epics leave out.
func (s *State) msGroup(source, repo, title string) (k msKey, ok bool) {
	cfg := &s.e.cfg.Milestones
	if source == model.SourceJira {
		if strings.HasPrefix(title, model.JiraEpicPrefix) {
			if !cfg.JiraEpics {
				return msKey{}, false
			}
			if t, found := s.epicTitles[title]; found {
				title = t
			}
		} else if !cfg.JiraFixVersions {
			return msKey{}, false
		}
	}
	if source == model.SourceGitHub && !cfg.GitHubByTitle {
		title = repo + " " + title
	}
	if cfg.MergeSources {
		source = MergedSource
	}
	return msKey{source, title}, true
}

// repoOf is the repository part of a GitHub item or milestone key (before
// '#' or "/milestones/").
func repoOf(key string) string {
	if i := strings.Index(key, "#"); i >= 0 {
		return key[:i]
	} else if i := strings.Index(key, "/milestones/"); i >= 0 {
		return key[:i]
	}
	return key
}

// finishItem derives the replayed item's item cycle time, milestone and
// signal membership and unmapped status.
func (r *replay) finishItem(d *derived, created time.Time) {
	c, it := r.c, r.it
	d.closed = r.closed
	if r.closed && len(r.touched) > 0 {
		d.cycleTeams = teamsBucket(len(r.touched))
		d.cycle = r.closedAt.Sub(created)
	}
	if len(r.milestones) > 0 {
		repo := ""
		if it.Source == model.SourceGitHub && !c.e.cfg.Milestones.GitHubByTitle {
			repo = repoOf(it.Key)
		}
		for _, title := range r.milestones {
			// A copy: an event's value is a substring of the store's
			// packed row of the item's events, which it would keep alive
			// for the state's life (measured: 40 MiB of packed rows held
			// by milestone titles at the large size).
			d.ms = append(d.ms, rawMs{source: it.Source, repo: repo, title: strings.Clone(title)})
		}
		d.touched = make([]int16, len(r.touched))
		for i, t := range r.touched {
			d.touched[i] = int16(t)
		}
	}
	if len(d.open) > 0 {
		d.url, d.title = it.URL, it.Title
	}
	if r.closed {
		return
	}
	d.owner = r.curOwner
	var matched []int
	for _, l := range r.sigLabels {
		matched = append(matched, c.e.sigLabels[l]...)
	}
	for _, name := range it.Signals {
		if i, ok := c.e.sigNames[name]; ok {
			matched = append(matched, i)
		}
	}
	sort.Ints(matched)
	for i, s := range matched {
		if i == 0 || matched[i-1] != s {
			d.sigs = append(d.sigs, int16(s))
		}
	}
	if it.Source == model.SourceJira && r.status != "" {
		if t, _ := r.statusTeam(r.status); t < 0 {
			d.unmapped = r.status
		}
	}
	if len(d.sigs) > 0 && c.e.opts.KeepSignalItems {
		d.url, d.title = it.URL, it.Title
	}
}

// finishMilestones forms joint milestones: groups with at least min_teams
// contributing teams. A group is completed when it has milestone records and
// all of them were closed by asOf; it is on time when completed at or before
// its due date (the earliest due date in the group).
func (s *State) finishMilestones(snap *Snapshot, asOf time.Time) {
	nTeams := len(s.e.teams)
	groups := map[msKey]*msAgg{}
	for raw, a := range s.ms {
		k, ok := s.msGroup(raw.source, raw.repo, raw.title)
		if !ok {
			continue
		}
		g := groups[k]
		if g == nil {
			g = &msAgg{teamOpen: make([]int, nTeams), teamClosed: make([]int, nTeams)}
			groups[k] = g
		}
		g.open += a.open
		g.closed += a.closed
		for t := range a.teamOpen {
			g.teamOpen[t] += a.teamOpen[t]
			g.teamClosed[t] += a.teamClosed[t]
		}
	}
	type recAgg struct {
		due, closed time.Time
		allClosed   bool
		n           int
		url         string
	}
	recs := map[msKey]*recAgg{}
	for i := range s.records {
		m := &s.records[i]
		title := m.Title
		if m.Source == model.SourceJira && strings.HasPrefix(m.Key, model.JiraEpicPrefix) {
			title = m.Key // resolved to the summary by msGroup, like item values
		}
		k, ok := s.msGroup(m.Source, repoOf(m.Key), title)
		if !ok {
			continue
		}
		ra := recs[k]
		if ra == nil {
			ra = &recAgg{allClosed: true, url: m.URL}
			recs[k] = ra
		}
		ra.n++
		if !m.Due.IsZero() && (ra.due.IsZero() || m.Due.Before(ra.due)) {
			ra.due = m.Due
		}
		if m.Closed.IsZero() || m.Closed.After(asOf) {
			ra.allClosed = false
		} else if m.Closed.After(ra.closed) {
			ra.closed = m.Closed
		}
	}
	cfg := s.e.cfg.Milestones
	sharded := s.e.opts.Sharded
	if sharded {
		// Groups known only from their records still decide completion
		// across shards: export them with no items.
		for k := range recs {
			if groups[k] == nil {
				groups[k] = &msAgg{teamOpen: make([]int, nTeams), teamClosed: make([]int, nTeams)}
			}
		}
	}
	var out []MilestoneStats
	for k, a := range groups {
		var teams []string
		ms := MilestoneStats{Source: k.source, Title: k.title, Open: a.open, Closed: a.closed,
			TeamOpen: map[string]int{}, TeamClosed: map[string]int{}}
		for t, name := range s.e.teams {
			if a.teamOpen[t]+a.teamClosed[t] > 0 {
				teams = append(teams, name)
				ms.TeamOpen[name] = a.teamOpen[t]
				ms.TeamClosed[name] = a.teamClosed[t]
			}
		}
		if len(teams) < cfg.MinTeams && !sharded {
			continue
		}
		ms.Teams = teams
		if ra := recs[k]; ra != nil {
			ms.Due, ms.URL = ra.due, ra.url
			if ra.allClosed {
				ms.Completed = ra.closed
			}
		}
		if !ms.Completed.IsZero() {
			onTime := "none"
			if !ms.Due.IsZero() {
				onTime = "false"
				if !ms.Completed.After(ms.Due) {
					onTime = "true"
				}
			}
			if len(teams) >= cfg.MinTeams {
				snap.MilestonesCompleted[CompletedKey{Source: k.source, OnTime: onTime}]++
			}
			if asOf.Sub(ms.Completed) > time.Duration(cfg.KeepCompleted) && !sharded {
				continue
			}
		}
		out = append(out, ms)
	}
	sortMilestones(out)
	if len(out) > cfg.MaxExported {
		out = out[:cfg.MaxExported]
	}
	snap.Milestones = out
}

// sortMilestones puts open milestones first, by due date (none last), then
// completed ones, most recent first; ties by source and title.
func sortMilestones(out []MilestoneStats) {
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		ac, bc := !a.Completed.IsZero(), !b.Completed.IsZero()
		if ac != bc {
			return !ac
		}
		if ac && !a.Completed.Equal(b.Completed) {
			return a.Completed.After(b.Completed)
		}
		if !ac && !a.Due.Equal(b.Due) {
			if a.Due.IsZero() || b.Due.IsZero() {
				return b.Due.IsZero()
			}
			return a.Due.Before(b.Due)
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Title < b.Title
	})
}
