package github

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/store/storetest"
)

// fuzzSeeds adds GitHub's own example payloads (fakeapi/github/testdata, copied from
// shared/fixtures with their attribution) and a few hostile ones.
func fuzzSeeds(f *testing.F, files ...string) {
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join("..", "..", "fakeapi", "github", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`[]`, `null`, `[null]`, `[{}]`, `{"a":1}`,
		`[{"id":1,"event":"labeled","created_at":"2026-03-02T09:00:00Z","label":{"name":"team:\"x\"\n\u2603"},"issue":{"number":7}}]`,
		`[{"id":-5,"event":"review_requested","created_at":"0001-01-01T00:00:00Z","requested_team":{"slug":""},"issue":{"number":0}}]`,
		`[{"id":9,"event":"milestoned","created_at":"9999-12-31T23:59:59+14:00","milestone":null,"issue":{"number":3,"pull_request":{}}}]`,
		`[{"number":1,"title":"` + strings.Repeat("é", 5000) + `","created_at":"2026-03-02T09:00:00+02:00","labels":[null,{"name":""}],"assignees":[null]}]`,
	} {
		f.Add([]byte(s))
	}
}

func fuzzRepoSync() *repoSync {
	return &repoSync{c: &Collector{target: &config.GitHubSource{Name: "fuzz"}}, full: "acme/web", owner: "acme", name: "web"}
}

// FuzzMapIssueEvents decodes a page of repository issue events as go-github
// does and maps it as the events walk does: no input may panic, every event
// kept names the item of its issue, and the page of events, written to a
// real store (ApplyPage) and loaded back, reads back equal (or the store
// refuses it as invalid and stores none of it).
func FuzzMapIssueEvents(f *testing.F) {
	fuzzSeeds(f, "issue-event-items.json", "Repository_issue_events.json", "issue-event-for-issue-items.json")
	rt := storetest.Open(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var evs []*gh.IssueEvent
		if json.Unmarshal(b, &evs) != nil {
			return
		}
		rs := fuzzRepoSync()
		m := rs.mapEventsPage(evs, 0, walkState{})
		for _, e := range m.events {
			n, _ := strconv.Atoi(e.ItemKey[strings.LastIndexByte(e.ItemKey, '#')+1:])
			switch {
			case e.ItemKey != rs.itemKey(n) || n == 0:
				t.Errorf("event %s: item %q not an issue of %s", e.ID, e.ItemKey, rs.full)
			case e.At.Location() != time.UTC:
				t.Errorf("event %s: instant %v not in UTC", e.ID, e.At)
			case (e.Kind == model.EventReviewRequested || e.Kind == model.EventReviewRequestRemoved) && e.Team != "" && !strings.HasPrefix(e.Team, "acme/"):
				t.Errorf("event %s: team %q not scoped to the owner", e.ID, e.Team)
			}
		}
		p := rs.page()
		p.Events = m.events
		rt.Check(t, p)
	})
}

// FuzzMapIssues decodes a page of issues and maps it as the issues walk
// does (items and their created events): no panic; keys name the repository
// and number; no empty label or assignee is kept; titles are kept; and the
// page written to a real store reads back equal (or is refused as invalid
// with nothing stored).
func FuzzMapIssues(f *testing.F) {
	fuzzSeeds(f, "issue-items.json")
	rt := storetest.Open(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var issues []*gh.Issue
		if json.Unmarshal(b, &issues) != nil {
			return
		}
		rs := fuzzRepoSync()
		p := rs.page()
		for _, is := range issues {
			if is == nil {
				continue
			}
			it := rs.item(is)
			if it.Key != rs.itemKey(is.GetNumber()) || it.Source != model.SourceGitHub || it.Target != "fuzz" {
				t.Errorf("item %q source %q target %q", it.Key, it.Source, it.Target)
			}
			for _, l := range append(append([]string(nil), it.Labels...), it.Assignees...) {
				if l == "" {
					t.Errorf("item %s: empty label or assignee kept", it.Key)
				}
			}
			if utf8.ValidString(is.GetTitle()) && it.Title != is.GetTitle() {
				t.Errorf("item %s: title changed", it.Key)
			}
			p.Items = append(p.Items, it)
			if e, ok := createdEvent(it); ok {
				p.Events = append(p.Events, e)
			}
		}
		rt.Check(t, p)
	})
}
