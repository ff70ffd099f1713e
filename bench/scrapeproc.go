package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// The scrapers run in a process of their own, as the Prometheus servers
// that scrape an exporter do. In the harness's process they shared the Go
// scheduler with the simulated GitHub and Jira, which serve the full sync
// on the same two cores: a scraper's goroutine woken by its answer waited
// behind the fakes' GraphQL execution and JSON encoding, and that wait was
// counted as the exporter's latency (a medium run, the same minutes: p99
// 41 ms in-process, 27-28 ms from a separate process).

// ScrapeCommand is the hidden subcommand that runs ScrapeProcess.
const ScrapeCommand = "bench-scrapers"

// scrapeReport is what the scraper process writes when its input closes.
type scrapeReport struct {
	LatenciesMicros []int64 `json:"latencies_us"`
	Errors          int     `json:"errors"`
	LastBytes       int     `json:"last_bytes"`
}

// ScrapeProcess is the body of `crossteam bench-scrapers`: n scrapers of
// url, each every interval, until in reaches its end (the harness closes
// it); then the latencies, as JSON, on out.
func ScrapeProcess(ctx context.Context, url string, n int, interval time.Duration, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := runScrapers(ctx, url, n, interval)
	_, _ = io.Copy(io.Discard, in)
	s.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := scrapeReport{Errors: s.errors, LastBytes: s.lastBytes, LatenciesMicros: make([]int64, len(s.latencies))}
	for i, d := range s.latencies {
		rep.LatenciesMicros[i] = d.Microseconds()
	}
	return json.NewEncoder(out).Encode(rep)
}

// scrapeProcess is a running scraper process.
type scrapeProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startScrapeProcess runs exe bench-scrapers against url; exe is the
// harness's own binary (the exporter under measurement may be an older
// build without the command).
func startScrapeProcess(exe, url string, n int, interval time.Duration) (*scrapeProcess, error) {
	if n == 0 {
		return &scrapeProcess{}, nil
	}
	cmd := exec.Command(exe, ScrapeCommand, "--url="+url, "--scrapers="+strconv.Itoa(n), "--interval="+interval.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the scraper process %s: %w", exe, err)
	}
	return &scrapeProcess{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}, nil
}

// stop ends the scrapers and returns what they measured.
func (p *scrapeProcess) stop() (*scrapers, error) {
	if p.cmd == nil {
		return &scrapers{}, nil
	}
	_ = p.stdin.Close()
	var rep scrapeReport
	derr := json.NewDecoder(p.out).Decode(&rep)
	werr := p.cmd.Wait()
	if err := errors.Join(derr, werr); err != nil {
		return nil, fmt.Errorf("the scraper process: %w", err)
	}
	s := &scrapers{errors: rep.Errors, lastBytes: rep.LastBytes, latencies: make([]time.Duration, len(rep.LatenciesMicros))}
	for i, us := range rep.LatenciesMicros {
		s.latencies[i] = time.Duration(us) * time.Microsecond
	}
	return s, nil
}
