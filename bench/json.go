package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// JSON is the machine-readable form of a run (`crossteam bench
// --bench.json=FILE`): one flat object whose keys are stable. A figure a
// run did not reach (a phase timed out) is null, never zero.
type JSON struct {
	Size         string `json:"size"`
	Machine      string `json:"machine"`
	EventsStored *int   `json:"events_stored"`
	Items        int    `json:"items"`
	Teams        int    `json:"teams"`
	// PeakRSSMiB is the exporter's VmHWM over both of its runs (the full
	// sync and the restart); PeakRSSAnonMiB the highest RssAnon sampled.
	PeakRSSMiB     *float64 `json:"peak_rss_mib"`
	PeakRSSAnonMiB *float64 `json:"peak_rss_anon_mib"`
	// RecomputeFirstSeconds is crossteam_snapshot_compute_seconds of the
	// first snapshot after a restart on the full store;
	// RecomputeAfterFullSyncSeconds the one after the full sync.
	RecomputeFirstSeconds         *float64 `json:"recompute_first_seconds"`
	RecomputeAfterFullSyncSeconds *float64 `json:"recompute_after_full_sync_seconds"`
	RecomputeAfter1PctSeconds     *float64 `json:"recompute_after_1pct_seconds"`
	// ScrapeCPUms is exporter CPU per gzip scrape while idle, less the
	// idle CPU of the same wall time.
	ScrapeCPUms    *float64 `json:"scrape_cpu_ms"`
	ScrapeP50ms    *float64 `json:"scrape_p50_ms"`
	ScrapeP99ms    *float64 `json:"scrape_p99_ms"`
	Scrapes        int      `json:"scrapes"`
	ScrapeErrors   int      `json:"scrape_errors"`
	Scrapers       int      `json:"scrapers"`
	ScrapeInterval string   `json:"scrape_interval"`
	Series         *int     `json:"series"`
	Pairs          *int     `json:"pairs"`
	FullSyncSecs   *float64 `json:"full_sync_seconds"`
	FullSyncCPU    *float64 `json:"full_sync_cpu_seconds"`
	GitHubFull     *int     `json:"github_requests_full"`
	GitHubPaidFull *int     `json:"github_paid_full"`
	JiraFull       *int     `json:"jira_requests_full"`
	JiraMinimum    *int     `json:"jira_minimum"`
	JiraNoChange   *int     `json:"jira_requests_nochange"`
	GitHubPaidNoCh *int     `json:"github_paid_nochange"`
	GitHubPaid1Pct *int     `json:"github_paid_1pct"`
	// GitHubPointsFull and GitHubPoints1Pct are what the token paid: REST
	// paid requests plus GraphQL points; GitHubFeedMinimum the feed
	// formula (GitHubFeedMinimum) they are held against;
	// GitHubGraphQLNoChange the GraphQL queries of the no-change sync.
	GitHubPointsFull      *int     `json:"github_points_full"`
	GitHubPoints1Pct      *int     `json:"github_points_1pct"`
	GitHubFeedMinimum     *int     `json:"github_feed_minimum"`
	GitHubGraphQLNoChange *int     `json:"github_graphql_queries_nochange"`
	IngestFraction        *float64 `json:"ingest_fraction_of_decode"`
	IngestFractionCPU     *float64 `json:"ingest_fraction_of_decode_cpu"`
	IngestFractionBound   *float64 `json:"ingest_fraction_of_decode_bound"`
	HarnessCPUFull        *float64 `json:"harness_cpu_seconds_full"`
	StoreMiB              *float64 `json:"store_mib"`
	// LoadAverage is /proc/loadavg's 1, 5 and 15 minute figures at the
	// end of the run; LoadAverageStart the same when it began.
	LoadAverage      []float64 `json:"load_average"`
	LoadAverageStart []float64 `json:"load_average_start"`
	// ExporterEnv: what the run added to the exporter's environment.
	ExporterEnv []string `json:"exporter_env,omitempty"`
	// UpstreamNice is the nice value the simulated APIs ran at (0: the
	// exporter's own).
	UpstreamNice int `json:"upstream_nice"`
	// Failed names the phase that did not finish (empty: none).
	Failed string `json:"failed,omitempty"`
}

// reached records which phases of a run finished, so the JSON leaves the
// others null instead of reporting zeros.
type reached struct {
	full, noChange, incremental, restart, scrapeCPU bool
}

// JSON renders r; a nil pointer field is a figure the run did not reach.
func (r *Result) JSON() JSON {
	ptr := func(v float64) *float64 { return &v }
	iptr := func(v int) *int { return &v }
	j := JSON{Size: r.Size, Machine: r.Machine, Items: r.Census.GitHubItems + r.Census.JiraIssues, Teams: r.Teams,
		Scrapes: r.Scrape.Scrapes, ScrapeErrors: r.Scrape.Errors, Scrapers: r.Scrapers, ScrapeInterval: r.ScrapeInterval.String(),
		LoadAverage: r.LoadAverage, LoadAverageStart: r.LoadAverageStart, ExporterEnv: r.ExporterEnv, UpstreamNice: r.UpstreamNice, Failed: r.Failed}
	if r.PeakRSS > 0 {
		j.PeakRSSMiB = ptr(float64(r.PeakRSS) / (1 << 20))
	}
	if r.PeakRSSAnon > 0 {
		j.PeakRSSAnonMiB = ptr(float64(r.PeakRSSAnon) / (1 << 20))
	}
	if r.reached.full {
		j.EventsStored = iptr(r.Full.StoredEvents)
		j.RecomputeAfterFullSyncSeconds = ptr(r.SnapshotGauge)
		if r.Scrape.Scrapes > 0 {
			j.ScrapeP50ms = ptr(float64(r.Scrape.P50) / 1e6)
			j.ScrapeP99ms = ptr(float64(r.Scrape.P99) / 1e6)
		}
		j.Series, j.Pairs = iptr(r.Scrape.Series), iptr(r.Scrape.Pairs)
		j.FullSyncSecs, j.FullSyncCPU = ptr(r.Full.Wall.Seconds()), ptr(r.Full.CPU.Seconds())
		j.GitHubFull, j.GitHubPaidFull = iptr(r.Full.GitHub.Requests), iptr(r.Full.GitHub.Paid)
		j.GitHubPointsFull, j.GitHubFeedMinimum = iptr(r.Full.GitHub.Spent()), iptr(GitHubFeedMinimum(r.Census.Repos))
		if r.Census.JiraIssues > 0 {
			j.JiraFull, j.JiraMinimum = iptr(r.Full.Jira.Requests), iptr(r.MinJira())
		}
		j.HarnessCPUFull = ptr(r.Full.HarnessCPU.Seconds())
		if r.Decode.Pages > 0 {
			j.IngestFraction = ptr(r.IngestFraction())
			j.IngestFractionBound = ptr(r.IngestFractionBound())
		}
	}
	if r.reached.noChange {
		j.GitHubPaidNoCh = iptr(r.NoChange.GitHub.Spent())
		j.GitHubGraphQLNoChange = iptr(r.NoChange.GitHub.Queries)
		if r.Census.JiraIssues > 0 {
			j.JiraNoChange = iptr(r.NoChange.Jira.Requests)
		}
	}
	if r.reached.incremental {
		j.RecomputeAfter1PctSeconds = ptr(r.SnapshotGaugeIncremental)
		j.GitHubPaid1Pct = iptr(r.Incremental.GitHub.Paid)
		j.GitHubPoints1Pct = iptr(r.Incremental.GitHub.Spent())
	}
	if r.reached.restart {
		j.RecomputeFirstSeconds = ptr(r.RecomputeFirst)
	}
	if r.reached.scrapeCPU {
		j.ScrapeCPUms = ptr(float64(r.ScrapeCPU) / 1e6)
		if r.reached.full && r.Decode.Pages > 0 {
			j.IngestFractionCPU = ptr(r.IngestFractionCPU())
		}
	}
	if r.StoreBytes > 0 {
		j.StoreMiB = ptr(float64(r.StoreBytes) / (1 << 20))
	}
	return j
}

// WriteJSON writes r's JSON form to path.
func WriteJSON(path string, r *Result) error {
	b, err := json.MarshalIndent(r.JSON(), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	return nil
}

// LoadAverage reads /proc/loadavg's three figures (nil where there is none).
func LoadAverage() []float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return nil
	}
	var out []float64
	for _, s := range f[:3] {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}
