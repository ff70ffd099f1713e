package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/crossteam/crossteam/model"
)

const recordsConfig = `
signals:
  - name: decision
    kind: decision
    github_labels: [decision]
    jira_jql: issuetype = Decision
    decided_labels: [decided]
    decided_statuses: [Accepted]
    keep_decided: 2d
    max_exported: 3
  - name: action
    kind: postmortem
    github_labels: [pm]
    jira_jql: labels = pm
`

const (
	BBA = model.EventBlockedByAdded
	BBR = model.EventBlockedByRemoved
)

func (b *evb) date(when, field, from, to string) *evb {
	b.add(when, "", model.EventDateSet, field)
	b.evs[len(b.evs)-1].From, b.evs[len(b.evs)-1].To = from, to
	return b
}

func labeled(it model.Item, labels ...string) model.Item { it.Labels = labels; return it }

// recordsDataset: base = Monday 2026-03-02 00:00 UTC; the comments give
// what each item is for, records_test works the figures out from them.
func recordsDataset() *model.Dataset {
	G, J := model.SourceGitHub, model.SourceJira
	jiraItem := func(key, author, status string, signals ...string) model.Item {
		it := item(J, key, author, "0s")
		it.Status, it.Signals = status, signals
		return it
	}
	d2 := labeled(item(G, "acme/api#2", "alice", "0s"), "decision", "team:backend")
	d2.Milestones = []string{"v1"}
	items := []model.Item{
		// D1: decided by label at 10h, revisit 2026-03-03 (end of day: 47h59m59s).
		labeled(item(G, "acme/api#1", "bob", "0s"), "decision", "team:backend", "decided", "revisit:2026-03-03"),
		// D2: design, then backend at 20h, closed at 60h; revisit = milestone v1 due 200h.
		d2,
		// D3: open, frontend, revisit label with an invalid date.
		labeled(item(G, "acme/api#3", "fred", "0s"), "decision", "team:frontend", "revisit:2026-13-01"),
		// D4: decided by label at 1h: older than keep_decided (2d) at 100h.
		labeled(item(G, "acme/api#4", "bob", "0s"), "decision", "team:backend", "decided"),
		// D5: decided 5h, undecided 8h: open again, its decide time observed.
		labeled(item(G, "acme/api#5", "quinn", "0s"), "decision", "team:qa"),
		// A1, A2, A4: qa actions; A1 due 2026-03-03, A2 closed at 24h, A4 due 2026-03-04.
		labeled(item(G, "acme/api#10", "quinn", "0s"), "pm", "team:qa", "due:2026-03-03"),
		labeled(item(G, "acme/api#11", "quinn", "0s"), "pm", "team:qa"),
		labeled(item(G, "acme/api#12", "quinn", "0s"), "pm", "team:qa", "due:2026-03-04"),
		// Blocking items.
		labeled(item(G, "acme/api#20", "bob", "0s"), "team:backend"),  // closed at 50h
		labeled(item(G, "acme/api#21", "bob", "0s"), "team:backend"),  // open
		labeled(item(G, "acme/api#22", "alice", "0s"), "team:design"), // same team as the blocked one
		labeled(item(G, "acme/api#23", "bob", "0s"), "team:backend"),  // closed at 1h, before the link
		// Blocked items.
		labeled(item(G, "acme/web#1", "alice", "0s"), "team:design"),  // by api#20 from 2h: resolved at 50h
		labeled(item(G, "acme/web#2", "alice", "0s"), "team:design"),  // by api#21 from 10h: open
		labeled(item(G, "acme/web#3", "alice", "0s"), "team:design"),  // by api#22: not cross-team
		labeled(item(G, "acme/web#4", "alice", "0s"), "team:design"),  // by api#21 30h..40h: resolved
		labeled(item(G, "acme/web#5", "alice", "0s"), "team:design"),  // by api#23 (closed): none
		labeled(item(G, "acme/web#6", "fred", "0s"), "team:frontend"), // by api#21 from 20h: open
		// J1: Jira decision, Design Review -> Accepted at 70h, due 2026-03-10.
		jiraItem("DEC-1", "alice", "Accepted", "decision"),
		jiraItem("DEV-1", "bob", "In Dev"),
		jiraItem("DEV-2", "quinn", "Testing"), // blocked by DEV-1 from 3h
		// A3: Jira action, backend, due 2026-03-20.
		jiraItem("PM-1", "bob", "In Dev", "action"),
	}
	ds := dataset(items,
		gh("acme/api#1").add("10h", "bob", L, "decided").add("10h", "bob", L, "revisit:2026-03-03"),
		gh("acme/api#2").add("0s", "alice", L, "team:design").add("20h", "alice", UL, "team:design").
			add("20h", "alice", L, "team:backend").add("60h", "bob", CL, ""),
		gh("acme/api#4").add("1h", "bob", L, "decided"),
		gh("acme/api#5").add("5h", "quinn", L, "decided").add("8h", "quinn", UL, "decided"),
		gh("acme/api#11").add("24h", "quinn", CL, ""),
		gh("acme/api#20").add("50h", "bob", CL, ""),
		gh("acme/api#23").add("1h", "bob", CL, ""),
		gh("acme/web#1").add("2h", "alice", BBA, "acme/api#20"),
		gh("acme/web#2").add("10h", "alice", BBA, "acme/api#21"),
		gh("acme/web#3").add("10h", "alice", BBA, "acme/api#22"),
		gh("acme/web#4").add("30h", "alice", BBA, "acme/api#21").add("40h", "alice", BBR, "acme/api#21"),
		gh("acme/web#5").add("5h", "alice", BBA, "acme/api#23"),
		gh("acme/web#6").add("20h", "fred", BBA, "acme/api#21"),
		jira("DEC-1").date("0s", "duedate", "", "2026-03-10").status("70h", "alice", "Design Review", "Accepted"),
		jira("DEV-2").add("3h", "quinn", BBA, "DEV-1"),
		jira("PM-1").date("0s", "duedate", "", "2026-03-20"),
	)
	ds.Milestones = []model.Milestone{{Source: G, Key: "acme/api/milestones/1", Title: "v1", Due: at("200h")}}
	return ds
}

func obs(ds ...string) Histogram {
	var h Histogram
	for _, d := range ds {
		h.Observe(at(d).Sub(base))
	}
	return h
}

func TestRecords(t *testing.T) {
	cfg := mustConfig(t, recordsConfig)
	G, J := model.SourceGitHub, model.SourceJira
	s := compute(t, cfg, recordsDataset(), at("100h"))
	r := s.Records

	wantDec := []DecisionCounts{
		// D1 revisit due (decided 10h, revisit 47h59m59s < 100h); D2
		// decided (revisit 200h); D4 decided. Decide times 10h, 60h, 1h.
		{RecordKey: RecordKey{"decision", G, "backend"}, Decided: 2, RevisitDue: 1, Decide: obs("10h", "60h", "1h")},
		{RecordKey: RecordKey{"decision", G, "frontend"}, Open: 1},              // D3
		{RecordKey: RecordKey{"decision", G, "qa"}, Open: 1, Decide: obs("5h")}, // D5
		// J1: the status Accepted maps to no team; it counts for design,
		// which had it when it was decided.
		{RecordKey: RecordKey{"decision", J, "design"}, Decided: 1, Decide: obs("70h")},
	}
	if !reflect.DeepEqual(r.Decisions, wantDec) {
		t.Errorf("decisions:\n got  %+v\n want %+v", r.Decisions, wantDec)
	}
	wantAct := []ActionCounts{
		{RecordKey: RecordKey{"action", G, "qa"}, Open: 2, Overdue: 2, Close: obs("24h")},
		{RecordKey: RecordKey{"action", J, "backend"}, Open: 1},
	}
	if !reflect.DeepEqual(r.Actions, wantAct) {
		t.Errorf("actions:\n got  %+v\n want %+v", r.Actions, wantAct)
	}

	// The list: revisit due first (D1), then the most recent: J1 decided
	// 70h, D2 decided 60h; D3 and D5 (open, opened 0h) are cut by
	// max_exported 3; D4 is older than keep_decided.
	day := func(s string) time.Time {
		d, _ := time.Parse("2006-01-02", s)
		return d.Add(24*time.Hour - time.Second)
	}
	wantList := []DecisionRecord{
		{Signal: "decision", Source: G, Key: "acme/api#1", URL: "https://example.test/acme/api#1", Title: "title of acme/api#1",
			Team: "backend", Teams: []string{"backend"}, State: DecisionRevisitDue, Opened: base, Decided: at("10h"), Revisit: day("2026-03-03")},
		{Signal: "decision", Source: J, Key: "DEC-1", URL: "https://example.test/DEC-1", Title: "title of DEC-1",
			Team: "design", Teams: []string{"design"}, State: DecisionDecided, Opened: base, Decided: at("70h"), Revisit: day("2026-03-10")},
		{Signal: "decision", Source: G, Key: "acme/api#2", URL: "https://example.test/acme/api#2", Title: "title of acme/api#2",
			Team: "backend", Teams: []string{"backend", "design"}, State: DecisionDecided, Opened: base, Decided: at("60h"), Revisit: at("200h")},
	}
	if !reflect.DeepEqual(r.DecisionList, wantList) || r.DecisionTotal != 5 {
		t.Errorf("decision list (total %d, want 5):\n got  %+v\n want %+v", r.DecisionTotal, r.DecisionList, wantList)
	}
	// A1 due 47h59m59s, A4 71h59m59s: overdue by 52h0m1s and 28h0m1s.
	wantOver := []ActionRecord{
		{Signal: "action", Source: G, Key: "acme/api#10", URL: "https://example.test/acme/api#10", Title: "title of acme/api#10",
			Team: "qa", Due: day("2026-03-03"), Overdue: 52*time.Hour + time.Second},
		{Signal: "action", Source: G, Key: "acme/api#12", URL: "https://example.test/acme/api#12", Title: "title of acme/api#12",
			Team: "qa", Due: day("2026-03-04"), Overdue: 28*time.Hour + time.Second},
	}
	if !reflect.DeepEqual(r.OverdueList, wantOver) || r.OverdueTotal != 2 {
		t.Errorf("overdue (total %d):\n got  %+v\n want %+v", r.OverdueTotal, r.OverdueList, wantOver)
	}
	if want := map[[2]string]int{{"decision", G}: 1}; !reflect.DeepEqual(r.InvalidDates, want) {
		t.Errorf("invalid dates = %v, want %v", r.InvalidDates, want)
	}

	// web#1 resolved at 50h (48h), web#4 removed at 40h (10h); web#2 open
	// since 10h, web#6 since 20h, DEV-2 since 3h; web#3 same team, web#5
	// blocked by a closed item: none.
	wantDeps := []DependencyStats{
		{DependencyKey: DependencyKey{G, "design", "backend"}, Open: 1, Oldest: 90 * time.Hour, Resolved: obs("48h", "10h")},
		{DependencyKey: DependencyKey{G, "frontend", "backend"}, Open: 1, Oldest: 80 * time.Hour},
		{DependencyKey: DependencyKey{J, "qa", "backend"}, Open: 1, Oldest: 97 * time.Hour},
	}
	if !reflect.DeepEqual(r.Dependencies, wantDeps) {
		t.Errorf("dependencies:\n got  %+v\n want %+v", r.Dependencies, wantDeps)
	}
	wantDL := []Dependency{
		{DependencyKey: DependencyKey{J, "qa", "backend"}, BlockedKey: "DEV-2", BlockingKey: "DEV-1", URL: "https://example.test/DEV-2", Title: "title of DEV-2", Since: at("3h"), Age: 97 * time.Hour},
		{DependencyKey: DependencyKey{G, "design", "backend"}, BlockedKey: "acme/web#2", BlockingKey: "acme/api#21", URL: "https://example.test/acme/web#2", Title: "title of acme/web#2", Since: at("10h"), Age: 90 * time.Hour},
		{DependencyKey: DependencyKey{G, "frontend", "backend"}, BlockedKey: "acme/web#6", BlockingKey: "acme/api#21", URL: "https://example.test/acme/web#6", Title: "title of acme/web#6", Since: at("20h"), Age: 80 * time.Hour},
	}
	if !reflect.DeepEqual(r.DependencyList, wantDL) || r.DependencyTotal != 3 {
		t.Errorf("dependency list (total %d):\n got  %+v\n want %+v", r.DependencyTotal, r.DependencyList, wantDL)
	}
}

// TestRecordsEarlier: the same history at 45h, before D1's revisit date,
// D2's close and api#20's close: what the exporter showed then.
func TestRecordsEarlier(t *testing.T) {
	cfg := mustConfig(t, recordsConfig)
	G := model.SourceGitHub
	r := compute(t, cfg, recordsDataset(), at("45h")).Records
	// D1 decided (revisit not reached), D4 decided, D2 open (backend
	// since 20h); J1 (Jira) open under design.
	got := map[RecordKey][3]int{}
	for _, d := range r.Decisions {
		got[d.RecordKey] = [3]int{d.Open, d.Decided, d.RevisitDue}
	}
	want := map[RecordKey][3]int{
		{"decision", G, "backend"}:     {1, 2, 0},
		{"decision", G, "frontend"}:    {1, 0, 0},
		{"decision", G, "qa"}:          {1, 0, 0},
		{"decision", "jira", "design"}: {1, 0, 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decision counts at 45h = %v, want %v", got, want)
	}
	// A1 overdue since 47h59m59s: not yet. A2 closed at 24h.
	if a := r.Actions[0]; a.Open != 2 || a.Overdue != 0 || a.Close.Count != 1 {
		t.Errorf("qa actions at 45h = %+v, want 2 open, 0 overdue, 1 closed", a)
	}
	// design->backend: web#1 (since 2h) and web#2 (since 10h) open; web#4
	// resolved at 40h after 10h.
	if d := r.Dependencies[0]; d.DependencyKey != (DependencyKey{G, "design", "backend"}) || d.Open != 2 || d.Oldest != 43*time.Hour || !reflect.DeepEqual(d.Resolved, obs("10h")) {
		t.Errorf("design->backend at 45h = %+v, want 2 open, oldest 43h, resolved [10h]", d)
	}
}

// TestRecordHelpers pins the small rules the figures rest on.
func TestRecordHelpers(t *testing.T) {
	tl := []ownerAt{{0, 1}, {10, 2}, {20, -1}}
	for _, tt := range []struct {
		t    int64
		want int
	}{{0, 1}, {5, 1}, {10, 1}, {11, 2}, {20, 2}, {21, -1}} {
		if got := ownerBefore(tl, tt.t); got != tt.want {
			t.Errorf("ownerBefore(%d) = %d, want %d", tt.t, got, tt.want)
		}
	}
	n := &depNode{Closed: []span64{{10, 20}, {30, 0}}}
	for _, tt := range []struct{ t, want int64 }{{5, 10}, {10, 10}, {15, 15}, {20, 30}, {25, 30}, {40, 40}} {
		if got := firstCloseFrom(n, tt.t); got != tt.want {
			t.Errorf("firstCloseFrom(%d) = %d, want %d", tt.t, got, tt.want)
		}
	}
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{{"2026-03-02", base.Unix() + 86399, true}, {"2026-02-30", 0, false}, {"03/02/2026", 0, false}, {"", 0, false}} {
		if got, ok := parseDay(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("parseDay(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestRecordsMergeShards: with every dependency inside one shard (here:
// one shard per source), the merged record figures equal one instance's.
func TestRecordsMergeShards(t *testing.T) {
	cfg := mustConfig(t, recordsConfig)
	ds := recordsDataset()
	var shards []*Snapshot
	for _, src := range []string{model.SourceGitHub, model.SourceJira} {
		part := &model.Dataset{Milestones: ds.Milestones}
		for _, it := range ds.Items {
			if it.Source == src {
				part.Items = append(part.Items, it)
			}
		}
		for _, ev := range ds.Events {
			if ev.Source == src {
				part.Events = append(part.Events, ev)
			}
		}
		shards = append(shards, New(cfg, nil, Options{Sharded: true}).Compute(part, at("100h")))
	}
	want := compute(t, cfg, ds, at("100h")).Records
	if got := MergeShards(cfg, shards...).Records; !reflect.DeepEqual(got, want) {
		t.Errorf("merged records:\n got  %+v\n want %+v", got, want)
	}
}
