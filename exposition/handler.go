package exposition

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// HandlerOpts configure the /metrics handler.
type HandlerOpts struct {
	// ErrorLog receives gathering and encoding errors (nil: none).
	ErrorLog *log.Logger
	// MaxRequestsInFlight answers 503 at once to scrapes beyond this many
	// concurrent ones instead of queueing them (0: no limit).
	MaxRequestsInFlight int
}

// NewHandler serves /metrics: the published snapshot's families, encoded
// once per snapshot and format, then the live families of live (health, Go,
// process, build info) encoded per scrape.
//
// Why not promhttp.HandlerFor: it gathers and encodes every family on every
// scrape. The snapshot is immutable between syncs and makes up nearly all of
// the output, so re-encoding (and gzipping) it per scrape was the whole cost
// of a scrape. This handler keeps promhttp's behaviour otherwise: content
// negotiation (text, OpenMetrics, protobuf), gzip, the name[] filter, the
// in-flight limit and a 500 for a live gathering error.
func NewHandler(snap *SnapshotCollector, live prometheus.Gatherer, o HandlerOpts) http.Handler {
	h := &handler{snap: snap, live: live, opts: o}
	if o.MaxRequestsInFlight > 0 {
		h.sem = make(chan struct{}, o.MaxRequestsInFlight)
	}
	return h
}

type handler struct {
	snap *SnapshotCollector
	live prometheus.Gatherer
	opts HandlerOpts
	sem  chan struct{}
}

// encoded is one snapshot in one exposition format: the plain bytes and,
// made on the first gzip scrape, their deflate stream ended by a sync flush
// (byte-aligned and not final, so a per-scrape stream can follow it inside
// the same gzip member) with the CRC-32 of the plain bytes.
type encoded struct {
	once  sync.Once
	plain []byte
	err   error
	// served and zserved: when a scrape last took this format, plain and
	// gzipped (unix ns; inherited from the snapshot before): Set encodes
	// the next snapshot in the formats scraped lately.
	served, zserved atomic.Int64

	zonce   sync.Once
	deflate []byte
	crc     uint32
}

// flatePool keeps the per-scrape compressors: a flate.Writer is about
// 800 KB of tables, which allocating per scrape cost more than the
// compression of the small live part itself.
var flatePool = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(nil, flate.BestSpeed)
	return fw
}}

// livePool keeps the buffers the live families are encoded into: grown
// anew per scrape, they were a tenth of the exporter's allocation during a
// full sync with 50 scrapers (the garbage collector's work that a scrape
// then helps with).
var livePool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// gzipHeader is a gzip member header without name, time or extra fields
// (RFC 1952 §2.3), as compress/gzip writes it: deflate, OS unknown.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

func (h *handler) logf(format string, args ...any) {
	if h.opts.ErrorLog != nil {
		h.opts.ErrorLog.Printf(format, args...)
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.sem != nil {
		select {
		case h.sem <- struct{}{}:
			defer func() { <-h.sem }()
		default:
			http.Error(w, fmt.Sprintf("Limit of concurrent requests reached (%d), try again later.", h.opts.MaxRequestsInFlight),
				http.StatusServiceUnavailable)
			return
		}
	}
	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultOpenMetricsAcceptedFormats()...)
	var filter map[string]bool
	if r.URL != nil {
		if names := r.URL.Query()["name[]"]; len(names) > 0 {
			filter = map[string]bool{}
			for _, n := range names {
				filter[n] = true
			}
		}
	}
	liveMFs, err := h.live.Gather()
	if err != nil {
		h.logf("error gathering metrics: %v", err)
		http.Error(w, "An error has occurred while gathering metrics:\n\n"+err.Error(), http.StatusInternalServerError)
		return
	}
	var snapPart []byte
	var pre *encoded
	if filter == nil {
		pre = h.snapshotIn(format)
		if pre != nil && pre.err != nil {
			h.logf("error encoding the snapshot: %v", pre.err)
			http.Error(w, "An error has occurred while encoding the snapshot:\n\n"+pre.err.Error(), http.StatusInternalServerError)
			return
		}
		if pre != nil {
			snapPart = pre.plain
			pre.served.Store(time.Now().UnixNano())
		}
	} else {
		// A filtered scrape is rare (a person debugging): encode the
		// chosen snapshot families for it alone.
		b, err := h.snap.encode(h.snap.snap.Load(), format, filter)
		if err != nil {
			h.logf("error encoding the snapshot: %v", err)
			http.Error(w, "An error has occurred while encoding the snapshot:\n\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		snapPart = b
	}
	lb := livePool.Get().(*bytes.Buffer)
	lb.Reset()
	defer livePool.Put(lb)
	// The live part closes the exposition: OpenMetrics' "# EOF" comes
	// after the snapshot's families.
	if err := encodeFamilies(lb, format, liveMFs, filter, true); err != nil {
		h.logf("error encoding and sending metric family: %v", err)
		http.Error(w, "An error has occurred while encoding metrics:\n\n"+err.Error(), http.StatusInternalServerError)
		return
	}

	w.Header().Add("Vary", "Accept")
	w.Header().Add("Vary", "Accept-Encoding")
	w.Header().Set("Content-Type", string(format))
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		w.Header().Set("Content-Length", strconv.Itoa(len(snapPart)+lb.Len()))
		_, _ = w.Write(snapPart)
		_, _ = w.Write(lb.Bytes())
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	var zsnap []byte
	var crc uint32
	if pre != nil {
		zsnap, crc = pre.gzipped()
		pre.zserved.Store(time.Now().UnixNano())
	} else if snapPart != nil {
		zsnap, crc = deflateSynced(snapPart)
	}
	_, _ = w.Write(gzipHeader)
	_, _ = w.Write(zsnap)
	fw := flatePool.Get().(*flate.Writer)
	defer flatePool.Put(fw)
	fw.Reset(w)
	_, _ = fw.Write(lb.Bytes())
	if err := fw.Close(); err != nil {
		return
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], crc32.Update(crc, crc32.IEEETable, lb.Bytes()))
	binary.LittleEndian.PutUint32(trailer[4:], uint32(len(snapPart)+lb.Len()))
	_, _ = w.Write(trailer[:])
}

// snapshotIn returns the published snapshot encoded in format (nil before
// the first snapshot): Set encoded it already in every format scraped
// before; a new format is encoded by its first scrape.
func (h *handler) snapshotIn(format expfmt.Format) *encoded {
	p := h.snap.snap.Load()
	if p == nil {
		return nil
	}
	return h.snap.in(p, format)
}

func (e *encoded) gzipped() ([]byte, uint32) {
	e.zonce.Do(func() { e.deflate, e.crc = deflateSynced(e.plain) })
	return e.deflate, e.crc
}

// deflateSynced compresses b into deflate blocks ended by a sync flush.
func deflateSynced(b []byte) ([]byte, uint32) {
	var out bytes.Buffer
	fw, _ := flate.NewWriter(&out, flate.DefaultCompression)
	_, _ = fw.Write(b)
	_ = fw.Flush()
	return out.Bytes(), crc32.ChecksumIEEE(b)
}

// encodeFamilies writes the families in filter (all when nil) to b in
// format, closing the exposition (OpenMetrics' "# EOF") when last.
func encodeFamilies(b *bytes.Buffer, format expfmt.Format, mfs []*dto.MetricFamily, filter map[string]bool, last bool) error {
	enc := expfmt.NewEncoder(b, format)
	for _, mf := range mfs {
		if filter != nil && !filter[mf.GetName()] {
			continue
		}
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("encoding %s: %w", mf.GetName(), err)
		}
	}
	if c, ok := enc.(expfmt.Closer); ok && last {
		return c.Close()
	}
	return nil
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip
// (RFC 9110 §12.5.3: a q of 0 refuses it; "*" accepts it unless refused).
// Hand-written because client_golang's negotiation helper is internal.
func acceptsGzip(header string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip", "x-gzip":
			return q > 0
		case "*":
			star = q > 0
		}
	}
	return star
}
