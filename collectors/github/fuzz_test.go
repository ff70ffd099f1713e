package github

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
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
// does and normalises it: no input may panic, and every event kept must be
// one the store accepts (id, item, UTC instant, kind) for the item it names.
func FuzzMapIssueEvents(f *testing.F) {
	fuzzSeeds(f, "issue-event-items.json", "Repository_issue_events.json", "issue-event-for-issue-items.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		var evs []*gh.IssueEvent
		if json.Unmarshal(b, &evs) != nil {
			return
		}
		rs := fuzzRepoSync()
		for _, ev := range evs {
			if ev == nil {
				continue
			}
			n := ev.GetIssue().GetNumber()
			e, ok := rs.mapEvent(ev, n)
			if !ok {
				continue
			}
			switch {
			case e.ID == "" || e.ID == "0":
				t.Errorf("kept event without id: %+v", e)
			case e.ItemKey != rs.itemKey(n) || n == 0:
				t.Errorf("event %s: item %q for issue %d", e.ID, e.ItemKey, n)
			case e.At.IsZero() || e.At.Location() != time.UTC:
				t.Errorf("event %s: instant %v not a UTC instant", e.ID, e.At)
			case e.Kind == "" || e.Source != model.SourceGitHub:
				t.Errorf("event %s: kind %q source %q", e.ID, e.Kind, e.Source)
			case (e.Kind == model.EventReviewRequested || e.Kind == model.EventReviewRequestRemoved) && e.Team != "" && !strings.HasPrefix(e.Team, "acme/"):
				t.Errorf("event %s: team %q not scoped to the owner", e.ID, e.Team)
			}
		}
	})
}

// FuzzMapIssues decodes a page of issues and normalises each into an item:
// no panic; keys name the repository and number; times are UTC; no empty
// label or assignee is kept.
func FuzzMapIssues(f *testing.F) {
	fuzzSeeds(f, "issue-items.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		var issues []*gh.Issue
		if json.Unmarshal(b, &issues) != nil {
			return
		}
		rs := fuzzRepoSync()
		for _, is := range issues {
			if is == nil {
				continue
			}
			it := rs.item(is)
			if it.Key != rs.itemKey(is.GetNumber()) || it.Source != model.SourceGitHub || it.Target != "fuzz" {
				t.Errorf("item %q source %q target %q", it.Key, it.Source, it.Target)
			}
			for _, ts := range []time.Time{it.Created, it.Closed, it.Updated} {
				if !ts.IsZero() && ts.Location() != time.UTC {
					t.Errorf("item %s: time %v not UTC", it.Key, ts)
				}
			}
			for _, l := range append(append([]string(nil), it.Labels...), it.Assignees...) {
				if l == "" {
					t.Errorf("item %s: empty label or assignee kept", it.Key)
				}
			}
			if utf8.ValidString(is.GetTitle()) && it.Title != is.GetTitle() {
				t.Errorf("item %s: title changed", it.Key)
			}
		}
	})
}
