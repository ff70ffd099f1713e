package sim_test

import (
	"testing"

	"github.com/crossteam/crossteam/sim"
)

// BenchmarkGenerateLarge measures generating the benchmark world (20
// repositories, 100,000 issues and pull requests with their events,
// comments and reviews; a Jira site with 50,000 issues and their
// changelogs) into the fakes, with its ground truth.
func BenchmarkGenerateLarge(b *testing.B) {
	p := sim.Large()
	for b.Loop() {
		w, err := sim.Generate(p)
		if err != nil {
			b.Fatal(err)
		}
		c := w.Counts()
		b.ReportMetric(float64(c.Items), "items")
		b.ReportMetric(float64(c.Events), "events")
		n := 0
		for _, r := range w.Repos {
			n += len(w.Org.Events(r))
		}
		b.ReportMetric(float64(n), "issue_events")
		h := 0
		for _, is := range w.JiraSite().Issues() {
			h += len(w.JiraSite().Histories(is.Key))
		}
		b.ReportMetric(float64(h), "jira_histories")
	}
}

// BenchmarkGenerateSmall is the demo's world.
func BenchmarkGenerateSmall(b *testing.B) {
	for b.Loop() {
		if _, err := sim.Generate(sim.Small()); err != nil {
			b.Fatal(err)
		}
	}
}
