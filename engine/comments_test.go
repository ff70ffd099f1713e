package engine

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
)

// TestCutCommentsMatter is one row per case of the rule in doc.go ("Cut
// comments"), on the team mapping of helpers_test.go: design owns "Design
// Review" (active); backend "Ready for Dev" (waiting) and "In Dev"; qa
// "Ready for QA" (waiting) and "Testing". Members (plain strings, so Jira
// ids too): alice design, bob and bill backend, quinn qa, fred frontend;
// zed is in no team. cut is the instant of the last embedded comment.
//
// Every row is also checked against the engine itself: when the judge
// says the cut comments cannot matter, adding comments at and after cut
// by every member and by zed changes no figure of the snapshot at several
// instants (handoffs with their last activity included); when it says
// they can, the row's witness (one comment) changes some figure.
func TestCutCommentsMatter(t *testing.T) {
	J := model.SourceJira
	jitem := func(status string) model.Item {
		return model.Item{Source: J, Key: "WEB-1", Author: "alice", Created: at("0s"), Status: status,
			URL: "https://example.test/WEB-1", Title: "t"}
	}
	closed := func(it model.Item, when string) model.Item { it.Closed = at(when); return it }
	withMs := func(it model.Item) model.Item { it.Milestones = []string{"1.0"}; return it }
	withSig := func(it model.Item) model.Item { it.Signals = []string{"decision"}; return it }
	const decision = `
signals:
  - name: decision
    kind: decision
    jira_jql: issuetype = Decision
`
	const githubOnly = `
teams:
  design:
    members: [{github: alice}]
    markers: {jira_statuses: [{name: "Design Review"}]}
  backend:
    members: [{github: bob}]
    markers: {jira_statuses: [{name: "Ready for Dev", waiting: true}, {name: "In Dev"}]}
`
	type witness struct{ when, actor string }
	cases := []struct {
		name    string
		config  string // replaces the team mapping when it starts with "\nteams:", else appended
		item    model.Item
		events  *evb
		cut     string
		want    bool
		witness *witness // a comment that changes a figure (want true)
	}{
		{
			name: "open handoff", item: jitem("Ready for Dev"),
			events: jira("WEB-1").status("1h", "alice", "Design Review", "Ready for Dev").add("2h", "zed", CM, ""),
			cut:    "2h", want: true, witness: &witness{"3h", "bob"}, // picks it up
		},
		{
			name: "picked up before cut, done after: last activity moves", item: jitem("Ready for QA"),
			events: jira("WEB-1").status("1h", "alice", "Design Review", "Ready for Dev").add("2h", "bob", CM, "").
				add("3h", "zed", CM, "").status("6h", "bob", "Ready for Dev", "Blocked"),
			cut: "3h", want: true, witness: &witness{"4h", "bill"},
		},
		{
			name: "picked up at cut, done after", item: jitem("Blocked"),
			events: jira("WEB-1").status("1h", "alice", "Design Review", "Ready for Dev").add("3h", "bob", CM, "").
				status("5h", "bob", "Ready for Dev", "Blocked"),
			cut: "3h", want: true, witness: &witness{"4h", "bob"},
		},
		{
			name: "done at cut without pickup: a comment at cut picks it up", item: jitem("Blocked"),
			events: jira("WEB-1").status("1h", "alice", "Design Review", "Ready for Dev").
				status("3h", "alice", "Ready for Dev", "Blocked").add("3h", "zed", CM, ""),
			cut: "3h", want: true, witness: &witness{"3h", "bob"},
		},
		{
			name: "done before cut without pickup, open, no milestone", item: jitem("Blocked"),
			events: jira("WEB-1").status("1h", "alice", "Design Review", "Ready for Dev").
				status("3h", "alice", "Ready for Dev", "Blocked").add("4h", "zed", CM, ""),
			cut: "4h", want: false,
		},
		{
			name: "picked up and done before cut, open", item: jitem("Blocked"),
			events: jira("WEB-1").status("1h", "alice", "Design Review", "Ready for Dev").add("2h", "bob", CM, "").
				status("3h", "bob", "Ready for Dev", "Blocked").add("4h", "zed", CM, ""),
			cut: "4h", want: false,
		},
		{
			name: "handoffs done before cut, closed after cut: the teams label", item: closed(jitem("Done"), "8h"),
			events: jira("WEB-1").status("1h", "alice", "Design Review", "Ready for Dev").add("2h", "bob", CM, "").
				status("3h", "bob", "Ready for Dev", "Blocked").add("4h", "zed", CM, "").
				status("8h", "zed", "Blocked", "Done").add("8h", "zed", CL, ""),
			cut: "4h", want: true, witness: &witness{"5h", "fred"}, // 2 teams -> 3
		},
		{
			name: "handoffs done before cut, closed before cut: comments after the close still touch", item: closed(jitem("Done"), "3h"),
			events: jira("WEB-1").status("1h", "alice", "Design Review", "Ready for Dev").
				status("3h", "alice", "Ready for Dev", "Done").add("3h", "alice", CL, "").add("4h", "zed", CM, ""),
			cut: "4h", want: true, witness: &witness{"5h", "quinn"},
		},
		{
			name: "every commenter team touched by cut, closed", item: closed(jitem("Done"), "9h"),
			events: jira("WEB-1").status("1h", "alice", "Design Review", "Ready for Dev").add("2h", "bob", CM, "").
				add("3h", "quinn", CM, "").add("3h", "fred", CM, "").status("4h", "bob", "Ready for Dev", "Blocked").
				add("5h", "zed", CM, "").status("9h", "zed", "Blocked", "Done").add("9h", "zed", CL, ""),
			cut: "5h", want: false,
		},
		{
			name: "not a handoff item, nobody's status, open", item: model.Item{Source: J, Key: "WEB-1", Author: "zed", Created: at("0s"), Status: "Open"},
			events: jira("WEB-1").add("1h", "zed", CM, "").add("2h", "alice", CM, ""),
			cut:    "2h", want: false,
		},
		{
			name: "not a handoff item, closed: a member's comment makes its cycle time observed", item: model.Item{Source: J, Key: "WEB-1", Author: "zed", Created: at("0s"), Status: "Done", Closed: at("6h")},
			events: jira("WEB-1").add("1h", "zed", CM, "").add("6h", "zed", CL, ""),
			cut:    "1h", want: true, witness: &witness{"2h", "quinn"},
		},
		{
			name: "the item's team unknown under the mapping, in a milestone", item: withMs(jitem("Open")),
			events: jira("WEB-1").status("1h", "alice", "Open", "Doing").add("2h", "zed", CM, ""),
			cut:    "2h", want: true,
		},
		{
			name: "the item's team unknown under the mapping, open, no milestone", item: jitem("Doing"),
			events: jira("WEB-1").status("1h", "alice", "Open", "Doing").add("2h", "zed", CM, ""),
			cut:    "2h", want: false,
		},
		{
			name: "a decision record: its teams", config: decision, item: withSig(jitem("Doing")),
			events: jira("WEB-1").status("1h", "alice", "Open", "Doing").add("2h", "zed", CM, ""),
			cut:    "2h", want: true,
		},
		{
			name: "no member a Jira actor can be: an open handoff cannot be picked up by a comment", config: githubOnly,
			item:   jitem("Ready for Dev"),
			events: jira("WEB-1").status("1h", "alice", "Design Review", "Ready for Dev").add("2h", "zed", CM, ""),
			cut:    "2h", want: false,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cfg *config.Config
			if strings.HasPrefix(tc.config, "\nteams:") {
				var err error
				if cfg, err = config.Parse([]byte(tc.config)); err != nil {
					t.Fatal(err)
				}
			} else {
				cfg = mustConfig(t, tc.config)
			}
			e := New(cfg, nil, Options{KeepHandoffs: true})
			it := tc.item
			cut := at(tc.cut)
			got := e.CommentJudge(nil).CutCommentsMatter(&it, tc.events.evs, nil, cut)
			if got != tc.want {
				t.Fatalf("CutCommentsMatter = %v, want %v", got, tc.want)
			}
			figures := func(extra []model.Event) []*Snapshot {
				evs := append(append([]model.Event(nil), tc.events.evs...), extra...)
				sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
				ds := &model.Dataset{Items: []model.Item{it}, Events: evs}
				var out []*Snapshot
				for _, asOf := range []time.Time{cut, cut.Add(90 * time.Minute), at("7h"), at("200h")} {
					if asOf.Before(cut) {
						continue
					}
					s := e.Compute(ds, asOf)
					s.Events = nil
					out = append(out, s)
				}
				return out
			}
			known := figures(nil)
			if !tc.want {
				var extra []model.Event
				n := 0
				for _, d := range []time.Duration{0, time.Minute, time.Hour, 2 * time.Hour, 5 * time.Hour, 100 * time.Hour} {
					for _, who := range []string{"alice", "bob", "quinn", "fred", "zed"} {
						n++
						extra = append(extra, model.Event{Source: J, ID: fmt.Sprintf("cut-%d", n), ItemKey: "WEB-1",
							At: cut.Add(d), Actor: who, Kind: CM})
					}
				}
				if all := figures(extra); !reflect.DeepEqual(all, known) {
					for i := range all {
						if !reflect.DeepEqual(all[i], known[i]) {
							t.Errorf("judged unable to matter, but the cut comments change the figures at %s:\n got %+v\nwant %+v", all[i].AsOf, all[i], known[i])
						}
					}
				}
				return
			}
			if tc.witness != nil {
				w := []model.Event{{Source: J, ID: "witness", ItemKey: "WEB-1", At: at(tc.witness.when), Actor: tc.witness.actor, Kind: CM}}
				if reflect.DeepEqual(figures(w), known) {
					t.Errorf("the witness comment by %s at %s changes no figure", tc.witness.actor, tc.witness.when)
				}
			}
		})
	}
}

// TestCutCommentsMatterGuards: no cut instant, or an item created after
// every known event: fetch.
func TestCutCommentsMatterGuards(t *testing.T) {
	e := New(mustConfig(t, ""), nil, Options{})
	j := e.CommentJudge(nil)
	it := model.Item{Source: model.SourceJira, Key: "WEB-2", Author: "zed", Created: at("1h")}
	if !j.CutCommentsMatter(&it, nil, nil, time.Time{}) {
		t.Error("zero cut: want true")
	}
	if !j.CutCommentsMatter(nil, nil, nil, at("1h")) {
		t.Error("nil item: want true")
	}
	if j.CutCommentsMatter(&it, nil, nil, at("2h")) {
		t.Error("an open item nobody touched, no handoff: want false")
	}
}

// TestCutCommentsMatterIdentities: facts the caller passes for accounts
// the judge does not know resolve their teams (here an assignee who is a
// member by email makes a handoff), and are forgotten afterwards.
func TestCutCommentsMatterIdentities(t *testing.T) {
	cfg, err := config.Parse([]byte(`
teams:
  design:
    members: [{email: ann@example.com}]
    markers: {jira_statuses: [{name: "Design Review"}]}
  backend:
    members: [{email: bob@example.com}]
    markers: {jira_statuses: [{name: "Ready for Dev", waiting: true}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	J := model.SourceJira
	it := model.Item{Source: J, Key: "WEB-3", Author: "acc-ann", Created: at("0s"), Status: "Open", Assignees: []string{"acc-bob"}}
	evs := jira("WEB-3").status("1h", "acc-ann", "Design Review", "Open").add("1h", "acc-ann", AS, "acc-bob").add("2h", "zed", CM, "").evs
	ids := []model.Identity{{Source: J, Account: "acc-bob", Kind: model.IdentityEmail, Value: "bob@example.com"}}
	j := New(cfg, nil, Options{}).CommentJudge(nil)
	if j.CutCommentsMatter(&it, evs, nil, at("2h")) {
		t.Error("without the fact acc-bob is in no team: no handoff, nothing to pick up; want false")
	}
	if !j.CutCommentsMatter(&it, evs, ids, at("2h")) {
		t.Error("with the fact design->backend is open at 2h; want true")
	}
	if j.CutCommentsMatter(&it, evs, nil, at("2h")) {
		t.Error("the fact was kept after the call")
	}
	// A judge built with the stored fact knows it.
	if !New(cfg, nil, Options{}).CommentJudge(ids).CutCommentsMatter(&it, evs, nil, at("2h")) {
		t.Error("judge built with the fact: want true")
	}
}
