package backfill

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	cases := []struct {
		in      string
		time    time.Duration
		size    string
		wantErr bool
	}{
		{"15d", 15 * 24 * time.Hour, "", false},
		{"400d", 400 * 24 * time.Hour, "", false},
		{"30d or 10GiB", 30 * 24 * time.Hour, "10GiB", false},
		{"10GiB", 0, "10GiB", false},
		{"2w", 14 * 24 * time.Hour, "", false},
		{"forever", 0, "", true},
		{"", 0, "", true},
	}
	for _, c := range cases {
		r, err := ParseRetention(c.in)
		if (err != nil) != c.wantErr {
			t.Errorf("%q: error %v, want error %v", c.in, err, c.wantErr)
			continue
		}
		if err == nil && (r.Time != c.time || r.Size != c.size) {
			t.Errorf("%q: %s / %q, want %s / %q", c.in, r.Time, r.Size, c.time, c.size)
		}
	}
}

func TestCheckRetention(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	cases := []struct {
		name      string
		r         Retention
		span      time.Duration
		wantErr   string
		wantWarns []string
	}{
		{"default 15d, 90d backfill", Retention{Time: 15 * day, Raw: "15d"}, 90 * day,
			"Prometheus keeps 15d (storage retention 15d) but the backfill starts 90d ago: it would delete the older 75d at its next compaction; start it with --storage.tsdb.retention.time=91d or more, or backfill from 2026-11-18T12:00:00Z", nil},
		{"enough for the span, short for the rules", Retention{Time: 30 * day, Raw: "30d"}, 20 * day, "",
			[]string{"Prometheus keeps 30d; the recording rules read 56d back (the faster-handoff wins compare two 28-day windows): keep --storage.tsdb.retention.time=60d or more"}},
		{"a year", Retention{Time: 400 * day, Raw: "400d"}, 365 * day, "", nil},
		{"size only", Retention{Size: "10GiB", Raw: "10GiB"}, 90 * day, "",
			[]string{"Prometheus keeps up to 10GiB, not a set time: whether it holds the backfilled 90d depends on how fast it fills"}},
		{"exactly the span", Retention{Time: 90 * day, Raw: "90d"}, 90 * day, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			warns, err := CheckRetention(c.r, now.Add(-c.span), now)
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(warns, "\n") != strings.Join(c.wantWarns, "\n") {
				t.Errorf("warnings %q, want %q", warns, c.wantWarns)
			}
		})
	}
}

// FetchRetention reads /api/v1/status/runtimeinfo as Prometheus 2.42
// answers it (payload captured from prometheus --storage.tsdb.path=...
// with the default retention).
func TestFetchRetention(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/status/runtimeinfo":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"status":"success","data":{"startTime":"2026-12-03T17:42:56.037238514Z","CWD":"/tmp","reloadConfigSuccess":true,"lastConfigTime":"2026-12-03T17:42:56Z","corruptionCount":0,"goroutineCount":24,"GOMAXPROCS":2,"GOGC":"","GODEBUG":"","storageRetention":"15d"}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	r, err := FetchRetention(context.Background(), srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if r.Time != 15*24*time.Hour {
		t.Errorf("retention %s, want 15d", r.Time)
	}
	// Not a Prometheus: the error names the server.
	if _, err := FetchRetention(context.Background(), srv.Client(), srv.URL+"/nothing"); err == nil || !strings.Contains(err.Error(), srv.URL+"/nothing") {
		t.Errorf("error %v, want one naming the server", err)
	}
}
