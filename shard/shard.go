// Package shard assigns GitHub repositories and Jira projects to exporter
// shards, for organisations too big for one process or one API token.
//
// Each of n exporters runs with --shard=i/n and syncs only the repositories
// and projects whose stable hash falls in its slot; every item lives in
// exactly one shard, so per-pair counters, histograms and gauges sum across
// shards, and the dashboards aggregate the rest (see the README's sharding
// section). The hash is FNV-1a over the lower-cased "owner/name" or
// "site-url project-key", so the assignment never depends on list order,
// configuration layout or which process starts first.
package shard

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Spec is this exporter's shard: Index in [0, Count). The zero value (and
// Count 1) owns everything.
type Spec struct {
	Index, Count int
}

// Parse reads "i/n" (for example "0/3"); "" is the single, unsharded
// instance.
func Parse(s string) (Spec, error) {
	if s == "" {
		return Spec{}, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Spec{}, fmt.Errorf("shard %q: want i/n with 0 <= i < n, e.g. 0/3", s)
	}
	return Spec{Index: i, Count: n}, nil
}

// Sharded reports whether the data is split over more than one exporter.
func (s Spec) Sharded() bool { return s.Count > 1 }

// String is "i/n", or "" for the single instance.
func (s Spec) String() string {
	if !s.Sharded() {
		return ""
	}
	return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count)
}

// Of is the shard in [0, n) that owns key.
func Of(key string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(key)))
	return int(h.Sum64() % uint64(n))
}

// Owns reports whether this shard syncs key: a GitHub repository
// "owner/name", or JiraKey(site, project).
func (s Spec) Owns(key string) bool {
	return !s.Sharded() || Of(key, s.Count) == s.Index
}

// JiraKey is the shard key of a Jira project on a site.
func JiraKey(siteURL, project string) string {
	return strings.TrimRight(siteURL, "/") + " " + project
}
