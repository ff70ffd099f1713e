package sim_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/fakeapi"
	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/sim"
)

// deep is Small with a deep history: 12 extra events per item on average.
func deep() sim.Params {
	p := sim.Small()
	p.HistoryDepth = 12
	return p
}

// eventKey is an event without its id: the fakes number ids in apply
// order, which the extra events shift.
type eventKey struct {
	source, item, actor, value, team, from, to string
	kind                                       model.EventKind
	at                                         int64
}

func keyOf(e model.Event) eventKey {
	return eventKey{e.Source, e.ItemKey, e.Actor, e.Value, e.Team, e.From, e.To, e.Kind, e.At.Unix()}
}

// TestHistoryDepthChangesNoFigure: the same seed with and without a deep
// history has the same items and the same events plus the extra ones, all
// by accounts in no team (comments, and the stale label on GitHub); the
// engine derives the same snapshot from both but for the events counted,
// and /metrics serves the same exposition.
func TestHistoryDepthChangesNoFigure(t *testing.T) {
	w0, wd := generate(t, sim.Small()), generate(t, deep())
	ds0, dsd := w0.Dataset(), wd.Dataset()
	if len(ds0.Items) != len(dsd.Items) {
		t.Fatalf("items: %d without the deep history, %d with it", len(ds0.Items), len(dsd.Items))
	}
	inTeam := map[string]bool{}
	for _, tm := range wd.Teams {
		inTeam[strings.ToLower(tm.Contractor)] = true
		for _, m := range tm.Members {
			inTeam[strings.ToLower(m.Login)], inTeam[m.AccountID] = true, true
		}
	}
	left := map[eventKey]int{}
	for _, e := range dsd.Events {
		left[keyOf(e)]++
	}
	for _, e := range ds0.Events {
		k := keyOf(e)
		if left[k] == 0 {
			t.Fatalf("event %+v of the world without the deep history is missing with it", e)
		}
		left[k]--
	}
	extra := map[string]int{}
	for k, n := range left {
		if n == 0 {
			continue
		}
		ok := !inTeam[strings.ToLower(k.actor)] && (k.kind == model.EventCommented ||
			k.source == model.SourceGitHub && (k.kind == model.EventLabeled || k.kind == model.EventUnlabeled) && k.value == "stale")
		if !ok {
			t.Errorf("extra event %+v: want a comment or a stale-label change by an account in no team", k)
		}
		extra[k.source] += n
	}
	if got := len(dsd.Events) - len(ds0.Events); got != extra[model.SourceGitHub]+extra[model.SourceJira] {
		t.Fatalf("extra events %v, but the datasets differ by %d", extra, got)
	}
	// GitHub items take the mean (less what short lives cannot hold); Jira
	// issues stop at the embedded comment cap, so take fewer.
	c := wd.Counts()
	gh, jira := c.ItemsBySource[model.SourceGitHub], c.ItemsBySource[model.SourceJira]
	if m := float64(extra[model.SourceGitHub]) / float64(gh); m < 0.8*deep().HistoryDepth || m > 1.2*deep().HistoryDepth {
		t.Errorf("GitHub: %.2f extra events per item, want about %g", m, deep().HistoryDepth)
	}
	if m := float64(extra[model.SourceJira]) / float64(jira); m < 0.3*deep().HistoryDepth {
		t.Errorf("Jira: %.2f extra events per issue, want at least %.1f", m, 0.3*deep().HistoryDepth)
	}
	comments := func(ds *model.Dataset) (cut int) {
		per := map[string]int{}
		for _, e := range ds.Events {
			if e.Source == model.SourceJira && e.Kind == model.EventCommented {
				per[e.ItemKey]++
			}
		}
		for _, n := range per {
			if n > fakejira.CommentCap {
				cut++
			}
		}
		return cut
	}
	if a, b := comments(ds0), comments(dsd); a != b {
		t.Errorf("Jira issues with more comments than search embeds: %d without the deep history, %d with it", a, b)
	}

	cfg, err := config.Parse([]byte(wd.Config(sim.ConfigOptions{GitHubURL: "http://127.0.0.1:1/", TokenFile: "/dev/null",
		JiraURL: "http://127.0.0.1:2", JiraTokenFile: "/dev/null", StorePath: "/nonexistent/db"})))
	if err != nil {
		t.Fatal(err)
	}
	s0, sd := compute(cfg, ds0, w0.Now), compute(cfg, dsd, wd.Now)
	for src, n := range extra {
		if sd.Events[src]-s0.Events[src] != n {
			t.Errorf("%s: the engine considered %d more events, want %d", src, sd.Events[src]-s0.Events[src], n)
		}
	}
	s0.Events, sd.Events = nil, nil
	if !reflect.DeepEqual(s0, sd) {
		t.Errorf("snapshots differ beyond the events counted (stalled %d vs %d, handoffs %d vs %d)",
			s0.StalledTotal, sd.StalledTotal, len(s0.Handoffs), len(sd.Handoffs))
	}
	if a, b := render(t, s0), render(t, sd); a != b {
		t.Errorf("exposition differs with the deep history:\n%s", firstDiff(a, b))
	}
	t.Logf("events %d -> %d (+%d GitHub over %d items, +%d Jira over %d issues)", len(ds0.Events), len(dsd.Events),
		extra[model.SourceGitHub], gh, extra[model.SourceJira], jira)
}

// TestHistoryDepthGroundTruth: with a deep history the collectors (both
// GitHub paths) store exactly the generator's dataset, and the engine's
// handoffs over it are the generator's, the stalled ones the designed.
func TestHistoryDepthGroundTruth(t *testing.T) {
	w := generate(t, deep())
	for _, mode := range []string{config.GraphQLOff, config.GraphQLAuto} {
		t.Run("graphql="+mode, func(t *testing.T) {
			p := newPipeline(t, w, fakeapi.Faults{}).withGraphQL(t, mode)
			p.sync(t, 1)
			collected := p.load(t)
			diffDatasets(t, collected, w.Dataset())
			snap := checkTruth(t, w, p.cfg, collected)
			if want := w.Params.StalledNow + w.Params.JiraStalledNow; snap.StalledTotal != want {
				t.Errorf("stalled now: engine %d, want %d", snap.StalledTotal, want)
			}
			for _, h := range w.Handoffs(w.Now) {
				if h.Stalled != h.StalledByDesign {
					t.Errorf("%s %s->%s: stalled %v at Now, by design %v", h.ItemKey, h.From, h.To, h.Stalled, h.StalledByDesign)
				}
			}
			t.Logf("%d events stored", len(collected.Events))
		})
	}
}

// TestHistoryDepthLive: items planned after Now get their deep history
// too, and an incremental sync after advancing stores it exactly.
func TestHistoryDepthLive(t *testing.T) {
	w := generate(t, deep())
	p := newPipeline(t, w, fakeapi.Faults{})
	p.sync(t, 1)
	before := w.Counts()
	if err := w.Advance(w.Now.Add(3 * 24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	after := w.Counts()
	if after.Items <= before.Items {
		t.Fatalf("advancing three days added no items: %+v -> %+v", before, after)
	}
	p.sync(t, 1)
	collected := p.load(t)
	diffDatasets(t, collected, w.Dataset())
	checkTruth(t, w, p.cfg, collected)
	// The same days without the deep history add fewer events.
	w0 := generate(t, sim.Small())
	b0 := w0.Counts()
	if err := w0.Advance(w0.Now.Add(3 * 24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	a0 := w0.Counts()
	if a0.Items-b0.Items != after.Items-before.Items || a0.Events-b0.Events >= after.Events-before.Events {
		t.Errorf("3 simulated days: +%d items, +%d events with the deep history, +%d, +%d without it: want the same items and more events",
			after.Items-before.Items, after.Events-before.Events, a0.Items-b0.Items, a0.Events-b0.Events)
	}
	t.Logf("3 simulated days: +%d items, +%d events (+%d without the deep history)", after.Items-before.Items, after.Events-before.Events, a0.Events-b0.Events)
}
