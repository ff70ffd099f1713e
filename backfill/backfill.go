// Package backfill writes the history of crossteam's metrics as OpenMetrics,
// for `promtool tsdb create-blocks-from openmetrics`.
//
// Metrics are a pure function of (stored events, config, asOf), so the
// values the exporter would have served at any past instant can be
// computed from the store: leaders get months of pickup and cycle time
// trends on the day the exporter is installed, and a fresh Prometheus has
// the counter history that increase() over 7d/28d windows needs. Each
// instant is one engine snapshot exposed by the same collector as /metrics,
// stamped with the instant and the job/instance labels of the live scrape,
// so the live series continue the backfilled ones.
package backfill

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/model"
)

// Options say which instants to write and how to label them.
type Options struct {
	From, To time.Time // first instant, and the end (exclusive)
	Step     time.Duration
	// Labels are added to every sample: job and instance of the live
	// scrape, so that the live series continue the backfilled ones.
	Labels map[string]string
	// Engine options (Sharded for a shard's store).
	Engine engine.Options
}

// Stats describe what was written.
type Stats struct {
	Instants int // snapshots computed
	Samples  int // samples written
	// Last is the last value of every counter and histogram series (a
	// histogram's buckets and count), keyed by name and labels without
	// Options.Labels: what the live exporter must continue from.
	Last map[string]float64
}

// Write computes a snapshot at From, From+Step, ... before To and writes
// them to w as one OpenMetrics exposition (families merged, ending in
// # EOF). Counters and histograms are checked to only grow from one
// instant to the next; a decrease is an error naming the series.
func Write(w io.Writer, cfg *config.Config, ds *model.Dataset, o Options) (Stats, error) {
	var st Stats
	if o.Step <= 0 {
		return st, errors.New("backfill: step must be positive")
	}
	if !o.From.Before(o.To) {
		return st, fmt.Errorf("backfill: from %s is not before to %s", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	eng := engine.New(cfg, ds.Members, o.Engine)
	var extra []*dto.LabelPair
	for k, v := range o.Labels {
		extra = append(extra, &dto.LabelPair{Name: ptr(k), Value: ptr(v)})
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].GetName() < extra[j].GetName() })
	families := map[string]*dto.MetricFamily{}
	last := map[string]float64{}
	st.Last = last
	for asOf := o.From; asOf.Before(o.To); asOf = asOf.Add(o.Step) {
		c := exposition.NewSnapshotCollector()
		c.Set(eng.Compute(ds, asOf), 0)
		reg := prometheus.NewRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		if err != nil {
			return st, fmt.Errorf("backfill: snapshot at %s: %w", asOf.Format(time.RFC3339), err)
		}
		for _, mf := range mfs {
			for k, v := range cumulative(mf) {
				if prev, ok := last[k]; ok && v < prev {
					return st, fmt.Errorf("backfill: %s went down from %g to %g at %s", k, prev, v, asOf.Format(time.RFC3339))
				}
				last[k] = v
			}
			acc := families[mf.GetName()]
			if acc == nil {
				acc = &dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type}
				families[mf.GetName()] = acc
			}
			for _, m := range mf.GetMetric() {
				m.Label = append(m.Label, extra...)
				m.TimestampMs = ptr(asOf.UnixMilli())
				acc.Metric = append(acc.Metric, m)
				st.Samples++
			}
		}
		st.Instants++
	}
	bw := bufio.NewWriter(w)
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := expfmt.MetricFamilyToOpenMetrics(bw, families[n]); err != nil {
			return st, fmt.Errorf("backfill: %s: %w", n, err)
		}
	}
	if _, err := bw.WriteString("# EOF\n"); err != nil {
		return st, err
	}
	return st, bw.Flush()
}

// Cumulative lists the cumulative series of a gathered family under the
// keys of Stats.Last, so a caller can compare live values with them.
func Cumulative(mf *dto.MetricFamily) map[string]float64 { return cumulative(mf) }

// cumulative lists a counter's or histogram's cumulative values by series
// (a histogram: each bucket and the count); nothing for other types.
func cumulative(mf *dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, m := range mf.GetMetric() {
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			out[seriesKey(mf.GetName(), m.GetLabel())] = m.GetCounter().GetValue()
		case dto.MetricType_HISTOGRAM:
			h := m.GetHistogram()
			out[seriesKey(mf.GetName()+"_count", m.GetLabel())] = float64(h.GetSampleCount())
			for _, b := range h.GetBucket() {
				out[seriesKey(mf.GetName()+"_bucket", m.GetLabel(), fmt.Sprintf("le=%q", fmt.Sprint(b.GetUpperBound())))] = float64(b.GetCumulativeCount())
			}
		}
	}
	return out
}

// seriesKey names a series by metric name and sorted labels.
func seriesKey(name string, labels []*dto.LabelPair, extra ...string) string {
	parts := append([]string(nil), extra...)
	for _, l := range labels {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

func ptr[T any](v T) *T { return &v }
