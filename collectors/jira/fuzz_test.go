package jira

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/store"
	"github.com/crossteam/crossteam/store/storetest"
)

// fuzzCollector is a Cloud collector with a team field, never synced: the
// fuzz targets call its decoding and mapping directly.
func fuzzCollector(f *testing.F) *Collector {
	st, err := store.Open(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	c, err := New(Options{Config: &config.Config{}, Store: st, Target: &config.JiraSource{Name: "fuzz",
		URL: "https://acme.atlassian.net", Email: "bot@example.com", Token: "x", Projects: []string{"A"}}})
	if err != nil {
		f.Fatal(err)
	}
	c.teamFieldID = "customfield_10001"
	return c
}

func jiraSeeds(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("..", "..", "fakeapi", "jira", "testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkEvents fails t for an event that names another issue or source.
func checkEvents(t *testing.T, page store.Page) {
	t.Helper()
	keys := map[string]bool{}
	for _, it := range page.Items {
		keys[it.Key] = true
	}
	for _, e := range page.Events {
		if !keys[e.ItemKey] || e.Source != model.SourceJira {
			t.Errorf("event %s names item %q (source %q), not an issue of the page", e.ID, e.ItemKey, e.Source)
		}
	}
}

// FuzzSearchPage decodes a search page (Cloud search/jql or Data Center
// search, with embedded changelogs) and maps it into one store page as a
// sync does (mapBatch: items, milestones, events, identities): no input may
// panic, events name the page's issues, and the page written to a real
// store (ApplyPage) and loaded back reads back equal (or the store refuses
// it as invalid and stores none of it).
func FuzzSearchPage(f *testing.F) {
	c := fuzzCollector(f)
	rt := storetest.Open(f)
	jiraSeeds(f, "atlassian-openapi-examples/search-jql.GET.200.json", "atlassian-openapi-examples/search-legacy-deprecated.GET.200.json",
		"jira-cli/search.json", "go-jira-mocks/issues_in_sprint.json")
	f.Add([]byte(`{"issues":[{"id":"1","key":"A-1","fields":{"created":"2026-03-02T09:00:00.123+0000","updated":"2026-03-02T10:00:00.456+0000","summary":"x\n\"y\"","status":{"id":"3","name":"In \u2603"},"customfield_10001":[{"title":"QA"}]},"changelog":{"total":41,"histories":[{"id":"7","created":1772442000789,"items":[{"field":"status","fieldId":"status","fromString":null,"toString":"Done"}]}]}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var page struct {
			Issues []rawIssue `json:"issues"`
		}
		if json.Unmarshal(b, &page) != nil {
			return
		}
		fe := &fetched{hist: map[string][]history{}}
		for i := range page.Issues {
			p, err := c.decodeIssue(&page.Issues[i])
			if err != nil {
				if err.Error() == "" {
					t.Error("empty error")
				}
				continue
			}
			fe.issues = append(fe.issues, p)
			if p.changelog != nil {
				fe.hist[p.id] = p.changelog.Histories
			}
		}
		sp, err := c.mapBatch(fe)
		if err != nil {
			return
		}
		for i, it := range sp.Items {
			if it.Key != fe.issues[i].key || it.Source != model.SourceJira {
				t.Errorf("item %q from issue %q", it.Key, fe.issues[i].key)
			}
		}
		checkEvents(t, sp)
		rt.Check(t, sp)
	})
}

// FuzzBulkfetchPage decodes a changelog bulkfetch page (created as an ISO
// string or epoch number), maps its histories onto one issue as a sync
// does (mapBatch), and writes the page to a real store and reads it back.
func FuzzBulkfetchPage(f *testing.F) {
	c := fuzzCollector(f)
	rt := storetest.Open(f)
	jiraSeeds(f, "atlassian-openapi-examples/changelog-bulkfetch.POST.200.json", "atlassian-openapi-examples/issue-changelog.GET.200.json")
	f.Add([]byte(`{"issueChangeLogs":[{"issueId":"1","changeHistories":[{"id":"9","created":"2026-03-02T09:00:00.000+0100","author":{"accountId":""},"items":[{"field":"assignee","fieldId":"assignee","from":null,"to":"acc-1"},{"field":"Fix Version","fieldId":"fixVersions","to":"10","toString":"2.0"}]}]}]}`))
	base := &rawIssue{ID: "1", Key: "A-1", Fields: map[string]json.RawMessage{
		"created": json.RawMessage(`"2026-03-02T09:00:00.000+0000"`), "updated": json.RawMessage(`"2026-03-03T09:00:00.000+0000"`)}}
	f.Fuzz(func(t *testing.T, b []byte) {
		var page bulkPage
		if json.Unmarshal(b, &page) != nil {
			return
		}
		p, err := c.decodeIssue(base)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range page.IssueChangeLogs {
			sp, err := c.mapBatch(&fetched{issues: []*parsed{p}, hist: map[string][]history{p.id: l.ChangeHistories}})
			if err != nil {
				continue
			}
			checkEvents(t, sp)
			rt.Check(t, sp)
		}
	})
}
