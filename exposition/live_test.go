package exposition

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestSequentialGathersTheSame: the live collectors registered through
// Sequential expose what they expose registered one by one, and a
// duplicate among them is still an error (at gathering: the registry sees
// one collector).
func TestSequentialGathersTheSame(t *testing.T) {
	a := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "a_gauge", Help: "A."}, []string{"l"})
	a.WithLabelValues("x").Set(1)
	a.WithLabelValues("y").Set(2)
	b := prometheus.NewCounter(prometheus.CounterOpts{Name: "b_total", Help: "B."})
	b.Add(3)
	cs := []prometheus.Collector{a, b, BuildInfo()}
	one := prometheus.NewRegistry()
	one.MustRegister(cs...)
	seq := prometheus.NewRegistry()
	seq.MustRegister(Sequential(cs...))
	want, err := one.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got, err := seq.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) != 3 {
		t.Fatalf("gathered %d families through Sequential, %d one by one (want 3)", len(got), len(want))
	}
	for i := range want {
		if got[i].String() != want[i].String() {
			t.Errorf("family %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	if n := testutil.CollectAndCount(Sequential(cs...)); n != 4 {
		t.Errorf("CollectAndCount = %d, want 4 (two a_gauge series, b_total, build info)", n)
	}
	dup := prometheus.NewRegistry()
	dup.MustRegister(Sequential(prometheus.NewCounter(prometheus.CounterOpts{Name: "c_total", Help: "C."}),
		prometheus.NewCounter(prometheus.CounterOpts{Name: "c_total", Help: "C."})))
	if _, err := dup.Gather(); err == nil {
		t.Error("a metric collected twice inside Sequential gathered without an error")
	}
}
