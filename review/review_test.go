package review

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/model"
)

// The test organisation works in Berlin (UTC+1 in February and March
// 2026), so week W10 runs from 2026-03-01T23:00Z to 2026-03-08T23:00Z and
// a handoff at 2026-03-01T23:30Z belongs to W10, not W09.
const testConfig = `
teams:
  design:
    members: [alice]
    markers: {github_labels: ["team:design"]}
  backend:
    members: [bob]
    markers: {github_labels: ["team:backend"]}
  qa:
    members: [quinn]
    markers: {github_labels: ["team:qa"]}
calendar:
  timezone: Europe/Berlin
  working_days: [mon, tue, wed, thu, fri]
  working_hours: {start: "09:00", end: "17:00"}
handoffs:
  stall_clock: calendar
signals:
  - name: decision
    github_labels: [decision]
`

func ts(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

type builder struct {
	ds *model.Dataset
	n  int
}

func (b *builder) item(key, author, created string, milestones ...string) {
	b.ds.Items = append(b.ds.Items, model.Item{Source: model.SourceGitHub, Key: key, Author: author, Created: ts(created),
		URL: "https://example.test/" + key, Title: "title of " + key, Milestones: milestones})
}

func (b *builder) ev(key, at, actor string, kind model.EventKind, value string) {
	b.n++
	b.ds.Events = append(b.ds.Events, model.Event{Source: model.SourceGitHub, ID: fmt.Sprint(b.n), ItemKey: key,
		At: ts(at), Actor: actor, Kind: kind, Value: value})
}

// handoff: an item labelled by the sender at start-2h, handed to the
// receiver at start, picked up (a comment by picker) at pickup and closed
// an hour later; pickup "" leaves it waiting.
func (b *builder) handoff(key, from, sender, to, start, pickup, picker string, milestones ...string) {
	s := ts(start)
	b.item(key, sender, s.Add(-2*time.Hour).Format("2006-01-02T15:04"), milestones...)
	b.ev(key, s.Add(-2*time.Hour).Format("2006-01-02T15:04"), sender, model.EventLabeled, "team:"+from)
	b.ev(key, start, sender, model.EventLabeled, "team:"+to)
	if pickup != "" {
		b.ev(key, pickup, picker, model.EventCommented, "")
		b.ev(key, ts(pickup).Add(time.Hour).Format("2006-01-02T15:04"), picker, model.EventClosed, "")
	}
}

func testData(t *testing.T) (*config.Config, *model.Dataset) {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	b := &builder{ds: &model.Dataset{}}
	// design -> backend: two in the previous weeks (10h in W08, 24h in
	// W09), four in W10 (2h, 30m, 30m at the Berlin week start, one never
	// picked up: stalled).
	b.handoff("acme/app#1", "design", "alice", "backend", "2026-02-17T12:00", "2026-02-17T22:00", "bob")
	b.handoff("acme/app#2", "design", "alice", "backend", "2026-02-24T12:00", "2026-02-25T12:00", "bob")
	b.handoff("acme/app#3", "design", "alice", "backend", "2026-03-03T10:00", "2026-03-03T12:00", "bob", "v1")
	b.handoff("acme/app#4", "design", "alice", "backend", "2026-03-04T10:00", "2026-03-04T10:30", "bob")
	b.handoff("acme/app#5", "design", "alice", "backend", "2026-03-05T10:00", "", "", "v2")
	b.handoff("acme/app#6", "design", "alice", "backend", "2026-03-01T23:30", "2026-03-02T00:00", "bob")
	// backend -> qa: 1h in W09, 24h in W10 (slower: no win).
	b.handoff("acme/app#7", "backend", "bob", "qa", "2026-02-25T10:00", "2026-02-25T11:00", "quinn")
	b.handoff("acme/app#8", "backend", "bob", "qa", "2026-03-03T10:00", "2026-03-04T10:00", "quinn", "v1")
	// Decisions: one open since W08, one taken in W10.
	b.item("acme/app#9", "alice", "2026-02-20T10:00")
	b.ev("acme/app#9", "2026-02-20T10:00", "alice", model.EventLabeled, "team:design")
	b.ev("acme/app#9", "2026-02-20T10:00", "alice", model.EventLabeled, "decision")
	b.item("acme/app#a", "alice", "2026-03-04T10:00")
	b.ev("acme/app#a", "2026-03-04T10:00", "alice", model.EventLabeled, "team:design")
	b.ev("acme/app#a", "2026-03-04T10:00", "alice", model.EventLabeled, "decision")
	// A decision open since W08 and closed in W10: resolved this week.
	b.item("acme/app#b", "alice", "2026-02-21T10:00")
	b.ev("acme/app#b", "2026-02-21T10:00", "alice", model.EventLabeled, "team:design")
	b.ev("acme/app#b", "2026-02-21T10:00", "alice", model.EventLabeled, "decision")
	b.ev("acme/app#b", "2026-03-05T12:00", "alice", model.EventClosed, "")
	b.ds.Milestones = []model.Milestone{
		// v1 completed on time in W10; v2 due two days after the week: at risk.
		{Source: model.SourceGitHub, Key: "acme/app/milestones/1", Title: "v1", Due: ts("2026-03-07T00:00"), Closed: ts("2026-03-06T12:00"), URL: "https://example.test/m/1"},
		{Source: model.SourceGitHub, Key: "acme/app/milestones/2", Title: "v2", Due: ts("2026-03-10T12:00")},
	}
	return cfg, b.ds
}

func TestWeeks(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, tc := range []struct {
		in       string
		start    string // UTC
		err      string
		lastAt   string
		last     string
		inBerlin bool
	}{
		{in: "2026-W10", start: "2026-03-01T23:00", inBerlin: true},
		{in: "2026-W10", start: "2026-03-02T00:00"},
		{in: "2026-W01", start: "2025-12-29T00:00"}, // week 1 starts in the previous year
		{in: "2026-W53", start: "2026-12-28T00:00"}, // 2026 starts on a Thursday: 53 weeks
		{in: "2026-W54", err: `week "2026-W54": 2026 has weeks 01 to 53`},
		{in: "2027-W53", err: `week "2027-W53": 2027 has weeks 01 to 52`},
		{in: "2026-W00", err: `week "2026-W00": 2026 has weeks 01 to 53`},
		{in: "2026-48", err: `week "2026-48": want an ISO week like 2026-W48`},
		{in: "last", err: `week "last": want an ISO week like 2026-W48`},
	} {
		w, err := ParseWeek(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: error %v, want %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		loc := time.UTC
		if tc.inBerlin {
			loc = berlin
		}
		if got := w.Start(loc).UTC().Format("2006-01-02T15:04"); got != tc.start || w.String() != tc.in {
			t.Errorf("%s in %s: start %s (%s), want %s", tc.in, loc, got, w, tc.start)
		}
	}
	for _, tc := range []struct {
		now  string
		loc  *time.Location
		want string
	}{
		{"2026-03-09T12:00", berlin, "2026-W10"},
		{"2026-03-08T23:30", berlin, "2026-W10"}, // Monday 00:30 in Berlin
		{"2026-03-08T23:30", time.UTC, "2026-W09"},
		{"2026-01-05T08:00", time.UTC, "2026-W01"},
		{"2026-01-04T08:00", time.UTC, "2025-W52"},
	} {
		if got := LastComplete(ts(tc.now), tc.loc).String(); got != tc.want {
			t.Errorf("last complete week at %s in %s: %s, want %s", tc.now, tc.loc, got, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	cfg, ds := testData(t)
	now := ts("2026-03-09T12:00")
	for _, tc := range []struct{ week, err string }{
		{"2026-W10", ""},
		{"2026-W08", ""}, // holds the first stored item
		{"2026-W11", "week 2026-W11 is not complete yet (it ends 2026-03-16T00:00:00+01:00); the last complete week is 2026-W10"},
		{"2026-W07", "week 2026-W07 is before the stored history, whose first week is 2026-W08 (first stored event 2026-02-17T11:00:00+01:00)"},
	} {
		w, _ := ParseWeek(tc.week)
		err := Check(cfg, ds, w, now)
		if got := fmt.Sprint(err); (tc.err == "" && err != nil) || (tc.err != "" && got != tc.err) {
			t.Errorf("%s: %v, want %q", tc.week, err, tc.err)
		}
		if _, err := Compute(cfg, ds, Options{Week: w, Now: now}); (err == nil) != (tc.err == "") {
			t.Errorf("%s: Compute error %v", tc.week, err)
		}
	}
	if err := Check(cfg, &model.Dataset{}, Week{2026, 10}, now); err == nil || !strings.Contains(err.Error(), "no items or events") {
		t.Errorf("empty store: %v", err)
	}
}

func q(s float64) Quantile { return Quantile{Seconds: s, OK: true} }

func TestHistogramQuantile(t *testing.T) {
	h := func(ds ...time.Duration) engine.Histogram {
		var x engine.Histogram
		for _, d := range ds {
			x.Observe(d)
		}
		return x
	}
	for _, tc := range []struct {
		name string
		h    engine.Histogram
		q    float64
		want Quantile
	}{
		{"empty", h(), 0.5, Quantile{}},
		{"one in (4h,12h]", h(10 * time.Hour), 0.5, q(28800)},
		// rank 1.5 of 3 in (15m,1h] holding 2: 900 + 2700*1.5/2.
		{"median of three", h(30*time.Minute, 30*time.Minute, 2*time.Hour), 0.5, q(2925)},
		// rank 2.7: (1h,4h] holding 1, 0.7 in: 3600 + 10800*0.7.
		{"p90 of three", h(30*time.Minute, 30*time.Minute, 2*time.Hour), 0.9, q(11160)},
		{"first bucket from 0", h(10 * time.Minute), 0.5, q(450)},
		{"+Inf answers the highest bound", h(40 * 24 * time.Hour), 0.5, Quantile{Seconds: 30 * 86400, OK: true, Inf: true}},
	} {
		got := HistogramQuantile(tc.q, tc.h)
		if got.OK != tc.want.OK || got.Inf != tc.want.Inf || abs(got.Seconds-tc.want.Seconds) > 1e-6 {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// round drops float noise below a millisecond.
func round(q Quantile) Quantile {
	q.Seconds = math.Round(q.Seconds*1000) / 1000
	return q
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestReview(t *testing.T) {
	cfg, ds := testData(t)
	r, err := Compute(cfg, ds, Options{Week: Week{2026, 10}, Now: ts("2026-03-09T12:00")})
	if err != nil {
		t.Fatal(err)
	}
	// Handoffs: hand-computed from the buckets (see TestHistogramQuantile).
	type row struct {
		from, to                string
		started, picked         uint64
		med, p90                Quantile
		prevStarted, prevPicked uint64
		prevMed, prevP90        Quantile
		weekly                  []string
	}
	want := []row{
		// this week 30m, 30m, 2h; before 10h (4h..12h: 14400+28800*1), 24h (12h..1d: 43200+43200*0.8).
		{"backend", "qa", 1, 1, q(64800), q(43200 + 43200*0.9), 1, 1, q(2250), q(900 + 2700*0.9),
			[]string{"W06 0/0 -", "W07 0/0 -", "W08 0/0 -", "W09 1/1 38m", "W10 1/1 18h0m"}},
		{"design", "backend", 4, 3, q(2925), q(11160), 2, 2, q(43200), q(77760),
			[]string{"W06 0/0 -", "W07 0/0 -", "W08 1/1 8h0m", "W09 1/1 18h0m", "W10 4/3 49m"}},
	}
	if len(r.Pairs) != len(want) {
		t.Fatalf("pairs %+v", r.Pairs)
	}
	for i, w := range want {
		p := r.Pairs[i]
		var weekly []string
		for _, wp := range p.Weekly {
			weekly = append(weekly, fmt.Sprintf("W%02d %d/%d %s", wp.Week.Num, wp.Started, wp.PickedUp, QuantileLabel(wp.Median)))
		}
		got := row{p.From, p.To, p.Started, p.PickedUp, round(p.Median), round(p.P90), p.PrevStarted, p.PrevPickedUp, round(p.PrevMedian), round(p.PrevP90), weekly}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("pair %d:\n got %v\nwant %v", i, got, w)
		}
	}
	// Small wins: v1 with every team and its items, then the faster pair.
	var wins []string
	for _, w := range r.Wins {
		wins = append(wins, w.Kind+" "+w.Title+": "+w.Detail+"; "+teamsText(w))
	}
	wantWins := []string{
		"milestone v1: completed Fri 6 Mar (github), on time; 2 items; backend (2 items), design (1 items), qa (1 items)",
		"faster_pair design → backend (github): median pickup 49m, down from 12h0m over the previous 4 weeks (3 picked up this week); design, backend",
		// The default agreement (90% within 48 calendar hours): the week's
		// three pickups were all within it.
		"agreement_kept design → backend (github): agreement kept: 3 of 3 handoffs picked up within 48h0m0s (calendar time), 90% agreed; design, backend",
	}
	if strings.Join(wins, "\n") != strings.Join(wantWins, "\n") {
		t.Errorf("wins:\n%s\nwant\n%s", strings.Join(wins, "\n"), strings.Join(wantWins, "\n"))
	}
	// Stalled at the week's end: #5, idle 2026-03-05T10:00 to 2026-03-08T23:00.
	if r.StalledTotal != 1 || r.Stalled[0].Key != "acme/app#5" || r.Stalled[0].Idle != 85*time.Hour {
		t.Errorf("stalled %d %+v", r.StalledTotal, r.Stalled)
	}
	// At risk: v2 due 37h after the week's end, 0 of 1 closed, expected 1-37/672.
	if len(r.AtRisk) != 1 || r.AtRisk[0].Title != "v2" || r.AtRisk[0].Progress != 0 || abs(r.AtRisk[0].Expected-(1-37.0/672)) > 1e-9 {
		t.Errorf("at risk %+v", r.AtRisk)
	}
	// Decisions: #9 and #b open at the start, #9 and #a at the end (#a
	// opened, #b resolved), the oldest since 2026-02-20T10:00.
	if len(r.Signals) != 1 {
		t.Fatalf("signals %+v", r.Signals)
	}
	sg := r.Signals[0]
	keys := func(items []SignalItem) (out []string) {
		for _, it := range items {
			out = append(out, it.Key+" "+it.Team)
		}
		return out
	}
	if got := fmt.Sprint(sg.Signal, sg.OpenStart, sg.OpenEnd, sg.Oldest, sg.OldestTeam, sg.TeamsAtEnd, keys(sg.Opened), keys(sg.Resolved)); got !=
		fmt.Sprint("decision", 2, 2, ts("2026-03-08T23:00").Sub(ts("2026-02-20T10:00")), "design", []TeamShare{{"design", 2}},
			[]string{"acme/app#a design"}, []string{"acme/app#b design"}) {
		t.Errorf("signal: %s", got)
	}
	// Changes: items and events stored by the week's end and its start.
	c := r.Changes
	if len(c.Sources) != 1 || c.Sources[0].ItemsEnd != 11 || c.Sources[0].ItemsStart != 6 ||
		c.Sources[0].Newest != ts("2026-03-05T12:00") || c.ConfigFingerprint == "" || c.HealthKnown {
		t.Errorf("changes %+v", c)
	}
}

func TestRender(t *testing.T) {
	cfg, ds := testData(t)
	r, err := Compute(cfg, ds, Options{Week: Week{2026, 10}, Now: ts("2026-03-09T12:00"),
		Sources: []SourceHealth{{Source: "github", Target: "acme", Up: false, LastSuccess: ts("2026-03-08T10:00")}}})
	if err != nil {
		t.Fatal(err)
	}
	var md, page bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.HTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, doc := range []struct {
		name, text, heading string
	}{{"markdown", md.String(), "\n## %s\n"}, {"html", page.String(), ">%s</h2>"}} {
		last := -1
		for _, h := range Headings {
			i := strings.Index(doc.text, fmt.Sprintf(doc.heading, h))
			if i < 0 || i < last {
				t.Errorf("%s: heading %q missing or out of order", doc.name, h)
			}
			last = i
		}
	}
	for _, want := range []string{
		"| github | design | backend | 4 | 3 | 49m | 3h6m | 12h0m / 21h36m | faster |",
		"- [acme/app#5](https://example.test/acme/app#5) title of acme/app#5: design → backend (owner), idle 3d13h",
		"- **[v1](https://example.test/m/1)**: completed Fri 6 Mar (github), on time; 2 items. Thanks to backend (2 items), design (1 items), qa (1 items).",
		"| decision | 2 | 2 | +0 | 16d13h (design) |",
		"decision opened this week (1):\n- [acme/app#a](https://example.test/acme/app#a) title of acme/app#a (design)\n",
		"decision closed or resolved this week (1):\n- [acme/app#b](https://example.test/acme/app#b) title of acme/app#b (design)\n",
		"- Source github/acme is failing; last successful sync 2026-03-08T10:00:00Z.",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	html := page.String()
	if n := strings.Count(html, "<svg"); n != len(r.Pairs) {
		t.Errorf("html has %d charts, want %d", n, len(r.Pairs))
	}
	for _, bad := range []string{"<script", "<link", "@import", "@font-face", "src=", "url(", "<?xml", "<!DOCTYPE svg"} {
		if strings.Contains(html, bad) {
			t.Errorf("html contains %q: not self-contained", bad)
		}
	}
}

func TestFasterPairWins(t *testing.T) {
	for _, tc := range []struct {
		name           string
		picked, prev   uint64
		median, before Quantile
		win            bool
	}{
		{"faster", 3, 2, q(600), q(3600), true},
		{"one pickup this week is luck", 1, 5, q(600), q(3600), false},
		{"one pickup before is no baseline", 4, 1, q(600), q(3600), false},
		{"slower", 3, 3, q(7200), q(3600), false},
		{"as fast", 3, 3, q(3600), q(3600), false},
		{"in +Inf", 3, 3, Quantile{Seconds: 30 * 86400, OK: true, Inf: true}, Quantile{Seconds: 30 * 86400, OK: true, Inf: true}, false},
		{"no pickups before", 3, 0, q(600), Quantile{}, false},
	} {
		w := &Window{Pairs: []PairWeek{{PairKey: engine.PairKey{Source: "github", From: "a", To: "b"},
			PickedUp: tc.picked, PrevPickedUp: tc.prev, Median: tc.median, PrevMedian: tc.before}}}
		if got := len(fasterPairWins(w)) == 1; got != tc.win {
			t.Errorf("%s: win %v, want %v", tc.name, got, tc.win)
		}
	}
}

func TestConfigText(t *testing.T) {
	end := ts("2026-03-08T23:00")
	for _, tc := range []struct {
		loaded time.Time
		want   string
	}{
		{time.Time{}, ""},
		{ts("2026-02-01T10:00"), "Configuration loaded 2026-02-01T10:00:00Z, before this week: the week's figures were derived with it throughout."},
		{ts("2026-03-05T10:00"), "Configuration loaded 2026-03-05T10:00:00Z: during or after this week, so every figure here, earlier weeks included, was re-derived with it."},
		{ts("2026-03-10T10:00"), "Configuration loaded 2026-03-10T10:00:00Z: during or after this week, so every figure here, earlier weeks included, was re-derived with it."},
	} {
		if got := configText(Changes{ConfigLoaded: tc.loaded, Start: ts("2026-03-01T23:00"), End: end}); got != tc.want {
			t.Errorf("loaded %s: %q, want %q", tc.loaded, got, tc.want)
		}
	}
}

func TestPairChart(t *testing.T) {
	week := func(n int, med Quantile) WeekPoint { return WeekPoint{Week: Week{2026, n}, Median: med} }
	for _, tc := range []struct {
		name   string
		weekly []WeekPoint
		trend  bool
	}{
		{"two medians: a trend", []WeekPoint{week(9, q(3600)), week(10, q(1800))}, true},
		{"one median: no trend", []WeekPoint{week(9, Quantile{}), week(10, q(1800))}, false},
		{"no median", []WeekPoint{week(9, Quantile{}), week(10, Quantile{})}, false},
	} {
		svg, err := pairChart(PairWeek{PairKey: engine.PairKey{Source: "github", From: "a", To: "b"}, Weekly: tc.weekly})
		if err != nil {
			t.Fatal(err)
		}
		s := string(svg)
		if !strings.HasPrefix(s, "<svg") || !strings.Contains(s, "W09") || !strings.Contains(s, "a → b (github)") {
			t.Errorf("%s: not an inline SVG chart of the weeks: %.200s", tc.name, s)
		}
		if got := strings.Contains(s, "stroke-dasharray"); got != tc.trend {
			t.Errorf("%s: dashed trend line %v, want %v", tc.name, got, tc.trend)
		}
	}
}

func TestLinkMD(t *testing.T) {
	for _, tc := range []struct{ title, url, want string }{
		{"v1", "", "v1"},
		{"v1", "https://example.test/m/1", "[v1](https://example.test/m/1)"},
		{"fix [login] | *now* _x_", "https://e.test/1", `[fix \[login\] \| \*now\* \_x\_](https://e.test/1)`},
	} {
		if got := linkMD(tc.title, tc.url); got != tc.want {
			t.Errorf("linkMD(%q, %q) = %q, want %q", tc.title, tc.url, got, tc.want)
		}
	}
}
