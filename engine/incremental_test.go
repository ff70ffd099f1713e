package engine_test

import (
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/sim"
)

// exposed is the snapshot's exposition text, as /metrics serves it.
func exposed(t *testing.T, s *engine.Snapshot) string {
	t.Helper()
	c := exposition.NewSnapshotCollector()
	c.Set(s, time.Second)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// itemData is one item's stored record and events, as the store streams it.
type itemData struct {
	it  *model.Item
	evs []model.Event
}

type ikey struct{ source, key string }

// byItem groups a dataset the way the store's reader streams it.
func byItem(ds *model.Dataset) map[ikey]itemData {
	out := map[ikey]itemData{}
	for i := range ds.Items {
		it := &ds.Items[i]
		out[ikey{it.Source, it.Key}] = itemData{it: it}
	}
	for start := 0; start < len(ds.Events); {
		end := start + 1
		for end < len(ds.Events) && ds.Events[end].Source == ds.Events[start].Source && ds.Events[end].ItemKey == ds.Events[start].ItemKey {
			end++
		}
		k := ikey{ds.Events[start].Source, ds.Events[start].ItemKey}
		d := out[k]
		d.evs = ds.Events[start:end]
		out[k] = d
		start = end
	}
	return out
}

// variants are configuration reloads: thresholds, precedence, milestone
// grouping, the stalled cap and a member leaving a team.
var variants = []struct{ old, new string }{
	{"stall_after: 72h", "stall_after: 20h"},
	{"precedence: [marker, assignee]", "precedence: [assignee, marker, author]"},
	{"github_by_title: true", "github_by_title: false"},
	{"merge_sources: true", "merge_sources: false"},
	{"max_stalled_exported: 7", "max_stalled_exported: 2"},
	{"stall_clock: working", "stall_clock: calendar"},
}

func parse(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(text))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// TestIncrementalMatchesScratch: over random simulated histories, syncs of
// random sizes and configuration reloads, a State updated only with the
// items that changed gives, at many instants, the exposition text (byte
// for byte) and the snapshot (with handoffs and signal items) of a
// computation from scratch over everything stored.
func TestIncrementalMatchesScratch(t *testing.T) {
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	checks, withDeps, withDecisions := 0, 0, 0
	for seed := 1; seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(seed)))
			p := sim.Small()
			p.Seed = uint64(seed)
			p.Months = 2
			p.Repos = 2
			p.ItemsPerRepo = 40 + rng.Intn(40)
			p.JiraIssuesPerProject = 30 + rng.Intn(40)
			p.StalledNow, p.JiraStalledNow = 3, 2
			w, err := sim.Generate(p)
			if err != nil {
				t.Fatal(err)
			}
			text := w.Config(sim.ConfigOptions{GitHubURL: "https://github.test/", JiraURL: "https://jira.test", TokenFile: "token", JiraTokenFile: "token"})
			if seed%2 == 0 {
				// The signals as records: decisions (decided by label) and
				// post-mortem actions.
				for _, r := range [][2]string{
					{"  - name: decision\n", "  - name: decision\n    kind: decision\n    decided_labels: [decided]\n    keep_decided: 3d\n"},
					{"  - name: postmortem_action\n", "  - name: postmortem_action\n    kind: postmortem\n"},
				} {
					if !strings.Contains(text, r[0]) {
						t.Fatalf("no %q in the generated config", r[0])
					}
					text = strings.Replace(text, r[0], r[1], 1)
				}
			}
			cfg := parse(t, text)
			opts := []engine.Options{{}, {KeepHandoffs: true, KeepSignalItems: true}, {Sharded: true}}
			o := opts[seed%len(opts)]

			// The exporter's state: built by streaming the first store
			// content, then fed the items each sync changed.
			var (
				eng  *engine.Engine
				st   *engine.State
				prev map[ikey]itemData
				ds   *model.Dataset
			)
			deps := false
			rebuild := func() {
				for {
					eng = engine.New(cfg, ds.Members, o)
					st = eng.NewState(ds.Identities, ds.Milestones, deps)
					for k, d := range byItem(ds) {
						st.Update(k.source, k.key, d.it, d.evs)
					}
					if !st.NeedsDependencies() {
						return
					}
					deps = true // as the syncer does on the first edge
				}
			}
			check := func(step string, asOf time.Time) {
				t.Helper()
				checks++
				got, err := st.Snapshot(asOf)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				want := engine.New(cfg, ds.Members, o).Compute(ds, asOf)
				if g, w := exposed(t, got), exposed(t, want); g != w {
					fresh := engine.New(cfg, ds.Members, o).NewState(ds.Identities, ds.Milestones, true)
					for k, d := range byItem(ds) {
						fresh.Update(k.source, k.key, d.it, d.evs)
					}
					a, b := engine.DebugItems(st), engine.DebugItems(fresh)
					for k := range b {
						if a[k] != b[k] {
							t.Logf("item %s:\n inc   %s\n fresh %s", k, a[k], b[k])
						}
					}
					t.Fatalf("%s at %s: incremental exposition differs from scratch:\n%s", step, asOf, firstDiff(g, w))
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s at %s: incremental snapshot differs from scratch", step, asOf)
				}
				if len(got.Records.Dependencies) > 0 {
					withDeps++
				}
				if len(got.Records.Decisions) > 0 {
					withDecisions++
				}
			}
			ds = withRecords(w.Dataset(), w.Now)
			rebuild()
			prev = byItem(ds)
			now := w.Now
			check("initial", now)
			var latest time.Time
			for i := range ds.Events {
				if ds.Events[i].At.After(latest) {
					latest = ds.Events[i].At
				}
			}
			if _, err := st.Snapshot(latest.Add(-time.Second)); !errors.Is(err, engine.ErrBeforeHorizon) {
				t.Errorf("snapshot before the latest stored event (%s): %v, want ErrBeforeHorizon", latest, err)
			}
			for step := 0; step < 8; step++ {
				// A sync: time moves on by minutes to days, then only the
				// items whose record or events changed are updated.
				now = now.Add(time.Duration(1+rng.Intn(3*24*60)) * time.Minute)
				if err := w.Advance(now); err != nil {
					t.Fatal(err)
				}
				next := withRecords(w.Dataset(), now)
				members := !reflect.DeepEqual(next.Members, ds.Members) || !reflect.DeepEqual(next.Identities, ds.Identities)
				ds = next
				cur := byItem(ds)
				if members {
					rebuild() // the syncer rebuilds when members or identities change
				} else {
					st.SetMilestones(ds.Milestones)
					changed := 0
					for k, d := range cur {
						if old, ok := prev[k]; !ok || !reflect.DeepEqual(old.it, d.it) || len(old.evs) != len(d.evs) || rng.Intn(50) == 0 {
							st.Update(k.source, k.key, d.it, d.evs)
							changed++
						}
					}
					if changed == 0 && step > 0 {
						t.Logf("step %d: nothing changed", step)
					}
					if st.NeedsDependencies() {
						deps = true
						rebuild()
					}
				}
				prev = cur
				name := fmt.Sprintf("sync %d", step)
				check(name, now)
				check(name, now.Add(time.Duration(rng.Intn(96*60))*time.Minute))
				check(name, now.Add(40*24*time.Hour))
				// Remove an item and put it back: the sums come back exactly.
				for k, d := range cur {
					st.Update(k.source, k.key, nil, nil)
					st.Update(k.source, k.key, d.it, d.evs)
					break
				}
				check(name+" remove+add", now)
				if step%3 == 2 {
					// A reload: new configuration, state rebuilt from the store.
					v := variants[(seed+step)%len(variants)]
					if !strings.Contains(text, v.old) {
						v = variants[(seed+step+1)%len(variants)]
					}
					if !strings.Contains(text, v.old) {
						t.Fatalf("variant %q not in the generated config", v.old)
					}
					text = strings.Replace(text, v.old, v.new, 1)
					cfg = parse(t, text)
					rebuild()
					check(fmt.Sprintf("reload %q", v.new), now)
				}
			}
		})
	}
	if checks < 20 || withDeps < 10 || withDecisions < 5 {
		t.Errorf("%d comparisons, %d with dependencies, %d with decision records: too few", checks, withDeps, withDecisions)
	}
}

// withRecords adds, deterministically per item and only up to now,
// dependency edges between GitHub items (some removed later) and "decided"
// labels on some decision items, so the property covers records.
func withRecords(ds *model.Dataset, now time.Time) *model.Dataset {
	var gh []*model.Item
	for i := range ds.Items {
		if ds.Items[i].Source == model.SourceGitHub {
			gh = append(gh, &ds.Items[i])
		}
	}
	extra := map[string][]model.Event{}
	add := func(it *model.Item, at time.Time, kind model.EventKind, v string) {
		if !at.After(now) {
			extra[it.Key] = append(extra[it.Key], model.Event{Source: model.SourceGitHub, ID: fmt.Sprintf("x-%s-%s-%s", it.Key, kind, v),
				ItemKey: it.Key, At: at, Actor: it.Author, Kind: kind, Value: v})
		}
	}
	for _, it := range gh {
		repo, num, _ := strings.Cut(it.Key, "#")
		n, _ := strconv.Atoi(num)
		if n%4 == 0 {
			// Blocked by the item three numbers on (a function of the
			// key alone; it may not exist yet: such edges count nowhere).
			blocking := fmt.Sprintf("%s#%d", repo, n+3)
			add(it, it.Created.Add(2*time.Hour), model.EventBlockedByAdded, blocking)
			if n%8 == 0 {
				add(it, it.Created.Add(5*24*time.Hour), model.EventBlockedByRemoved, blocking)
			}
		}
		if n%3 == 0 && slices.Contains(it.Labels, "decision") {
			add(it, it.Created.Add(24*time.Hour), model.EventLabeled, "decided")
		}
	}
	out := &model.Dataset{Items: ds.Items, Milestones: ds.Milestones, Members: ds.Members, Identities: ds.Identities}
	seen := map[string]bool{}
	flush := func(evs []model.Event) {
		if len(evs) == 0 {
			return
		}
		k := evs[0].ItemKey
		if evs[0].Source == model.SourceGitHub {
			seen[k] = true
			evs = append(append([]model.Event(nil), evs...), extra[k]...)
			sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
		}
		out.Events = append(out.Events, evs...)
	}
	start := 0
	for i := 1; i <= len(ds.Events); i++ {
		if i == len(ds.Events) || ds.Events[i].ItemKey != ds.Events[start].ItemKey || ds.Events[i].Source != ds.Events[start].Source {
			flush(ds.Events[start:i])
			start = i
		}
	}
	for _, it := range gh {
		if !seen[it.Key] && len(extra[it.Key]) > 0 {
			// An item with no other events: its group goes in key order.
			evs := extra[it.Key]
			sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
			out.Events = append(out.Events, evs...)
		}
	}
	sort.SliceStable(out.Events, func(i, j int) bool {
		a, b := &out.Events[i], &out.Events[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.ItemKey < b.ItemKey
	})
	return out
}

// firstDiff shows the first differing line of two texts.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n incremental: %s\n scratch:     %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d vs %d lines", len(la), len(lb))
}

// TestSparsePairs: pair series exist only for the pairs that ever had a
// handoff (or a bounce back), not for every pair of teams: 12 teams, 3
// pairs with handoffs, 3 pairs' series. A pair whose only handoff goes
// away (its item re-derived without it) is absent, not zero.
func TestSparsePairs(t *testing.T) {
	var cfgText strings.Builder
	cfgText.WriteString("teams:\n")
	for i := range 12 {
		fmt.Fprintf(&cfgText, "  t%02d: {members: [m%02d], markers: {github_labels: [\"team:t%02d\"]}}\n", i, i, i)
	}
	cfgText.WriteString("handoffs:\n  bounce: {enabled: true}\n")
	cfg := parse(t, cfgText.String())
	b := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return b.Add(time.Duration(n) * time.Hour) }
	n := 0
	ev := func(key string, hour int, actor string, kind model.EventKind, v string) model.Event {
		n++
		return model.Event{Source: model.SourceGitHub, ID: fmt.Sprint(n), ItemKey: key, At: h(hour), Actor: actor, Kind: kind, Value: v}
	}
	a := []model.Event{ // t00 -> t01, bounced back t01 -> t00
		ev("acme/web#1", 0, "m00", model.EventLabeled, "team:t00"),
		ev("acme/web#1", 1, "m00", model.EventUnlabeled, "team:t00"),
		ev("acme/web#1", 1, "m00", model.EventLabeled, "team:t01"),
		ev("acme/web#1", 3, "m01", model.EventUnlabeled, "team:t01"),
		ev("acme/web#1", 3, "m01", model.EventLabeled, "team:t00"),
	}
	bEvs := []model.Event{ // t05 -> t09, closed
		ev("acme/web#2", 0, "m05", model.EventLabeled, "team:t05"),
		ev("acme/web#2", 2, "m05", model.EventUnlabeled, "team:t05"),
		ev("acme/web#2", 2, "m05", model.EventLabeled, "team:t09"),
		ev("acme/web#2", 4, "m09", model.EventClosed, ""),
	}
	items := []model.Item{
		{Source: model.SourceGitHub, Key: "acme/web#1", Author: "m00", Created: h(0)},
		{Source: model.SourceGitHub, Key: "acme/web#2", Author: "m05", Created: h(0)},
	}
	ds := &model.Dataset{Items: items, Events: append(append([]model.Event(nil), a...), bEvs...)}
	asOf := h(48)
	pairsIn := func(text string) []string {
		seen := map[string]bool{}
		var out []string
		for _, line := range strings.Split(text, "\n") {
			i := strings.Index(line, `from_team="`)
			if strings.HasPrefix(line, "#") || i < 0 {
				continue
			}
			from := line[i+len(`from_team="`):]
			from = from[:strings.IndexByte(from, '"')]
			j := strings.Index(line, `to_team="`)
			to := line[j+len(`to_team="`):]
			to = to[:strings.IndexByte(to, '"')]
			if k := from + "->" + to; !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
		sort.Strings(out)
		return out
	}
	text := exposed(t, engine.Compute(ds, cfg, asOf))
	if got, want := pairsIn(text), []string{"t00->t01", "t01->t00", "t05->t09"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pairs with series %v, want %v (of %d possible)", got, want, 12*11)
	}
	if got := strings.Count(text, "\ncrossteam_handoffs_total{"); got != 3 {
		t.Errorf("%d crossteam_handoffs_total series, want 3", got)
	}

	// Item 2's handoff goes away (its label events re-derived as one
	// team's): the pair t05->t09 disappears from the incremental state.
	st := engine.New(cfg, nil, engine.Options{}).NewState(nil, nil, false)
	st.Update(model.SourceGitHub, "acme/web#1", &items[0], a)
	st.Update(model.SourceGitHub, "acme/web#2", &items[1], bEvs)
	st.Update(model.SourceGitHub, "acme/web#2", &items[1], bEvs[:1])
	snap, err := st.Snapshot(asOf)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pairsIn(exposed(t, snap)), []string{"t00->t01", "t01->t00"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after the handoff went away: pairs %v, want %v", got, want)
	}
}
