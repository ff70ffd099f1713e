package bench

import (
	"reflect"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/sim"
)

// sizeDigests are the sim.World.Digest of the sizes that have no deep
// history, recorded before sim.Params.HistoryDepth existed (commit
// 0a26ea9): the knob at its default changes no byte of their worlds
// (items, events with their ids, milestones, members, handoffs).
var sizeDigests = map[string]string{
	"small":  "20d4b39312d955531a9a5f1dfda29087c7df31c7362219b6ad0cd891e0d5510b",
	"medium": "1e7d433e0054edfd3fb8e473d2534161f6c2c45a417cdabf785214808db4d0ab",
	"large":  "5e909321076f71140ba1c8821384c015aa025d54f5ef04fb8d53bf4e42c65b86",
}

func TestSizesWithoutDeepHistoryUnchanged(t *testing.T) {
	for _, size := range []string{"small", "medium", "large"} {
		t.Run(size, func(t *testing.T) {
			if size == "large" && testing.Short() {
				t.Skip("large takes about 25 s and 2.5 GiB to generate")
			}
			p, err := SizeParams(size)
			if err != nil {
				t.Fatal(err)
			}
			if p.HistoryDepth != 0 {
				t.Fatalf("HistoryDepth %g, want the default 0", p.HistoryDepth)
			}
			w, err := sim.Generate(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := w.Digest(); got != sizeDigests[size] {
				t.Errorf("digest %s, want %s (the world before HistoryDepth)", got, sizeDigests[size])
			}
		})
	}
}

// TestXLargeSizes: xlarge is large with a deep history only, xlarge-items
// the former xlarge (2.5 times the items over 30 months).
func TestXLargeSizes(t *testing.T) {
	large, _ := SizeParams("large")
	x, err := SizeParams("xlarge")
	if err != nil {
		t.Fatal(err)
	}
	if x.HistoryDepth != XLargeHistoryDepth || x.HistoryDepth == 0 {
		t.Errorf("xlarge HistoryDepth %g, want %d", x.HistoryDepth, XLargeHistoryDepth)
	}
	x.HistoryDepth = 0
	if d, l := x, large; d.Seed != l.Seed || d.Months != l.Months || d.ItemsPerRepo != l.ItemsPerRepo ||
		d.JiraIssuesPerProject != l.JiraIssuesPerProject || d.Repos != l.Repos || d.JiraProjects != l.JiraProjects ||
		d.Noise != l.Noise || d.StalledNow != l.StalledNow || d.JiraStalledNow != l.JiraStalledNow || len(d.Teams) != len(l.Teams) {
		t.Errorf("xlarge without its history depth %+v, want large %+v", x, large)
	}
	xi, err := SizeParams("xlarge-items")
	if err != nil {
		t.Fatal(err)
	}
	if xi.Months != 30 || xi.ItemsPerRepo != 12500 || xi.JiraIssuesPerProject != 25000 || xi.HistoryDepth != 0 {
		t.Errorf("xlarge-items %+v: want large over 30 months with 12,500 items per repository and 25,000 issues per project", xi)
	}
}

// BenchmarkGenerate generates one size's world as the harness does and
// reports its items and collected events (what the full sync stores),
// GitHub's issue events and Jira's changelog histories as the fakes serve them;
// pick one size with -bench 'Generate/^xlarge$'. Each size's world is held
// whole in memory: xlarge takes several GiB.
func BenchmarkGenerate(b *testing.B) {
	for _, size := range Sizes {
		b.Run(size, func(b *testing.B) {
			p, err := SizeParams(size)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				began := time.Now()
				w, err := sim.Generate(p)
				if err != nil {
					b.Fatal(err)
				}
				c := w.Counts()
				b.ReportMetric(float64(c.Items), "items")
				b.ReportMetric(float64(c.Events), "events")
				b.ReportMetric(float64(c.EventsBySource["github"]), "github_events")
				b.ReportMetric(float64(c.EventsBySource["jira"]), "jira_events")
				b.ReportMetric(float64(c.Handoffs), "handoffs")
				n := 0
				for _, r := range w.Repos {
					n += len(w.Org.Events(r))
				}
				b.ReportMetric(float64(n), "issue_events")
				h := 0
				for _, is := range w.JiraSite().Issues() {
					h += len(w.JiraSite().Histories(is.Key))
				}
				b.ReportMetric(float64(h), "jira_histories")
				b.ReportMetric(time.Since(began).Seconds(), "s/generate")
			}
		})
	}
}

// TestDeepHistorySameFigures: medium with xlarge's history depth has the
// same engine snapshot as medium but for the events counted, which grow
// by the extra events (sim's TestHistoryDepthChangesNoFigure proves the
// same event by event at the small size).
func TestDeepHistorySameFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("two medium worlds: about 15 s and 2 GiB")
	}
	p, err := SizeParams("medium")
	if err != nil {
		t.Fatal(err)
	}
	w0, err := sim.Generate(p)
	if err != nil {
		t.Fatal(err)
	}
	p.HistoryDepth = XLargeHistoryDepth
	wd, err := sim.Generate(p)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(wd.Config(sim.ConfigOptions{GitHubURL: "http://127.0.0.1:1/", TokenFile: "/dev/null",
		JiraURL: "http://127.0.0.1:2", JiraTokenFile: "/dev/null", StorePath: "/nonexistent/db"})))
	if err != nil {
		t.Fatal(err)
	}
	ds0, dsd := w0.Dataset(), wd.Dataset()
	s0 := engine.New(cfg, ds0.Members, engine.Options{KeepHandoffs: true}).Compute(ds0, w0.Now)
	sd := engine.New(cfg, dsd.Members, engine.Options{KeepHandoffs: true}).Compute(dsd, wd.Now)
	for _, src := range []string{"github", "jira"} {
		c0, cd := w0.Counts().EventsBySource[src], wd.Counts().EventsBySource[src]
		if s0.Events[src] != c0 || sd.Events[src] != cd || cd <= c0 {
			t.Errorf("%s events: engine %d and %d, generated %d and %d: want the engine's equal and more with the deep history",
				src, s0.Events[src], sd.Events[src], c0, cd)
		}
	}
	t.Logf("events %v -> %v, %d handoffs, %d stalled", s0.Events, sd.Events, len(sd.Handoffs), sd.StalledTotal)
	s0.Events, sd.Events = nil, nil
	if !reflect.DeepEqual(s0, sd) {
		t.Errorf("snapshots differ beyond the events counted: handoffs %d vs %d, stalled %d vs %d, pairs %d vs %d",
			len(s0.Handoffs), len(sd.Handoffs), s0.StalledTotal, sd.StalledTotal, len(s0.Pairs), len(sd.Pairs))
	}
}
