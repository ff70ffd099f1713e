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
// unless milestones.github_by_title is off (then per repository: the part of
// the key before '#' or "/milestones/").
//
// Jira values are fix version names or epic references (model.JiraEpicPrefix
// + key, shown under the epic's summary when its record is stored); ok is
// false for the kinds milestones.jira_fix_versions / jira_epics leave out.
func (c *computation) msGroup(source, key, title string) (k msKey, ok bool) {
	if source == model.SourceJira {
		if strings.HasPrefix(title, model.JiraEpicPrefix) {
			if !c.e.cfg.Milestones.JiraEpics {
				return msKey{}, false
			}
			if t, found := c.epicTitles[title]; found {
				title = t
			}
		} else if !c.e.cfg.Milestones.JiraFixVersions {
			return msKey{}, false
		}
	}
	if source == model.SourceGitHub && !c.e.cfg.Milestones.GitHubByTitle {
		repo := key
		if i := strings.Index(repo, "#"); i >= 0 {
			repo = repo[:i]
		} else if i := strings.Index(repo, "/milestones/"); i >= 0 {
			repo = repo[:i]
		}
		title = repo + " " + title
	}
	if c.e.cfg.Milestones.MergeSources {
		source = MergedSource
	}
	return msKey{source, title}, true
}

// finishItem folds the replayed item into item cycle time, milestones,
// signals and the unmapped-status count.
func (r *replay) finishItem(created time.Time) {
	c, it := r.c, r.it
	if r.closed && len(r.touched) > 0 {
		k := ItemCycleKey{Source: it.Source, Teams: teamsBucket(len(r.touched))}
		h := c.snap.ItemCycle[k]
		if h == nil {
			h = &Histogram{}
			c.snap.ItemCycle[k] = h
		}
		h.Observe(r.closedAt.Sub(created))
	}
	nTeams := len(c.e.teams)
	for _, title := range r.milestones {
		k, ok := c.msGroup(it.Source, it.Key, title)
		if !ok {
			continue
		}
		a := c.ms[k]
		if a == nil {
			a = &msAgg{teamOpen: make([]int, nTeams), teamClosed: make([]int, nTeams)}
			c.ms[k] = a
		}
		if r.closed {
			a.closed++
		} else {
			a.open++
		}
		for _, t := range r.touched {
			if r.closed {
				a.teamClosed[t]++
			} else {
				a.teamOpen[t]++
			}
		}
	}
	if !r.closed {
		owner := "none"
		if r.curOwner >= 0 {
			owner = c.e.teams[r.curOwner]
		}
		age := c.asOf.Sub(created)
		add := func(sig string) {
			k := [2]string{sig, owner}
			s := c.signals[k]
			if s == nil {
				s = &SignalStats{Signal: sig, Team: owner}
				c.signals[k] = s
			}
			s.Open++
			if age > s.Oldest {
				s.Oldest = age
			}
			if c.e.opts.KeepSignalItems {
				s.Items = append(s.Items, SignalItem{Source: it.Source, Key: it.Key, URL: it.URL, Title: it.Title, Created: created})
			}
		}
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
				add(c.e.cfg.Signals[s].Name)
			}
		}
		if it.Source == model.SourceJira && r.status != "" {
			if t, _ := r.statusTeam(r.status); t < 0 {
				c.snap.UnmappedStatuses[r.status]++
			}
		}
	}
}

// finishMilestones forms joint milestones: groups with at least min_teams
// contributing teams. A group is completed when it has milestone records and
// all of them were closed by asOf; it is on time when completed at or before
// its due date (the earliest due date in the group).
func (c *computation) finishMilestones(records []model.Milestone) {
	type recAgg struct {
		due, closed time.Time
		allClosed   bool
		n           int
		url         string
	}
	recs := map[msKey]*recAgg{}
	for i := range records {
		m := &records[i]
		title := m.Title
		if m.Source == model.SourceJira && strings.HasPrefix(m.Key, model.JiraEpicPrefix) {
			title = m.Key // resolved to the summary by msGroup, like item values
		}
		k, ok := c.msGroup(m.Source, m.Key, title)
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
		if m.Closed.IsZero() || m.Closed.After(c.asOf) {
			ra.allClosed = false
		} else if m.Closed.After(ra.closed) {
			ra.closed = m.Closed
		}
	}
	cfg := c.e.cfg.Milestones
	sharded := c.e.opts.Sharded
	if sharded {
		// Groups known only from their records still decide completion
		// across shards: export them with no items.
		for k := range recs {
			if c.ms[k] == nil {
				c.ms[k] = &msAgg{teamOpen: make([]int, len(c.e.teams)), teamClosed: make([]int, len(c.e.teams))}
			}
		}
	}
	var out []MilestoneStats
	for k, a := range c.ms {
		var teams []string
		ms := MilestoneStats{Source: k.source, Title: k.title, Open: a.open, Closed: a.closed,
			TeamOpen: map[string]int{}, TeamClosed: map[string]int{}}
		for t, name := range c.e.teams {
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
				c.snap.MilestonesCompleted[CompletedKey{Source: k.source, OnTime: onTime}]++
			}
			if c.asOf.Sub(ms.Completed) > time.Duration(cfg.KeepCompleted) && !sharded {
				continue
			}
		}
		out = append(out, ms)
	}
	sortMilestones(out)
	if len(out) > cfg.MaxExported {
		out = out[:cfg.MaxExported]
	}
	c.snap.Milestones = out
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
