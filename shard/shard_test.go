package shard

import (
	"fmt"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Spec
		wantErr bool
	}{
		{"", Spec{}, false},
		{"0/1", Spec{0, 1}, false},
		{"2/3", Spec{2, 3}, false},
		{"3/3", Spec{}, true},
		{"-1/3", Spec{}, true},
		{"1/0", Spec{}, true},
		{"1", Spec{}, true},
		{"a/b", Spec{}, true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && got != tc.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestOwnsPartitions: every key is owned by exactly one of n shards, the
// assignment ignores case, and it spreads keys over all shards.
func TestOwnsPartitions(t *testing.T) {
	const n = 3
	per := make([]int, n)
	for k := 0; k < 300; k++ {
		key := fmt.Sprintf("acme/repo-%d", k)
		owners := 0
		for i := 0; i < n; i++ {
			if (Spec{i, n}).Owns(key) {
				owners++
				per[i]++
			}
		}
		if owners != 1 {
			t.Fatalf("%s owned by %d shards", key, owners)
		}
		if Of(key, n) != Of("ACME/Repo-"+fmt.Sprint(k), n) {
			t.Errorf("%s: assignment depends on case", key)
		}
	}
	for i, c := range per {
		if c < 70 || c > 130 {
			t.Errorf("shard %d owns %d of 300 keys; want about 100", i, c)
		}
	}
	if !(Spec{}).Owns("anything") || !(Spec{0, 1}).Owns("anything") {
		t.Error("the single instance must own everything")
	}
	// Pinned values: changing the hash would move every repository to
	// another shard on upgrade.
	if got := []int{Of("acme/web", 3), Of("acme/api", 3), Of(JiraKey("https://acme.atlassian.net/", "WEB"), 3)}; fmt.Sprint(got) != fmt.Sprint(pinned) {
		t.Errorf("assignments %v, pinned %v", got, pinned)
	}
}

// pinned was computed independently (FNV-1a 64 in Python) for the keys above.
var pinned = []int{1, 0, 2}
