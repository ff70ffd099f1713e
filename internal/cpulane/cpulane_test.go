package cpulane

import (
	"context"
	"errors"
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
