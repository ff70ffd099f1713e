package github

import (
	"reflect"
	"testing"
	"time"

	"github.com/crossteam/crossteam/fakeapi"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	"github.com/crossteam/crossteam/model"
)

func depEvents(ds *model.Dataset, key string) []string {
	var out []string
	for _, ev := range ds.Events {
		if ev.ItemKey == key && (ev.Kind == model.EventBlockedByAdded || ev.Kind == model.EventBlockedByRemoved) {
			out = append(out, string(ev.Kind)+" "+ev.Value+" @"+ev.At.Sub(base).String())
		}
	}
	return out
}

// TestDependencies: a dependency added (across repositories) is stored at
// the updated_at of the sync that saw it, its removal likewise; an issue
// whose list did not change costs a 304; pull requests, and issues that
// neither have nor had a blocking issue, are never asked.
func TestDependencies(t *testing.T) {
	e := newEnv(t, fakegithub.GitHubOptions{})
	e.scenario()
	ck := checker(t)
	ck(nil, e.org.AddBlockedBy("acme/web", 1, "acme/api", 1, at(13*time.Hour)))
	e.clock.Set(at(14 * time.Hour))
	e.mustSync()
	if got, want := depEvents(e.load(), "acme/web#1"), []string{"blocked_by_added acme/api#1 @13h0m0s"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after adding: %q, want %q", got, want)
	}
	if n := e.gh.Count(func(r fakeapi.Request) bool {
		return r.Endpoint == fakegithub.EndpointIssueBlockedBy && (r.Path == "/repos/acme/web/issues/2/dependencies/blocked_by" || r.Path == "/repos/acme/web/issues/3/dependencies/blocked_by")
	}); n != 0 {
		t.Errorf("%d blocked-by requests for pull requests, want 0", n)
	}

	// Removed at 20h; the issue changes, the list is fetched again.
	ck(nil, e.org.RemoveBlockedBy("acme/web", 1, "acme/api", 1, at(20*time.Hour)))
	e.clock.Set(at(21 * time.Hour))
	e.gh.ResetRequests()
	e.mustSync()
	want := []string{"blocked_by_added acme/api#1 @13h0m0s", "blocked_by_removed acme/api#1 @20h0m0s"}
	if got := depEvents(e.load(), "acme/web#1"); !reflect.DeepEqual(got, want) {
		t.Errorf("after removing: %q, want %q", got, want)
	}
	// web#1 had one stored; api#1 was updated too but neither has nor had
	// a blocking issue (its issue_dependencies_summary says 0): not asked.
	if n := e.gh.Count(func(r fakeapi.Request) bool { return r.Endpoint == fakegithub.EndpointIssueBlockedBy }); n != 1 {
		t.Errorf("%d blocked-by requests after the change, want 1 (web#1)", n)
	}
	// Once the stored list and the summary are both empty, web#1 is not
	// asked again when it changes.
	_, err := e.org.AddEvent("acme/web", fakegithub.Event{Issue: 1, Type: fakegithub.EventLabeled, Actor: "bob", Label: "later", CreatedAt: at(22 * time.Hour)})
	ck(nil, err)
	e.clock.Set(at(23 * time.Hour))
	e.gh.ResetRequests()
	e.mustSync()
	if n := e.gh.Count(func(r fakeapi.Request) bool { return r.Endpoint == fakegithub.EndpointIssueBlockedBy }); n != 0 {
		t.Errorf("%d blocked-by requests for an issue without dependencies, want 0", n)
	}

	// Nothing changed: the issue lists answer 304 and no list is asked.
	e.gh.ResetRequests()
	e.mustSync()
	if n := e.gh.Count(func(r fakeapi.Request) bool { return r.Endpoint == fakegithub.EndpointIssueBlockedBy }); n != 0 {
		t.Errorf("%d blocked-by requests in an unchanged sync, want 0", n)
	}
}
