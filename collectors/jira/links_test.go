package jira

import (
	"context"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
	"github.com/crossteam/crossteam/model"
)

const recordsYAML = teamsYAML + `
  - name: revisit
    kind: decision
    jira_jql: "labels = adr"
`

// recordEventsOf keeps the dependency and date events, as "kind value
// from->to @offset".
func recordEventsOf(ds *model.Dataset, key string) []string {
	var out []string
	for _, ev := range eventsOf(ds, key) {
		switch ev.Kind {
		case model.EventBlockedByAdded, model.EventBlockedByRemoved, model.EventDateSet:
			out = append(out, string(ev.Kind)+" "+ev.Value+" "+ev.From+"->"+ev.To+" @"+ev.At.Sub(base).String())
		}
	}
	sort.Strings(out)
	return out
}

// TestLinksAndDates: "is blocked by" links of the configured type and the
// due date become events at the instants Jira recorded them, on Cloud and
// Data Center alike; a link of another type does not; links and dates
// the issue had before its history are stored as of its creation.
func TestLinksAndDates(t *testing.T) {
	for _, dep := range []string{fakejira.Cloud, fakejira.DataCenter} {
		t.Run(dep, func(t *testing.T) {
			e := newEnv(t, dep, recordsYAML)
			e.must(e.site.CreateIssue(fakejira.Issue{Project: "A", Summary: "api", Reporter: "acc-bob", Created: at(0)}))
			e.must(e.site.CreateIssue(fakejira.Issue{Project: "B", Summary: "web", Reporter: "acc-alice", Created: at(0),
				DueDate: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)}))
			e.must(e.site.CreateIssue(fakejira.Issue{Project: "A", Summary: "other", Reporter: "acc-bob", Created: at(0)}))
			// A-1 blocks B-1 from 2h to 5h, again from 8h; A-2 relates to B-1.
			e.must(e.site.Link("Blocks", "A-1", "B-1", "acc-alice", at(2*time.Hour)))
			e.must(nil, e.site.Unlink("Blocks", "A-1", "B-1", "acc-alice", at(5*time.Hour)))
			e.must(e.site.Link("Blocks", "A-1", "B-1", "acc-alice", at(8*time.Hour)))
			e.must(e.site.Link("Relates", "A-2", "B-1", "acc-alice", at(3*time.Hour)))
			e.must(e.site.SetDueDate("B-1", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), "acc-alice", at(4*time.Hour)))
			var missing []string
			called := false
			c := e.collector(Options{OnLinkTypes: func(m []string) { missing, called = m, true }})
			if err := c.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !called || len(missing) != 0 {
				t.Errorf("OnLinkTypes called %v with %v, want called with none missing", called, missing)
			}
			ds := e.load()
			want := []string{
				"blocked_by_added A-1 -> @2h0m0s",
				"blocked_by_added A-1 -> @8h0m0s",
				"blocked_by_removed A-1 -> @5h0m0s",
				"date_set duedate ->2024-05-01 @0s",
				"date_set duedate 2024-05-01->2024-06-01 @4h0m0s",
			}
			if got := recordEventsOf(ds, "B-1"); !reflect.DeepEqual(got, want) {
				t.Errorf("B-1 record events:\n got  %q\n want %q", got, want)
			}
			// The blocking side and the unrelated issue get none.
			if got := recordEventsOf(ds, "A-1"); len(got) != 0 {
				t.Errorf("A-1 record events = %q, want none", got)
			}
		})
	}
}

// TestLinkPredatingHistory: a current link without a changelog entry (the
// history horizon cut it) counts from the issue's creation.
func TestLinkPredatingHistory(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, recordsYAML)
	e.must(e.site.CreateIssue(fakejira.Issue{Project: "A", Summary: "api", Reporter: "acc-bob", Created: at(0)}))
	e.must(e.site.CreateIssue(fakejira.Issue{Project: "B", Summary: "web", Reporter: "acc-alice", Created: at(time.Hour)}))
	e.must(e.site.Link("Blocks", "A-1", "B-1", "acc-alice", at(2*time.Hour)))
	// Drop the Link items from every changelog answer.
	e.rewrite = func(r *http.Request, body []byte) []byte {
		b := strings.ReplaceAll(string(body), `"fieldId":"issuelinks"`, `"fieldId":"ignored"`)
		return []byte(strings.ReplaceAll(b, `"field":"Link"`, `"field":"Ignored"`))
	}
	if err := e.collector(Options{}).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := recordEventsOf(e.load(), "B-1"), []string{"blocked_by_added A-1 -> @1h0m0s"}; !reflect.DeepEqual(got, want) {
		t.Errorf("B-1 = %q, want %q", got, want)
	}
}

// TestMissingLinkTypeKeepsSyncing: a configured link type the site lacks
// is reported by name; the sync succeeds and stores everything else.
func TestMissingLinkTypeKeepsSyncing(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, recordsYAML+`
dependencies:
  jira_link_types: [Blocks, Depends]
`)
	e.site.SetLinkTypes([]fakejira.LinkType{{ID: "1", Name: "Relates", Inward: "relates to", Outward: "relates to"}, {ID: "2", Name: "Blocks", Inward: "is blocked by", Outward: "blocks"}})
	e.must(e.site.CreateIssue(fakejira.Issue{Project: "A", Summary: "api", Reporter: "acc-bob", Created: at(0)}))
	var missing []string
	c := e.collector(Options{OnLinkTypes: func(m []string) { missing = m }})
	if err := c.Sync(context.Background()); err != nil {
		t.Fatalf("sync with a missing link type: %v, want success", err)
	}
	if want := []string{"Depends"}; !reflect.DeepEqual(missing, want) || !reflect.DeepEqual(c.MissingLinkTypes(), want) {
		t.Errorf("missing = %v / %v, want %v", missing, c.MissingLinkTypes(), want)
	}
	if n := len(e.load().Items); n != 1 {
		t.Errorf("%d items stored, want 1", n)
	}
}

// TestDateFieldNotADate: a jira_date_field holding something else than a
// date keeps the issue; its value is stored for the engine to count as an
// invalid date.
func TestDateFieldNotADate(t *testing.T) {
	e := newEnv(t, fakejira.Cloud, teamsYAML+`
  - name: actions
    kind: postmortem
    jira_jql: "labels = pm"
    jira_date_field: customfield_10100
`)
	e.must(e.site.CreateIssue(fakejira.Issue{Project: "A", Summary: "api", Reporter: "acc-bob", Created: at(0)}))
	e.rewrite = func(r *http.Request, body []byte) []byte {
		return []byte(strings.ReplaceAll(string(body), `"summary":"api"`, `"customfield_10100":{"value":"soon"},"summary":"api"`))
	}
	if err := e.collector(Options{}).Sync(context.Background()); err != nil {
		t.Fatalf("sync: %v, want the issue kept", err)
	}
	if got, want := recordEventsOf(e.load(), "A-1"), []string{`date_set customfield_10100 ->{"value":"soon"} @0s`}; !reflect.DeepEqual(got, want) {
		t.Errorf("A-1 = %q, want %q", got, want)
	}
}
