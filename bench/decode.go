package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	ghcollector "github.com/crossteam/crossteam/collectors/github"
	jiracollector "github.com/crossteam/crossteam/collectors/jira"
)

// recorder wraps a fake API handler: it counts the response bytes it
// serves and keeps a sample of the 200 responses' bodies (every stride-th,
// within a byte budget) for the raw decode reference.
type recorder struct {
	next   http.Handler
	stride int
	budget int

	mu      sync.Mutex
	on      bool
	n       int
	bytes   int64
	kept    int
	samples []sample
	// bodies, when on, collects the request bodies (JQL) for the report.
	bodiesOn bool
	bodies   []string
}

// captureBodies starts (or stops) keeping request bodies; it returns those
// kept so far.
func (r *recorder) captureBodies(on bool) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.bodies
	r.bodiesOn, r.bodies = on, nil
	return out
}

// sample is one recorded response body and what to decode it into.
type sample struct {
	kind string
	body []byte
}

func newRecorder(next http.Handler, stride, budget int) *recorder {
	return &recorder{next: next, stride: max(1, stride), budget: budget}
}

// start clears the counters and starts sampling; stop ends sampling.
func (r *recorder) start() {
	r.mu.Lock()
	r.on, r.n, r.bytes, r.kept, r.samples = true, 0, 0, 0, nil
	r.mu.Unlock()
}

func (r *recorder) stop() (bytes int64, samples []sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.bytes, r.samples
}

// resetBytes zeroes the byte count (between phases) without sampling.
func (r *recorder) resetBytes() {
	r.mu.Lock()
	r.bytes = 0
	r.mu.Unlock()
}

func (r *recorder) total() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bytes
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.n++
	keep := r.on && r.n%r.stride == 0 && r.kept < r.budget
	bodies := r.bodiesOn
	r.mu.Unlock()
	if bodies && req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		r.mu.Lock()
		if len(b) > 240 {
			b = append(b[:240:240], "..."...)
		}
		r.bodies = append(r.bodies, req.Method+" "+req.URL.Path+" "+string(b))
		r.mu.Unlock()
	}
	cw := &countingWriter{ResponseWriter: w, keep: keep}
	r.next.ServeHTTP(cw, req)
	r.mu.Lock()
	r.bytes += cw.n
	if keep && cw.status == http.StatusOK {
		if kind := pageKind(req.URL.Path); kind != "" {
			r.samples = append(r.samples, sample{kind: kind, body: cw.buf.Bytes()})
			r.kept += cw.buf.Len()
		}
	}
	r.mu.Unlock()
}

type countingWriter struct {
	http.ResponseWriter
	keep   bool
	status int
	n      int64
	buf    bytes.Buffer
}

func (w *countingWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += int64(len(b))
	if w.keep {
		w.buf.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes flushes through (the fakes do not stream, but a wrapper must
// not hide the interface).
func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// pageKind names the payload of a list endpoint the collectors page
// through; "" for the rest (metadata, rate limit, repos, teams).
func pageKind(path string) string {
	switch {
	case strings.HasSuffix(path, "/issues/events") || strings.HasSuffix(path, "/events"):
		return "github-events"
	case strings.HasSuffix(path, "/issues"):
		return "github-issues"
	case strings.HasSuffix(path, "/issues/comments"):
		return "github-comments"
	case strings.HasSuffix(path, "/milestones"):
		return "github-milestones"
	case strings.HasSuffix(path, "/reviews"):
		return "github-reviews"
	case strings.HasSuffix(path, "/graphql"):
		return "github-graphql"
	case strings.HasSuffix(path, "/search/jql"):
		return "jira-search"
	case strings.HasSuffix(path, "/changelog/bulkfetch"):
		return "jira-bulkfetch"
	}
	return ""
}

// DecodeResult is the raw decode reference: the sampled pages decoded with
// encoding/json into the types the collectors decode them into (each
// collector's DecodePage).
type DecodeResult struct {
	Pages    int
	Bytes    int64
	Records  int // array elements decoded: events, issues, comments, reviews, histories
	Duration time.Duration
}

// BytesPerSec is the decode throughput.
func (d DecodeResult) BytesPerSec() float64 {
	if d.Duration <= 0 {
		return 0
	}
	return float64(d.Bytes) / d.Duration.Seconds()
}

// decodeReference decodes every sample, rounds times over until at least
// minTime has passed (short samples are too quick to time once), and
// returns the throughput of one round.
func decodeReference(samples []sample, minTime time.Duration) (DecodeResult, error) {
	var res DecodeResult
	var total time.Duration
	rounds := 0
	for total < minTime || rounds == 0 {
		r := DecodeResult{}
		start := time.Now()
		for _, s := range samples {
			n, err := decodeOne(s)
			if err != nil {
				return res, err
			}
			r.Pages++
			r.Bytes += int64(len(s.body))
			r.Records += n
		}
		total += time.Since(start)
		rounds++
		res = r
		if len(samples) == 0 {
			break
		}
	}
	res.Duration = total / time.Duration(rounds)
	return res, nil
}

func decodeOne(s sample) (int, error) {
	if kind, ok := strings.CutPrefix(s.kind, "github-"); ok {
		return ghcollector.DecodePage(kind, s.body)
	}
	if kind, ok := strings.CutPrefix(s.kind, "jira-"); ok {
		return jiracollector.DecodePage(kind, s.body)
	}
	return 0, fmt.Errorf("decode reference: unknown page kind %q", s.kind)
}
