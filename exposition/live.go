package exposition

import "github.com/prometheus/client_golang/prometheus"

// Sequential is one collector made of several, collected one after the
// other. Register the live families through it: client_golang's
// Registry.Gather starts a goroutine per further registered collector and
// yields the processor (runtime.Gosched) after each, and a scrape that
// yields while the sync keeps both processors busy waits in the global run
// queue until a busy goroutine is preempted (about 10 ms) every time. In
// the scheduler-delay profile of a medium full sync with 50 scrapers,
// those yields were 3.45 s of the 15.2 s that all goroutines waited to
// run. Registered alone, a collector makes Gather start one goroutine and
// yield never.
func Sequential(cs ...prometheus.Collector) prometheus.Collector { return sequential(cs) }

type sequential []prometheus.Collector

func (s sequential) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range s {
		c.Describe(ch)
	}
}

func (s sequential) Collect(ch chan<- prometheus.Metric) {
	for _, c := range s {
		c.Collect(ch)
	}
}
