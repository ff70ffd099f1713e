package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is the exporter under measurement: `crossteam serve` in its own
// process, so that its CPU time and peak RSS are its own.
type child struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	logPath string
	started time.Time
	done    chan error
}

// selfCPU is this process's CPU time so far (user and system): during a
// sync, mostly the simulated GitHub and Jira serving it.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// freeAddr picks a free loopback port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startChild runs exe serve with the configuration file, logging to logPath.
func startChild(ctx context.Context, exe, cfgPath, logPath string, extraEnv []string) (*child, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "serve", "--config.file="+cfgPath, "--web.listen-address="+addr, "--web.enable-lifecycle") // the default --web.max-requests (40), as users run it
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), extraEnv...)
	c := &child{cmd: cmd, base: "http://" + addr, logPath: logPath, done: make(chan error, 1)}
	c.started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start exporter %s: %w", exe, err)
	}
	go func() {
		c.done <- cmd.Wait()
		logf.Close()
	}()
	// Wait for the listener.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(c.base + "/-/healthy")
		if err == nil {
			resp.Body.Close()
			return c, nil
		}
		select {
		case err := <-c.done:
			return nil, fmt.Errorf("exporter exited before listening: %v; log: %s", err, tail(logPath))
		case <-ctx.Done():
			c.kill()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.kill()
			return nil, fmt.Errorf("exporter not listening on %s after 30s; log: %s", addr, tail(logPath))
		}
	}
}

// stop ends the child with SIGTERM (it closes its store) and waits.
func (c *child) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		c.done <- err
		return err
	case <-time.After(30 * time.Second):
		c.kill()
		return errors.New("exporter did not stop within 30s of SIGTERM; killed")
	}
}

func (c *child) kill() {
	_ = c.cmd.Process.Kill()
}

// peakRSS reads the child's peak RSS (VmHWM) in bytes.
func (c *child) peakRSS() (int64, error) { return c.status("VmHWM:") }

// status reads one kB field of the child's /proc status, in bytes.
func (c *child) status(field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux
// for every architecture Go supports).
const clockTicks = 100

// cpuTime reads the child's user+system CPU time so far.
func (c *child) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; fields restart after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(s[i+1:])
	// After ')': state is field 3, utime field 14, stime field 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// reload asks the child to reload its configuration, which restarts every
// target's sync loop (each syncs at once).
func (c *child) reload(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/-/reload", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("reload: %s: %s", resp.Status, b)
	}
	return nil
}

// prometheusAccept is what Prometheus 3 sends when it scrapes.
const prometheusAccept = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"

// fetch scrapes url as Prometheus does (its Accept header, gzip) and reads
// the compressed body to the last byte without decoding or parsing it, so
// the latency measured is the exporter's, not the scraper's.
func fetch(ctx context.Context, client *http.Client, url string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", prometheusAccept)
	// Set explicitly, so net/http does not decompress the body itself.
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return int(n), nil
}

// rssSampler samples the child's RssAnon every 200 ms and keeps the peak.
type rssSampler struct {
	stopc chan struct{}
	done  chan int64
}

func (c *child) sampleRSS() *rssSampler {
	s := &rssSampler{stopc: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		var peak int64
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := c.status("RssAnon:"); err == nil && v > peak {
				peak = v
			}
			select {
			case <-s.stopc:
				s.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak RssAnon in bytes.
func (s *rssSampler) stop() int64 {
	close(s.stopc)
	return <-s.done
}

// samples are the values of one exposition, by series (name{labels}).
type samples map[string]float64

// scrape fetches and parses the child's /metrics.
func scrape(ctx context.Context, client *http.Client, url string) (samples, int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	s, err := parseExposition(b)
	return s, len(b), err
}

// parseExposition reads the Prometheus text format: one sample per line,
// `name{labels} value [timestamp]`. Label values never hold a newline in
// the text format (it is escaped).
func parseExposition(b []byte) (samples, error) {
	out := samples{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		rest := line
		series := ""
		if end >= 0 {
			series, rest = line[:end+1], line[end+1:]
		} else {
			i := strings.IndexByte(line, ' ')
			if i < 0 {
				return nil, fmt.Errorf("exposition line %q: no value", line)
			}
			series, rest = line[:i], line[i:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("exposition line %q: no value", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("exposition line %q: %w", line, err)
		}
		out[series] = v
	}
	return out, sc.Err()
}

// byName returns the series of one metric name.
func (s samples) byName(name string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range s {
		if k == name || strings.HasPrefix(k, name+"{") {
			out[k] = v
		}
	}
	return out
}

// countPrefix counts series whose name starts with prefix.
func (s samples) countPrefix(prefix string) int {
	n := 0
	for k := range s {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// scrapers run n concurrent /metrics scrapers (in the scraper process,
// scrapeproc.go), each scraping every interval
// (back to back when interval is 0), recording latencies until stopped.
type scrapers struct {
	mu        sync.Mutex
	latencies []time.Duration
	errors    int
	lastBytes int
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

func runScrapers(ctx context.Context, url string, n int, interval time.Duration) *scrapers {
	ctx, cancel := context.WithCancel(ctx)
	s := &scrapers{cancel: cancel}
	for i := 0; i < n; i++ {
		s.wg.Add(1)
		go func(i int) {
			defer s.wg.Done()
			// Each scraper has its own connection, as separate Prometheus
			// servers would.
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: time.Minute}
			// Spread the scrapers over the interval.
			if interval > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(interval * time.Duration(i) / time.Duration(n)):
				}
			}
			for ctx.Err() == nil {
				start := time.Now()
				size, err := fetch(ctx, client, url)
				d := time.Since(start)
				if ctx.Err() != nil {
					return
				}
				s.mu.Lock()
				if err != nil {
					s.errors++
				} else {
					s.latencies = append(s.latencies, d)
					s.lastBytes = size
				}
				s.mu.Unlock()
				if wait := interval - d; wait > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(wait):
					}
				}
			}
		}(i)
	}
	return s
}

func (s *scrapers) stop() {
	s.cancel()
	s.wg.Wait()
}

// quantileDur is the q-quantile (nearest rank) of ds.
func quantileDur(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// tail is the end of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// firstSnapshot waits until the child is ready (its first snapshot is
// published) and returns that snapshot's crossteam_snapshot_compute_seconds.
func (c *child) firstSnapshot(ctx context.Context, timeout time.Duration) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Minute}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/-/ready", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s, _, err := scrape(ctx, client, c.base+"/metrics")
				if err != nil {
					return 0, err
				}
				v, ok := s["crossteam_snapshot_compute_seconds"]
				if !ok {
					return 0, errors.New("ready, but no crossteam_snapshot_compute_seconds")
				}
				return v, nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("not ready within %s: %w; log: %s", timeout, ctx.Err(), tail(c.logPath))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// scrapeCPU measures the child's CPU per scrape: n gzip scrapes back to
// back on one connection, less the CPU the idle child spends in the same
// wall time (measured just before over 3 s). /proc's 10 ms ticks make n
// of several hundred necessary.
func (c *child) scrapeCPU(ctx context.Context, n int) (time.Duration, error) {
	idle0, err := c.cpuTime()
	if err != nil {
		return 0, err
	}
	idleStart := time.Now()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(3 * time.Second):
	}
	idle1, err := c.cpuTime()
	if err != nil {
		return 0, err
	}
	idleRate := float64(idle1-idle0) / float64(time.Since(idleStart))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: time.Minute}
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := fetch(ctx, client, c.base+"/metrics"); err != nil {
			return 0, err
		}
	}
	wall := time.Since(start)
	busy, err := c.cpuTime()
	if err != nil {
		return 0, err
	}
	used := float64(busy-idle1) - idleRate*float64(wall)
	return time.Duration(max(used, 0) / float64(n)), nil
}
