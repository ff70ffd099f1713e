package cpulane

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestDoBoundsSections runs many sections at once and checks that no more
// than Width of them ever overlap, and that each one ran.
func TestDoBoundsSections(t *testing.T) {
	var in, most, ran atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := Do(context.Background(), func() error {
				n := in.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				for i := 0; i < 10000; i++ {
					_ = i * i
				}
				in.Add(-1)
				ran.Add(1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ran.Load() != 64 {
		t.Fatalf("ran %d sections, want 64", ran.Load())
	}
	if most.Load() > int64(Width()) {
		t.Fatalf("%d sections overlapped, want at most Width() = %d", most.Load(), Width())
	}
}

// TestDoWaitEndsWithContext fills every slot, then checks that a section
// waiting for one gives up with its context's error without running, and
// that f's error comes back as Do's.
func TestDoWaitEndsWithContext(t *testing.T) {
	release := make(chan struct{})
	holding := make(chan struct{})
	var wg sync.WaitGroup
	for range Width() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = Do(context.Background(), func() error {
				holding <- struct{}{}
				<-release
				return nil
			})
		}()
	}
	for range Width() {
		<-holding
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := Do(ctx, func() error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("Do with every slot held and a canceled context = %v (ran %v), want context.Canceled without running", err, ran)
	}
	close(release)
	wg.Wait()
	want := errors.New("boom")
	if err := Do(context.Background(), func() error { return want }); !errors.Is(err, want) {
		t.Fatalf("Do = %v, want f's error", err)
	}
}

type closeCount struct {
	io.Reader
	closed int
}

func (c *closeCount) Close() error { c.closed++; return nil }

// TestDecode checks that Decode decodes the first value (what follows is
// ignored, as by the clients' json.Decoder), reports an empty body as
// io.EOF, and closes the body in every case.
func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       int
		err        error
	}{
		{"value", `{"n": 7}`, 7, nil},
		{"trailing data ignored", `{"n": 3} trailing`, 3, nil},
		{"empty body", ``, 0, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &closeCount{Reader: strings.NewReader(tc.body)}
			var v struct{ N int }
			err := Decode(context.Background(), body, &v)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("Decode(%q) error = %v, want %v", tc.body, err, tc.err)
			}
			if v.N != tc.want {
				t.Fatalf("Decode(%q) n = %d, want %d", tc.body, v.N, tc.want)
			}
			if body.closed != 1 {
				t.Fatalf("body closed %d times, want 1", body.closed)
			}
		})
	}
}
