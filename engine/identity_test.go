package engine

import (
	"reflect"
	"strings"
	"testing"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
)

// TestMembersMatchedByStoredIdentities: events carry the Jira account id;
// a member configured by email or Data Center key is matched through the
// stored identity facts, so adding one after a sync re-derives history.
// The item moves into backend's waiting status at 1h (design -> backend by
// status) and acc-b9 comments at 3h: a pickup only when acc-b9 is known to
// be backend's.
func TestMembersMatchedByStoredIdentities(t *testing.T) {
	J := model.SourceJira
	items := []model.Item{item(J, "P-1", "alice", "0s")}
	events := jira("P-1").
		status("0s", "alice", "", "Design Review").
		status("1h", "alice", "Design Review", "Ready for Dev").
		add("3h", "acc-b9", CM, "")
	ids := []model.Identity{
		{Source: J, Account: "acc-b9", Kind: model.IdentityEmail, Value: "Bea@Example.com"},
		{Source: J, Account: "acc-b9", Kind: model.IdentityKey, Value: "JIRAUSER42"},
	}
	cases := []struct {
		name, member string // added to backend's members
		ids          []model.Identity
		want         string
	}{
		{"unknown account: no pickup", "", ids, "P-1 owner design->backend start=1h pickup=- done=-"},
		{"member added by email (case-insensitive)", "{email: bea@example.com}", ids, "P-1 owner design->backend start=1h pickup=3h done=-"},
		{"member added by Data Center key", "{jira: JIRAUSER42}", ids, "P-1 owner design->backend start=1h pickup=3h done=-"},
		{"email configured but no identity fact stored", "{email: bea@example.com}", nil, "P-1 owner design->backend start=1h pickup=- done=-"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			teams := testTeams
			if c.member != "" {
				teams = strings.Replace(teams, "members: [bob, bill]", "members: [bob, bill, "+c.member+"]", 1)
			}
			cfg, err := config.Parse([]byte(teams))
			if err != nil {
				t.Fatal(err)
			}
			ds := dataset(items, events)
			ds.Identities = c.ids
			snap := New(cfg, nil, Options{KeepHandoffs: true}).Compute(ds, at("5h"))
			var got []string
			for _, h := range snap.Handoffs {
				got = append(got, fmtHandoff(h))
			}
			if want := []string{c.want}; !reflect.DeepEqual(got, want) {
				t.Errorf("handoffs = %q, want %q", got, want)
			}
		})
	}
}
