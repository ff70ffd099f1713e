package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// BenchmarkLoadMmap compares Load of 200k events with SQLite reading the
// file through a 1 GiB memory map and through pread (the default).
func BenchmarkLoadMmap(b *testing.B) {
	defer func(v int) { mmapSize = v }(mmapSize)
	for _, size := range []int{0, 1 << 30} {
		b.Run(fmt.Sprintf("mmap=%d", size), func(b *testing.B) {
			mmapSize = size
			s, _ := openTest(b)
			fill(b, s, 200_000, 10_000)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Load(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTruncatedUnderneath: a store file cut short while the store is open
// (a full disk, a bad restore, someone's cp) fails the next read with an
// error, the process survives. With a memory map the same read was a
// SIGBUS that killed the exporter.
func TestTruncatedUnderneath(t *testing.T) {
	s, path := openTest(t)
	fill(t, s, 20_000, 5_000)
	// Checkpoint the WAL into the main file so the cut removes pages the
	// next read needs.
	if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/3); err != nil {
		t.Fatal(err)
	}
	_, err = s.Load(context.Background())
	if err == nil {
		t.Fatal("Load of a truncated store: no error")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error does not name the store %s: %v", path, err)
	}
}
