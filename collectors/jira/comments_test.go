package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
	"github.com/crossteam/crossteam/model"
)

// commentEvents returns the commented events of an issue by id.
func commentEvents(ds *model.Dataset, key string) map[string]model.Event {
	out := map[string]model.Event{}
	for _, ev := range eventsOf(ds, key) {
		if ev.Kind == model.EventCommented {
			out[ev.ID] = ev
		}
	}
	return out
}

// TestCommentsStored: every comment becomes one commented event (id
// "comment:<id>", the author's identity, created); on Cloud an issue with
// more than the 20 comments search embeds costs one comment request, on
// Data Center (all embedded) none. A second sync after a new comment adds
// exactly that one.
func TestCommentsStored(t *testing.T) {
	for _, tc := range []struct {
		deployment string
		few, many  int // comments on
		wantExtra  int // comment endpoint requests of the full sync
	}{
		{fakejira.Cloud, 3, 25, 1},
		{fakejira.DataCenter, 3, 25, 0},
		{fakejira.Cloud, 3, 20, 0},   // exactly the cap: nothing cut
		{fakejira.Cloud, 0, 250, 1},  // one issue, 3 pages of 100
		{fakejira.Cloud, 21, 101, 2}, // two cut issues
	} {
		t.Run(fmt.Sprintf("%s %d+%d", tc.deployment, tc.few, tc.many), func(t *testing.T) {
			e := newEnv(t, tc.deployment, strings.Split(teamsYAML, "signals:")[0])
			for _, k := range []string{"A-1", "A-2"} {
				e.must(e.site.CreateIssue(fakejira.Issue{Project: "A", Key: k, Summary: k, Reporter: "acc-alice", Created: at(0)}))
			}
			// Authors rotate: alice (Cloud id), dora (configured by email;
			// stored by id, the email as an identity fact), an automation
			// account in no team.
			authors := []string{"acc-alice", "acc-dora", "automation-1"}
			wantActor := map[string]string{"acc-alice": "acc-alice", "acc-dora": "acc-dora", "automation-1": "automation-1"}
			if tc.deployment == fakejira.DataCenter {
				wantActor["acc-alice"], wantActor["acc-dora"] = "alice", "dora"
			}
			type want struct {
				actor string
				at    time.Time
			}
			wants := map[string]map[string]want{"A-1": {}, "A-2": {}}
			add := func(key string, n int) {
				for i := 0; i < n; i++ {
					a, when := authors[i%3], at(time.Hour+time.Duration(i)*time.Minute)
					cm, err := e.site.AddComment(key, a, fmt.Sprintf("note %d", i), when)
					if err != nil {
						t.Fatal(err)
					}
					wants[key]["comment:"+cm.ID] = want{wantActor[a], when}
				}
			}
			add("A-1", tc.few)
			add("A-2", tc.many)
			c := e.collector(Options{})
			if err := c.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			pages := 0
			for _, n := range []int{tc.few, tc.many} {
				if tc.deployment == fakejira.Cloud && n > fakejira.CommentCap {
					pages += ceilDiv(n-fakejira.CommentCap, 100) // from startAt 20: the embedded ones are not asked again
				}
			}
			cutIssues := e.api.CountByEndpoint()["jira_issue_comment 200"]
			if cutIssues != pages || (tc.wantExtra > 0) != (pages > 0) {
				t.Fatalf("comment requests = %d, want %d (%v)", cutIssues, pages, e.api.CountByEndpoint())
			}
			base := 3 + 1 // metadata + one search page
			if tc.deployment == fakejira.Cloud {
				base++ // bulkfetch
			}
			if got := e.api.Count(nil); got != base+pages {
				t.Fatalf("full sync: %d requests (%v), want %d", got, e.api.CountByEndpoint(), base+pages)
			}
			ds := e.load()
			for key, w := range wants {
				got := commentEvents(ds, key)
				if len(got) != len(w) {
					t.Fatalf("%s: %d commented events, want %d", key, len(got), len(w))
				}
				for id, x := range w {
					ev, ok := got[id]
					if !ok || ev.Actor != x.actor || !ev.At.Equal(x.at) || ev.Source != model.SourceJira {
						t.Fatalf("%s %s = %+v (found %v), want actor %s at %v", key, id, ev, ok, x.actor, x.at)
					}
				}
			}
			// One new comment: the next sync stores it, and only it.
			e.clock.Advance(10 * time.Minute)
			cm, err := e.site.AddComment("A-1", "acc-bob", "late", e.clock.Now().Add(-time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			e.api.ResetRequests()
			if err := c.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			// One search (no history changed, so nothing to complete),
			// plus the comment pages when A-1's comments are now cut.
			wantReq := 1
			if tc.deployment == fakejira.Cloud && tc.few+1 > fakejira.CommentCap {
				wantReq += ceilDiv(tc.few+1, 100)
			}
			if got := e.api.Count(nil); got != wantReq {
				t.Fatalf("sync after one comment: %d requests (%v), want %d", got, e.api.CountByEndpoint(), wantReq)
			}
			bob := "acc-bob"
			if tc.deployment == fakejira.DataCenter {
				bob = "bob"
			}
			got := commentEvents(e.load(), "A-1")
			if ev := got["comment:"+cm.ID]; len(got) != tc.few+1 || ev.Actor != bob || !ev.At.Equal(cm.Created) {
				t.Fatalf("A-1 after the new comment: %d events, new one %+v; want %d, by %s", len(got), ev, tc.few+1, bob)
			}
		})
	}
}

// TestCommentPicksUpHandoff: design moves the issue to backend's waiting
// status at 10:00; an automation comment (no team) at 10:30 and a design
// member's comment at 11:00 pick nothing up; backend's Bob comments at
// 13:15, before he assigns himself at 15:00: the pickup is 13:15.
func TestCommentPicksUpHandoff(t *testing.T) {
	const yaml = `
teams:
  design:
    members:
      - jira: acc-alice
    markers:
      jira_statuses:
        - name: Ready for Design
          waiting: true
        - name: In Design
  backend:
    members:
      - jira: acc-bob
    markers:
      jira_statuses:
        - name: Ready for Backend
          waiting: true
        - name: In Backend
`
	for _, dep := range []string{fakejira.Cloud, fakejira.DataCenter} {
		t.Run(dep, func(t *testing.T) {
			cfg := yaml
			if dep == fakejira.DataCenter {
				// Data Center names people by user name.
				cfg = strings.NewReplacer("acc-alice", "alice", "acc-bob", "bob").Replace(yaml)
			}
			e := newEnv(t, dep, cfg)
			for _, s := range []string{"Ready for Backend", "In Backend"} {
				e.must(e.site.AddStatus(fakejira.Status{Name: s, Category: fakejira.CategoryIndeterminate}))
			}
			day := at(0) // Monday 2026-03-02
			is, err := e.site.CreateIssue(fakejira.Issue{Project: "A", Summary: "x", Reporter: "acc-alice", Status: "In Design", Created: day.Add(9 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			e.must(e.site.Transition(is.Key, "Ready for Backend", "acc-alice", day.Add(10*time.Hour)))
			e.must(e.site.AddComment(is.Key, "automation-1", "Moved by rule", day.Add(10*time.Hour+30*time.Minute)))
			e.must(e.site.AddComment(is.Key, "acc-alice", "Ping backend", day.Add(11*time.Hour)))
			e.must(e.site.AddComment(is.Key, "acc-bob", "Looking", day.Add(13*time.Hour+15*time.Minute)))
			e.must(e.site.Assign(is.Key, "acc-bob", "acc-bob", day.Add(15*time.Hour)))
			e.must(e.site.Transition(is.Key, "In Backend", "acc-bob", day.Add(15*time.Hour+time.Minute)))
			if err := e.collector(Options{}).Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			ds := e.load()
			if n := len(commentEvents(ds, is.Key)); n != 3 {
				t.Fatalf("%d commented events, want 3", n)
			}
			snap := engine.New(e.cfg, nil, engine.Options{KeepHandoffs: true}).Compute(ds, day.Add(20*time.Hour))
			if len(snap.Handoffs) != 1 {
				t.Fatalf("handoffs = %+v, want one design->backend", snap.Handoffs)
			}
			h := snap.Handoffs[0]
			if h.From != "design" || h.To != "backend" || !h.Start.Equal(day.Add(10*time.Hour)) ||
				!h.Pickup.Equal(day.Add(13*time.Hour+15*time.Minute)) || !h.LastActivity.Equal(day.Add(15*time.Hour+time.Minute)) {
				t.Fatalf("handoff = %s->%s start %v pickup %v last %v; want design->backend 10:00, pickup 13:15 (Bob's comment), last 15:01",
					h.From, h.To, h.Start, h.Pickup, h.LastActivity)
			}
		})
	}
}

// TestGarbledAnswerAskedAgain: a 2xx answer cut on the way is asked again;
// the sync succeeds with one request more per garbled answer, and fails
// naming the issue when every one of the three attempts is garbled.
func TestGarbledAnswerAskedAgain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		garble  int // how many comment answers are cut
		wantErr bool
	}{
		{"one cut answer", 1, false},
		{"two cut answers", 2, false},
		{"every attempt cut", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, fakejira.Cloud, strings.Split(teamsYAML, "signals:")[0])
			e.must(e.site.CreateIssue(fakejira.Issue{Project: "A", Summary: "x", Reporter: "acc-alice", Created: at(0)}))
			for i := 0; i < 30; i++ {
				e.must(e.site.AddComment("A-1", "acc-bob", "c", at(time.Duration(i+1)*time.Minute)))
			}
			left := tc.garble
			e.rewrite = func(r *http.Request, body []byte) []byte {
				if strings.HasSuffix(r.URL.Path, "/comment") && left > 0 {
					left--
					return body[:len(body)/2]
				}
				return body
			}
			err := e.collector(Options{}).Sync(context.Background())
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "issue A-1: comments") {
					t.Fatalf("err = %v, want one naming A-1's comments", err)
				}
				if n := len(e.load().Items); n != 0 {
					t.Fatalf("stored %d items of a failed batch", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := e.api.CountByEndpoint()["jira_issue_comment 200"], 1+tc.garble; got != want {
				t.Fatalf("comment requests = %d, want %d", got, want)
			}
			if n := len(commentEvents(e.load(), "A-1")); n != 30 {
				t.Fatalf("%d commented events, want 30", n)
			}
		})
	}
}

// TestCommentFieldShapes: the comment field as Jira serves it (a page with
// total), as Atlassian's OpenAPI search example shows it (a bare array,
// ADF body), absent, and broken.
func TestCommentFieldShapes(t *testing.T) {
	fixture, err := os.ReadFile(filepath.Join("..", "..", "fakeapi", "jira", "testdata", "atlassian-openapi-examples", "search-jql.GET.200.json"))
	if err != nil {
		t.Fatal(err)
	}
	var page searchJQLPage
	if err := json.Unmarshal(fixture, &page); err != nil {
		t.Fatal(err)
	}
	exampleComment := string(page.Issues[0].Fields["comment"])
	for _, tc := range []struct {
		name    string
		field   string // "" = no comment field
		want    []string
		wantErr string
	}{
		{"page", `{"startAt":0,"maxResults":1,"total":1,"comments":[{"id":"7","author":{"accountId":"acc-bob"},"body":"hi","created":"2026-03-02T09:00:00.000+0000"}]}`,
			[]string{"comment:7 acc-bob 2026-03-02T09:00:00Z"}, ""},
		{"Atlassian example (array, ADF body)", exampleComment,
			[]string{"comment:10000 5b10a2844c20165700ede21g 2021-01-17T12:34:00Z"}, ""},
		{"absent", "", nil, ""},
		{"no created", `{"total":1,"comments":[{"id":"8","author":{"accountId":"acc-bob"}}]}`, nil, `comment "8": missing id or created`},
		{"not a page", `"three comments"`, nil, "field comment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Collector{cloud: true, cfg: &config.Config{}, identities: map[model.Identity]bool{}}
			fields := map[string]json.RawMessage{"created": json.RawMessage(`"2026-03-01T09:00:00.000+0000"`), "updated": json.RawMessage(`"2026-03-02T09:00:00.000+0000"`)}
			if tc.field != "" {
				fields["comment"] = json.RawMessage(tc.field)
			}
			p, err := c.decodeIssue(&rawIssue{ID: "1", Key: "A-1", Fields: fields})
			var evs []model.Event
			if err == nil {
				evs, err = c.mapEvents(p, nil)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "A-1") {
					t.Fatalf("err = %v, want one naming A-1 and %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range evs {
				if e.Kind == model.EventCommented {
					got = append(got, e.ID+" "+e.Actor+" "+e.At.UTC().Format(time.RFC3339))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("commented events = %v, want %v", got, tc.want)
			}
		})
	}
}
