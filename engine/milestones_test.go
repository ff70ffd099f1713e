package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/crossteam/crossteam/model"
)

func milestoneDataset() *model.Dataset {
	I := model.SourceGitHub
	withMS := func(it model.Item, ms ...string) model.Item { it.Milestones = ms; return it }
	items := []model.Item{
		item(I, "acme/api#1", "bob", "0s"),                      // v1, backend only, closed at 5h
		item(I, "acme/api#2", "bob", "0s"),                      // v1, backend only, open
		item(I, "acme/web#1", "alice", "0s"),                    // v2 by event; design -> backend, closed by bob at 10h
		withMS(item(I, "acme/web#2", "quinn", "0s"), "v2"),      // v2 from the record; qa, open
		item(I, "acme/web#3", "fred", "0s"),                     // milestoned then demilestoned: not in v2
		withMS(item(I, "acme/web#4", "alice", "0s"), "v3"),      // v3: design and qa, closed at 45h
		withMS(item(I, "acme/web#5", "stranger", "0s"), "solo"), // no team touched it
	}
	ds := dataset(items,
		gh("acme/api#1").add("0s", "bob", model.EventMilestoned, "v1").add("5h", "bob", CL, ""),
		gh("acme/api#2").add("0s", "bob", model.EventMilestoned, "v1"),
		gh("acme/web#1").add("0s", "alice", L, "team:design").add("0s", "alice", model.EventMilestoned, "v2").
			add("1h", "alice", L, "team:backend").add("10h", "bob", CL, ""),
		gh("acme/web#2").add("1h", "quinn", L, "team:qa"),
		gh("acme/web#3").add("1h", "fred", model.EventMilestoned, "v2").add("2h", "fred", model.EventDemilestoned, "v2"),
		gh("acme/web#4").add("1h", "alice", CM, "").add("2h", "quinn", CM, "").add("45h", "quinn", CL, ""),
	)
	ds.Milestones = []model.Milestone{
		{Source: I, Key: "acme/api/milestones/1", Title: "v1", Due: at("100h")},
		{Source: I, Key: "acme/web/milestones/1", Title: "v2", Due: at("20h"), Closed: at("30h"), URL: "https://example.test/acme/web/milestone/1"},
		{Source: I, Key: "acme/api/milestones/4", Title: "v2", Due: at("25h"), Closed: at("28h")},
		{Source: I, Key: "acme/web/milestones/2", Title: "v3", Due: at("100h"), Closed: at("50h")},
	}
	return ds
}

func TestJointMilestones(t *testing.T) {
	cfg := mustConfig(t, "")
	ds := milestoneDataset()
	I := model.SourceGitHub

	// At 29h: v2 has three contributing teams (design, backend from item 1;
	// qa from item 2) and is still open (one record open); v1 has one team
	// (not joint); v3 two teams, open.
	s := compute(t, cfg, ds, at("29h"))
	want := []MilestoneStats{
		{Source: I, Title: "v2", URL: "https://example.test/acme/web/milestone/1", Due: at("20h"), Open: 1, Closed: 1,
			TeamOpen: map[string]int{"backend": 0, "design": 0, "qa": 1}, TeamClosed: map[string]int{"backend": 1, "design": 1, "qa": 0},
			Teams: []string{"backend", "design", "qa"}},
		{Source: I, Title: "v3", Due: at("100h"), Open: 1,
			TeamOpen: map[string]int{"design": 1, "qa": 1}, TeamClosed: map[string]int{"design": 0, "qa": 0},
			Teams: []string{"design", "qa"}},
	}
	if !reflect.DeepEqual(s.Milestones, want) {
		t.Errorf("milestones at 29h:\n got  %+v\n want %+v", s.Milestones, want)
	}
	if len(s.MilestonesCompleted) != 0 {
		t.Errorf("completed at 29h = %v, want none", s.MilestonesCompleted)
	}

	// At 60h: v2 completed at 30h, due 20h (the earliest due): late. v3
	// completed at 50h, due 100h: on time. Completed ones are listed after
	// open ones, most recent first.
	s = compute(t, cfg, ds, at("60h"))
	wantDone := map[CompletedKey]uint64{{I, "false"}: 1, {I, "true"}: 1}
	if !reflect.DeepEqual(s.MilestonesCompleted, wantDone) {
		t.Errorf("completed = %v, want %v", s.MilestonesCompleted, wantDone)
	}
	if len(s.Milestones) != 2 || s.Milestones[0].Title != "v3" || !s.Milestones[0].Completed.Equal(at("50h")) ||
		s.Milestones[1].Title != "v2" || !s.Milestones[1].Completed.Equal(at("30h")) {
		t.Errorf("milestones at 60h = %+v", s.Milestones)
	}

	// min_teams 3: v3 is no longer joint; its completion is not counted.
	cfg3 := mustConfig(t, "milestones:\n  min_teams: 3\n")
	s = compute(t, cfg3, ds, at("60h"))
	if !reflect.DeepEqual(s.MilestonesCompleted, map[CompletedKey]uint64{{I, "false"}: 1}) || len(s.Milestones) != 1 {
		t.Errorf("min_teams 3: completed %v milestones %+v", s.MilestonesCompleted, s.Milestones)
	}
	// keep_completed 1d drops v2 (completed 30h before 60h... 30h > 24h) but not v3 (10h).
	cfgK := mustConfig(t, "milestones:\n  keep_completed: 1d\n")
	s = compute(t, cfgK, ds, at("60h"))
	if len(s.Milestones) != 1 || s.Milestones[0].Title != "v3" || len(s.MilestonesCompleted) != 2 {
		t.Errorf("keep_completed: %+v %v", s.Milestones, s.MilestonesCompleted)
	}
	// max_exported 1 keeps the first in order.
	cfgM := mustConfig(t, "milestones:\n  max_exported: 1\n")
	s = compute(t, cfgM, ds, at("29h"))
	if len(s.Milestones) != 1 || s.Milestones[0].Title != "v2" {
		t.Errorf("max_exported: %+v", s.Milestones)
	}
	// github_by_title off: v2 splits per repository; acme/web v2 has design,
	// backend and qa, acme/api has no items in v2.
	cfgR := mustConfig(t, "milestones:\n  github_by_title: false\n")
	s = compute(t, cfgR, ds, at("29h"))
	if len(s.Milestones) != 2 || s.Milestones[0].Title != "acme/web v2" || !s.Milestones[0].Due.Equal(at("20h")) {
		t.Errorf("per repository: %+v", s.Milestones)
	}
}

func TestItemCycleAndSignals(t *testing.T) {
	cfg := mustConfig(t, "signals:\n  - name: decision\n    github_labels: [decision]\n  - name: postmortem_action\n    jira_jql: 'labels = pm'\n")
	ds := milestoneDataset()
	I := model.SourceGitHub
	sigItem := item(I, "acme/web#9", "quinn", "10h")
	sigItem.Labels = []string{"Decision", "team:qa"}
	pmItem := item(model.SourceJira, "OPS-1", "stranger", "20h")
	pmItem.Signals = []string{"postmortem_action"}
	ds.Items = append(ds.Items, sigItem, pmItem)

	s := compute(t, cfg, ds, at("60h"))
	// Closed items: api#1 (backend, 5h), web#1 (design+backend, 10h), web#4 (design+qa, 45h).
	want := map[ItemCycleKey]*Histogram{
		{I, "1"}: hist(5 * time.Hour),
		{I, "2"}: hist(10*time.Hour, 45*time.Hour),
	}
	if !reflect.DeepEqual(s.ItemCycle, want) {
		t.Errorf("item cycle = %v, want %v", s.ItemCycle, want)
	}
	wantSig := []SignalStats{
		{Signal: "decision", Team: "qa", Open: 1, Oldest: 50 * time.Hour},
		{Signal: "postmortem_action", Team: "none", Open: 1, Oldest: 40 * time.Hour},
	}
	if !reflect.DeepEqual(s.Signals, wantSig) {
		t.Errorf("signals = %+v, want %+v", s.Signals, wantSig)
	}
	if s.Items[I] != 8 || s.Items[model.SourceJira] != 1 {
		t.Errorf("items = %v", s.Items)
	}
}

func hist(ds ...time.Duration) *Histogram {
	h := &Histogram{}
	for _, d := range ds {
		h.Observe(d)
	}
	return h
}

// TestUnmappedStatus counts open Jira items in statuses no team owns.
func TestUnmappedStatus(t *testing.T) {
	cfg := mustConfig(t, "")
	ds := dataset([]model.Item{{Source: model.SourceJira, Key: "WEB-1", Created: at("0s"), Status: "Limbo"}},
		jira("WEB-1").status("1h", "alice", "Ready for Dev", "Limbo"))
	s := compute(t, cfg, ds, at("2h"))
	if !reflect.DeepEqual(s.UnmappedStatuses, map[string]int{"Limbo": 1}) {
		t.Errorf("unmapped = %v", s.UnmappedStatuses)
	}
}

// TestAsOfIsPure: computing at an earlier instant equals computing on the
// history cut at that instant, and computing twice gives the same result.
func TestAsOfIsPure(t *testing.T) {
	cfg := mustConfig(t, "")
	ds := milestoneDataset()
	cut := at("29h")
	var kept []model.Event
	for _, e := range ds.Events {
		if !e.At.After(cut) {
			kept = append(kept, e)
		}
	}
	truncated := *ds
	truncated.Events = kept
	// The milestone records as they were at 29h.
	truncated.Milestones = append([]model.Milestone(nil), ds.Milestones...)
	for i := range truncated.Milestones {
		if truncated.Milestones[i].Closed.After(cut) {
			truncated.Milestones[i].Closed = time.Time{}
		}
	}
	a := compute(t, cfg, ds, cut)
	b := compute(t, cfg, &truncated, cut)
	c := compute(t, cfg, ds, cut)
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(a, c) {
		t.Errorf("snapshot at 29h differs between full and truncated history:\n%+v\n%+v", a, b)
	}
}
