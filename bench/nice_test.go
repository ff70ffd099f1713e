package bench

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestNiceHarness runs in a process of its own (the nice values stay
// with a process's threads): every thread of it must end at the upstream
// nice, a child forked through spawn at the original priority, and one
// forked elsewhere at the upstream nice.
func TestNiceHarness(t *testing.T) {
	if os.Getenv("CROSSTEAM_NICE_HELPER") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNiceHarness$", "-test.v")
		cmd.Env = append(os.Environ(), "CROSSTEAM_NICE_HELPER=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestNiceHarness") {
			t.Fatalf("helper process: %v\n%s", err, out)
		}
		return
	}
	if n := threadNice(syscall.Gettid()); n != 0 {
		t.Skipf("the test runs at nice %d already", n)
	}
	spawn, stop, err := niceHarness(context.Background(), 12)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	start := func(cmd *exec.Cmd) int {
		t.Helper()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return processNice(t, cmd.Process.Pid)
	}
	var kept int
	spawn(func() { kept = start(exec.Command("sleep", "30")) })
	if kept != 0 {
		t.Errorf("a child started through spawn runs at nice %d, want 0", kept)
	}
	if got := start(exec.Command("sleep", "30")); got != 12 {
		t.Errorf("a child started elsewhere runs at nice %d, want 12", got)
	}
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	at0 := 0
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		switch n := threadNice(tid); n {
		case 12:
		case 0:
			at0++ // the spawning thread
		default:
			t.Errorf("thread %d runs at nice %d, want 12", tid, n)
		}
	}
	if at0 != 1 {
		t.Errorf("%d threads at nice 0, want 1 (the spawning thread)", at0)
	}
	if _, _, err := niceHarness(context.Background(), 20); err == nil || !strings.Contains(err.Error(), "want 0 (off) to 19") {
		t.Errorf("nice 20: err %v", err)
	}
}

// processNice reads the nice field (the 19th) of /proc/pid/stat.
func processNice(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// The command name, field 2, is parenthesised and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	n, err := strconv.Atoi(f[16])
	if err != nil {
		t.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	return n
}
