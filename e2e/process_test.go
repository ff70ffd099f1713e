package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildCrossteam builds the crossteam binary from this tree with the go
// command on PATH (or the one that built this test).
func buildCrossteam(t *testing.T, root, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "crossteam")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/crossteam")
	cmd.Dir = root
	began := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/crossteam: %v\n%s", err, out)
	}
	t.Logf("built crossteam in %s", time.Since(began).Round(time.Millisecond))
	return bin
}

// freeAddr is a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a goroutine-safe output sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// process is a child process the test started; its output is kept for
// failure messages.
type process struct {
	name           string
	stdout, stderr *syncBuffer
	exited         chan struct{}
	err            error // valid once exited is closed
}

// startProcess starts a command in dir and stops it when the test ends:
// SIGTERM, then SIGKILL if it has not exited within 10 s.
func startProcess(t *testing.T, dir, name string, env []string, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: name, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
			t.Errorf("%s exited before the end of the test: %v\n%s", name, p.err, tail(p.stderr.String(), 4000))
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop within 10s of SIGTERM; killing it", name)
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, tail(p.stderr.String(), 4000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// waitUntil polls cond every 100ms for up to startTimeout; it fails the
// test with cond's last explanation, or at once when a watched process
// exits.
func waitUntil(t *testing.T, what string, cond func() (bool, string), watch ...*process) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	began := time.Now()
	last := ""
	for {
		ok, why := cond()
		if ok {
			t.Logf("%s after %s", what, time.Since(began).Round(time.Millisecond))
			return
		}
		last = why
		for _, p := range watch {
			select {
			case <-p.exited:
				t.Fatalf("waiting for %s: %s exited: %v\n%s", what, p.name, p.err, tail(p.stderr.String(), 4000))
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not after %s: %s", what, startTimeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func httpGet(ctx context.Context, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
