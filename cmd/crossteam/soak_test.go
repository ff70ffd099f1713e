package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crossteam/crossteam/fakeapi"
	"github.com/crossteam/crossteam/sim"
	"github.com/crossteam/crossteam/store"
)

// defaultSoakFaults are the faults of both fake APIs during a soak: server
// errors, truncated and malformed bodies, latency with spikes. Rate-limit
// episodes are left out: they last on the simulated clock, which a static
// world never advances.
const defaultSoakFaults = "5xx=0.05,truncate=0.03,malformed=0.03,latency=5ms,spike=0.02,spikelatency=300ms"

// procStatus reads VmRSS (KiB) and the number of open file descriptors of
// a process.
func procStatus(pid int) (rssKiB int64, fds int, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			rssKiB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return rssKiB, len(ents), err
}

// soakChild is one incarnation of the exporter under soak.
type soakChild struct {
	cmd     *exec.Cmd
	started time.Time
	// RSS and descriptors once both targets had synced (the baseline) and
	// at the last sample.
	baseRSS, lastRSS int64
	baseFDs, lastFDs int
	synced           bool
}

// TestSoak runs the demo's world (sim.Small) on fake GitHub and Jira APIs
// with faults (CROSSTEAM_SOAK_FAULTS, the syntax of crossteam demo
// --faults; default defaultSoakFaults) for CROSSTEAM_SOAK_DURATION (make
// soak: 30m), with the exporter as a child process syncing every 10 s,
// scraped, reloaded (SIGHUP with a changed file) and killed (SIGKILL, then
// restarted) at seeded random instants. At the end, with the faults off, a
// restarted exporter syncs both targets, and the store must equal a
// fault-free run of the same world; every scrape of a running exporter must
// have answered 200; and no incarnation's RSS (open descriptors) may have
// grown by more than CROSSTEAM_SOAK_MAX_RSS_GROWTH MiB (default 64; 32
// descriptors) between its first completed sync and its end.
func TestSoak(t *testing.T) {
	v := os.Getenv("CROSSTEAM_SOAK_DURATION")
	if v == "" {
		t.Skip("set CROSSTEAM_SOAK_DURATION, e.g. 30m (make soak)")
	}
	dur, err := time.ParseDuration(v)
	if err != nil || dur <= 0 {
		t.Fatalf("CROSSTEAM_SOAK_DURATION=%q: want a duration like 30m", v)
	}
	spec := os.Getenv("CROSSTEAM_SOAK_FAULTS")
	if spec == "" {
		spec = defaultSoakFaults
	}
	faults, err := fakeapi.ParseFaults(spec)
	if err != nil {
		t.Fatal(err)
	}
	maxGrowthMiB := int64(64)
	if v := os.Getenv("CROSSTEAM_SOAK_MAX_RSS_GROWTH"); v != "" {
		if maxGrowthMiB, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("CROSSTEAM_SOAK_MAX_RSS_GROWTH=%q: %v", v, err)
		}
	}
	// Kills at random instants of the first 80% of the run, one per 3
	// minutes (at least one), so the last incarnation runs long enough to
	// show growth.
	kills := int(dur/(3*time.Minute)) + 1
	if v := os.Getenv("CROSSTEAM_SOAK_KILLS"); v != "" {
		if kills, err = strconv.Atoi(v); err != nil || kills < 0 {
			t.Fatalf("CROSSTEAM_SOAK_KILLS=%q: want a number", v)
		}
	}

	small := sim.Small()
	cw := newCrashWorld(t, small.ItemsPerRepo, small.JiraIssuesPerProject)
	_, refCfg := cw.config(t, filepath.Join(cw.dir, "ref.db"))
	want := sortedDataset(t, syncToEnd(t, refCfg, filepath.Join(cw.dir, "ref.db")))

	cw.setFaults(faults)
	cw.interval = "10s"
	dbPath := filepath.Join(cw.dir, "soak.db")
	cfgPath, _ := cw.config(t, dbPath)
	addr := freeAddr(t)
	logPath := filepath.Join(cw.dir, "exporter.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	start := func() *soakChild {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childArgsEnv+"="+strings.Join([]string{"serve", "--config.file=" + cfgPath,
			"--web.listen-address=" + addr, "--web.enable-lifecycle", "--log.level=warn"}, "\x1f"))
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		return &soakChild{cmd: cmd, started: time.Now()}
	}
	rng := rand.New(rand.NewPCG(20261203, uint64(dur)))
	begin := time.Now()
	var killAt []time.Duration
	for i := 0; i < kills; i++ {
		killAt = append(killAt, time.Duration(rng.Int64N(int64(dur)*8/10)))
	}
	sort.Slice(killAt, func(i, j int) bool { return killAt[i] < killAt[j] })

	var (
		scrapes, failed, reloads, killed int
		peakRSS, worstGrowth             int64
		worstFDs, requests, faulted      int
	)
	// tally counts the requests and injected faults logged so far (the
	// logs keep at most 100,000 entries, so they are emptied each time).
	tally := func() {
		requests += cw.requests()
		isFault := func(r fakeapi.Request) bool { return r.Fault != "" }
		faulted += cw.gh.Count(isFault) + cw.jira.Count(isFault)
		cw.resetRequests()
	}
	up := func(m string) bool {
		return strings.Contains(m, `crossteam_source_up{source="github",target="`+sim.GitHubTarget+`"} 1`) &&
			strings.Contains(m, `crossteam_source_up{source="jira",target="`+sim.JiraTarget+`"} 1`)
	}
	finish := func(c *soakChild) {
		if c.synced {
			worstGrowth = max(worstGrowth, c.lastRSS-c.baseRSS)
			worstFDs = max(worstFDs, c.lastFDs-c.baseFDs)
		}
	}
	child := start()
	for time.Since(begin) < dur {
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		if len(killAt) > 0 && time.Since(begin) >= killAt[0] {
			killAt = killAt[1:]
			finish(child)
			tally()
			_ = child.cmd.Process.Kill()
			_ = child.cmd.Wait()
			st, err := store.Open(context.Background(), dbPath, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("after kill %d: store does not open: %v", killed+1, err)
			}
			if err := st.IntegrityCheck(context.Background()); err != nil {
				t.Fatalf("after kill %d: %v", killed+1, err)
			}
			st.Close()
			killed++
			child = start()
			continue
		}
		if rng.IntN(20) == 0 {
			reloads++
			cw.comment = fmt.Sprintf("soak reload %d", reloads)
			cw.config(t, dbPath)
			if err := child.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatalf("reload %d: %v", reloads, err)
			}
			continue
		}
		code, body := get(t, "http://"+addr+"/metrics")
		// A just started exporter may not listen yet.
		if time.Since(child.started) > 5*time.Second {
			scrapes++
			if code != 200 {
				failed++
				t.Errorf("scrape %d: %d %.200s", scrapes, code, body)
			}
		}
		rss, fds, err := procStatus(child.cmd.Process.Pid)
		if err != nil {
			t.Fatalf("exporter gone: %v (log %s)", err, logPath)
		}
		peakRSS = max(peakRSS, rss)
		child.lastRSS, child.lastFDs = rss, fds
		if !child.synced && code == 200 && up(body) {
			// Let the first snapshot and its garbage settle first.
			if time.Since(child.started) > 20*time.Second {
				child.synced, child.baseRSS, child.baseFDs = true, rss, fds
			}
		}
	}
	finish(child)
	tally()
	_ = child.cmd.Process.Signal(os.Interrupt)
	_ = child.cmd.Wait()

	// Faults off: the restarted exporter finishes what is left.
	cw.setFaults(fakeapi.Faults{})
	child = start()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if code, m := get(t, "http://"+addr+"/metrics"); code == 200 && up(m) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted exporter did not sync both targets in 2 minutes (log %s)", logPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = child.cmd.Process.Signal(os.Interrupt)
	_ = child.cmd.Wait()

	st, err := store.Open(context.Background(), dbPath, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	got := sortedDataset(t, st)
	st.Close()
	for _, c := range []struct {
		what string
		eq   bool
		n, m int
	}{
		{"items", reflect.DeepEqual(got.Items, want.Items), len(got.Items), len(want.Items)},
		{"events", reflect.DeepEqual(got.Events, want.Events), len(got.Events), len(want.Events)},
		{"milestones", reflect.DeepEqual(got.Milestones, want.Milestones), len(got.Milestones), len(want.Milestones)},
		{"team members", reflect.DeepEqual(got.Members, want.Members), len(got.Members), len(want.Members)},
		{"identities", reflect.DeepEqual(got.Identities, want.Identities), len(got.Identities), len(want.Identities)},
	} {
		if !c.eq {
			t.Errorf("%s differ from the fault-free run: %d vs %d", c.what, c.n, c.m)
		}
	}
	t.Logf("soak %v, faults %s: %d API requests (%d with an injected fault), %d scrapes (%d failed), %d reloads, %d kills; %d items, %d events equal to the fault-free run; peak RSS %.1f MiB, worst growth of an incarnation after its first sync %.1f MiB, %d descriptors",
		dur, spec, requests, faulted, scrapes, failed, reloads, killed, len(got.Items), len(got.Events), float64(peakRSS)/1024, float64(worstGrowth)/1024, worstFDs)
	if faulted == 0 {
		t.Error("no fault was injected: the soak did not test recovery")
	}
	if worstGrowth>>10 > maxGrowthMiB {
		t.Errorf("RSS grew by %d MiB in one incarnation, more than %d MiB", worstGrowth>>10, maxGrowthMiB)
	}
	if worstFDs > 32 {
		t.Errorf("open descriptors grew by %d in one incarnation", worstFDs)
	}
}
