package exposition

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	"github.com/crossteam/crossteam/engine"
)

// handlerWorld is the scenario's snapshot plus a live counter that changes
// between scrapes.
func handlerWorld(t testing.TB) (*SnapshotCollector, *prometheus.Registry, prometheus.Counter) {
	cfg, ds, asOf := scenario(t)
	snap := NewSnapshotCollector()
	snap.Set(engine.Compute(ds, cfg, asOf), 1500*time.Millisecond)
	live := prometheus.NewPedanticRegistry()
	scrapes := prometheus.NewCounter(prometheus.CounterOpts{Name: "crossteam_test_live_total", Help: "A live counter."})
	live.MustRegister(scrapes, NewHealth())
	return snap, live, scrapes
}

func scrape(t *testing.T, h http.Handler, accept, encoding, query string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics"+query, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// gunzipOneMember decodes body as exactly one gzip member, checking its
// CRC-32 and length (compress/gzip verifies both at the member's end).
func gunzipOneMember(t *testing.T, body []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	if rest, _ := io.ReadAll(zr); len(rest) != 0 {
		t.Fatalf("gzip body: %d bytes after the member", len(rest))
	}
	return plain
}

// families parses an exposition in format into families sorted by name.
func families(t *testing.T, format expfmt.Format, b []byte) []*dto.MetricFamily {
	t.Helper()
	var out []*dto.MetricFamily
	if format.FormatType() == expfmt.TypeOpenMetrics {
		// expfmt has no OpenMetrics parser; the text parser reads the same
		// families once the OpenMetrics-only lines are gone.
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "# EOF") || strings.HasPrefix(l, "# UNIT") {
				continue
			}
			lines = append(lines, l)
		}
		b = []byte(strings.Join(lines, "\n"))
		format = expfmt.NewFormat(expfmt.TypeTextPlain)
	}
	dec := expfmt.NewDecoder(bytes.NewReader(b), format)
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding %s: %v", format, err)
		}
		out = append(out, mf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

// TestHandlerMatchesPromhttp: for every format and both encodings, the
// handler serves the same families as promhttp over one registry holding
// the snapshot and the live collectors, and the live values are current.
func TestHandlerMatchesPromhttp(t *testing.T) {
	snap, live, scrapes := handlerWorld(t)
	h := NewHandler(snap, live, HandlerOpts{})
	all := prometheus.NewPedanticRegistry()
	all.MustRegister(snap)
	ref := promhttp.HandlerFor(prometheus.Gatherers{all, live}, promhttp.HandlerOpts{EnableOpenMetrics: true})
	accepts := map[string]string{
		"text":        "text/plain;version=0.0.4",
		"openmetrics": "application/openmetrics-text;version=1.0.0",
		"protobuf":    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
		"prometheus3": "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
		"none":        "",
	}
	for name, accept := range accepts {
		for _, enc := range []string{"", "gzip", "deflate, gzip;q=0.5"} {
			t.Run(name+"/"+enc, func(t *testing.T) {
				for round := 0; round < 2; round++ { // the second serves the cached bytes
					scrapes.Add(3)
					resp, body := scrape(t, h, accept, enc, "")
					refResp, refBody := scrape(t, ref, accept, enc, "")
					if resp.StatusCode != 200 {
						t.Fatalf("status %d: %s", resp.StatusCode, body)
					}
					ct := resp.Header.Get("Content-Type")
					if ct != refResp.Header.Get("Content-Type") {
						t.Fatalf("Content-Type %q, promhttp %q", ct, refResp.Header.Get("Content-Type"))
					}
					if got, want := resp.Header.Get("Content-Encoding"), refResp.Header.Get("Content-Encoding"); got != want {
						t.Fatalf("Content-Encoding %q, promhttp %q", got, want)
					}
					if resp.Header.Get("Content-Encoding") == "gzip" {
						body = gunzipOneMember(t, body)
						refBody = gunzipOneMember(t, refBody)
					}
					format := expfmt.Format(ct)
					if format.FormatType() == expfmt.TypeOpenMetrics {
						if !bytes.HasSuffix(body, []byte("\n# EOF\n")) || bytes.Count(body, []byte("# EOF")) != 1 {
							t.Fatalf("OpenMetrics body does not end with exactly one # EOF: ...%q", body[max(0, len(body)-80):])
						}
					}
					got, want := families(t, format, body), families(t, format, refBody)
					if len(got) != len(want) {
						t.Fatalf("%d families, promhttp %d", len(got), len(want))
					}
					for i := range got {
						if !proto.Equal(got[i], want[i]) {
							t.Fatalf("family %s differs:\n got %v\nwant %v", got[i].GetName(), got[i], want[i])
						}
					}
				}
			})
		}
	}
}

// TestHandlerGzipWithSystemGzip decodes a gzip scrape with the system's
// gzip, which checks the member's CRC and length independently of Go.
func TestHandlerGzipWithSystemGzip(t *testing.T) {
	path, err := exec.LookPath("gzip")
	if err != nil {
		t.Skip("no gzip on PATH")
	}
	snap, live, _ := handlerWorld(t)
	h := NewHandler(snap, live, HandlerOpts{})
	_, plain := scrape(t, h, "", "", "")
	_, z := scrape(t, h, "", "gzip", "")
	cmd := exec.Command(path, "-dc")
	cmd.Stdin = bytes.NewReader(z)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gzip -dc: %v", err)
	}
	// The live health gauges may differ by a timestamp between the two
	// scrapes; compare the snapshot's part, which comes first.
	cut := bytes.Index(plain, []byte("# HELP crossteam_test_live_total"))
	if cut < 0 || !bytes.HasPrefix(out, plain[:cut]) {
		t.Fatalf("gzip -dc output does not start with the plain scrape's snapshot part")
	}
}

// TestHandlerNewSnapshot: publishing a snapshot replaces the cached bytes.
func TestHandlerNewSnapshot(t *testing.T) {
	cfg, ds, asOf := scenario(t)
	snap, live, _ := handlerWorld(t)
	h := NewHandler(snap, live, HandlerOpts{})
	_, before := scrape(t, h, "", "gzip", "")
	snap.Set(engine.Compute(ds, cfg, asOf.Add(time.Hour)), time.Second)
	_, after := scrape(t, h, "", "gzip", "")
	b, a := string(gunzipOneMember(t, before)), string(gunzipOneMember(t, after))
	want := "crossteam_snapshot_timestamp_seconds 1.772586e+09"
	if !strings.Contains(a, want) || strings.Contains(b, want) {
		t.Errorf("after a new snapshot the scrape should show %q (only then)", want)
	}
}

// TestSetEncodesScrapedFormats: Set encodes a new snapshot, before it is
// published, in the formats (and the gzip) the previous one was scraped
// in lately, and in no other; a scrape then serves exactly what a
// collector holding only the new snapshot encodes.
func TestSetEncodesScrapedFormats(t *testing.T) {
	cfg, ds, asOf := scenario(t)
	snap, live, _ := handlerWorld(t)
	h := NewHandler(snap, live, HandlerOpts{})
	om := "application/openmetrics-text;version=1.0.0"
	text := "text/plain;version=0.0.4"
	pb := "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
	scrape(t, h, om, "gzip", "")
	scrape(t, h, text, "", "")
	scrape(t, h, pb, "gzip", "")
	format := func(accept string) expfmt.Format {
		return expfmt.NegotiateAccept(http.Header{"Accept": {accept}}, expfmt.DefaultOpenMetricsAcceptedFormats()...)
	}
	// The protobuf scrape was long ago: not encoded again.
	old := time.Now().Add(-keepEncoded - time.Minute).UnixNano()
	v, _ := snap.snap.Load().encoded.Load(format(pb))
	v.(*encoded).served.Store(old)
	v.(*encoded).zserved.Store(old)
	next := engine.Compute(ds, cfg, asOf.Add(time.Hour))
	snap.Set(next, time.Second)
	p := snap.snap.Load()
	kinds := map[string]string{}
	p.encoded.Range(func(k, v any) bool {
		e := v.(*encoded)
		kinds[string(k.(expfmt.Format))] = fmt.Sprintf("plain=%v gzip=%v", e.plain != nil, e.deflate != nil)
		return true
	})
	want := map[string]string{string(format(om)): "plain=true gzip=true", string(format(text)): "plain=true gzip=false"}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("encoded before publishing: %v, want %v", kinds, want)
	}
	fresh := NewSnapshotCollector()
	fresh.Set(next, time.Second)
	for _, f := range []expfmt.Format{format(om), format(text)} {
		ref, err := fresh.encode(fresh.snap.Load(), f, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(snap.in(p, f).plain, ref) {
			t.Errorf("%s: the pre-encoded snapshot differs from a fresh encoding", f)
		}
	}
	_, body := scrape(t, h, om, "gzip", "")
	if !strings.Contains(string(gunzipOneMember(t, body)), "crossteam_snapshot_timestamp_seconds 1.772586e+09") {
		t.Error("the scrape after Set does not serve the new snapshot")
	}
}

// TestHandlerNameFilter: name[] selects families from both parts.
func TestHandlerNameFilter(t *testing.T) {
	snap, live, _ := handlerWorld(t)
	h := NewHandler(snap, live, HandlerOpts{})
	_, body := scrape(t, h, "", "", "?name[]=crossteam_handoffs_total&name[]=crossteam_test_live_total")
	got := families(t, expfmt.NewFormat(expfmt.TypeTextPlain), body)
	var names []string
	for _, mf := range got {
		names = append(names, mf.GetName())
	}
	if strings.Join(names, ",") != "crossteam_handoffs_total,crossteam_test_live_total" {
		t.Errorf("families %v", names)
	}
}

// TestHandlerBeforeFirstSnapshot serves the live families alone.
func TestHandlerBeforeFirstSnapshot(t *testing.T) {
	_, live, _ := handlerWorld(t)
	h := NewHandler(NewSnapshotCollector(), live, HandlerOpts{})
	resp, body := scrape(t, h, "", "gzip", "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	plain := gunzipOneMember(t, body)
	if bytes.Contains(plain, []byte("crossteam_handoffs_total")) || !bytes.Contains(plain, []byte("crossteam_test_live_total 0")) {
		t.Errorf("before the first snapshot: %s", plain)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, c := range []struct {
		h    string
		want bool
	}{
		{"", false}, {"gzip", true}, {"GZIP", true}, {"deflate, gzip;q=1.0, *;q=0.5", true},
		{"gzip;q=0", false}, {"*", true}, {"*;q=0", false}, {"br, zstd", false}, {"x-gzip", true},
		{"identity;q=1, gzip; q=0.001", true},
	} {
		if got := acceptsGzip(c.h); got != c.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", c.h, got, c.want)
		}
	}
}

// BenchmarkScrape compares one scrape of a large snapshot through
// promhttp (gather and encode everything) and through the handler
// (snapshot bytes encoded once).
func BenchmarkScrape(b *testing.B) {
	snap := NewSnapshotCollector()
	snap.Set(largeSnapshot(), time.Second)
	live := prometheus.NewRegistry()
	live.MustRegister(NewHealth(), prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	all := prometheus.NewRegistry()
	all.MustRegister(snap)
	for name, h := range map[string]http.Handler{
		"promhttp": promhttp.HandlerFor(prometheus.Gatherers{all, live}, promhttp.HandlerOpts{}),
		"encoded":  NewHandler(snap, live, HandlerOpts{}),
	} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}

// largeSnapshot is 20 teams with every directed pair handed off in both
// sources (the large harness's shape).
func largeSnapshot() *engine.Snapshot {
	s := &engine.Snapshot{AsOf: time.Unix(1.77e9, 0), ItemCycle: map[engine.ItemCycleKey]*engine.Histogram{}}
	var teams []string
	for i := 0; i < 20; i++ {
		teams = append(teams, string(rune('a'+i))+"-team")
	}
	for _, src := range []string{"github", "jira"} {
		for _, f := range teams {
			for _, to := range teams {
				if f == to {
					continue
				}
				p := engine.PairStats{PairKey: engine.PairKey{Source: src, From: f, To: to}, Handoffs: 40, OpenWaiting: 2}
				for k := 0; k < 40; k++ {
					p.Pickup.Observe(time.Duration(k) * time.Hour)
					p.Cycle.Observe(time.Duration(k) * 3 * time.Hour)
				}
				s.Pairs = append(s.Pairs, p)
			}
		}
	}
	return s
}
