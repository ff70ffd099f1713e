package backfill

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
)

// base is Monday 2026-03-02 00:00 UTC.
var base = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func h(n int) time.Time { return base.Add(time.Duration(n) * time.Hour) }

// scenario: acme/web#1 handed design -> backend at 25h (Tuesday 01:00),
// picked up by bob at 27h; acme/web#2 handed over at 73h, never picked up.
func scenario(t *testing.T) (*config.Config, *model.Dataset) {
	t.Helper()
	cfg, err := config.Parse([]byte(`
teams:
  design: {members: [alice], markers: {github_labels: ["team:design"]}}
  backend: {members: [bob], markers: {github_labels: ["team:backend"]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	ev := func(key, id string, at time.Time, actor string, kind model.EventKind, v string) model.Event {
		return model.Event{Source: model.SourceGitHub, ID: id, ItemKey: key, At: at, Actor: actor, Kind: kind, Value: v}
	}
	ds := &model.Dataset{
		Items: []model.Item{
			{Source: "github", Key: "acme/web#1", Title: "one", Author: "alice", Created: h(0)},
			{Source: "github", Key: "acme/web#2", Title: "two", Author: "alice", Created: h(0)},
		},
		Events: []model.Event{
			ev("acme/web#1", "1", h(0), "alice", model.EventLabeled, "team:design"),
			ev("acme/web#1", "2", h(25), "alice", model.EventLabeled, "team:backend"),
			ev("acme/web#1", "3", h(27), "bob", model.EventCommented, ""),
			ev("acme/web#2", "4", h(0), "alice", model.EventLabeled, "team:design"),
			ev("acme/web#2", "5", h(73), "alice", model.EventLabeled, "team:backend"),
		},
	}
	return cfg, ds
}

// TestWrite: snapshots at 0h, 24h, 48h, 72h, 96h. Hand-computed: no handoff
// before 25h; one from 48h on (picked up after 2h: pickup sum 7200); two at
// 96h, the second waiting for 23h.
func TestWrite(t *testing.T) {
	cfg, ds := scenario(t)
	var b bytes.Buffer
	st, err := Write(&b, cfg, ds, Options{From: h(0), To: h(97), Step: 24 * time.Hour,
		Labels: map[string]string{"job": "crossteam", "instance": "exporter:19280"}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Instants != 5 {
		t.Errorf("instants = %d, want 5", st.Instants)
	}
	out := b.String()
	if !strings.HasSuffix(out, "# EOF\n") {
		t.Error("no # EOF at the end")
	}
	// base is Unix 1772409600; OpenMetrics timestamps are seconds.
	ts := map[int]string{24: " 1.772496e+09", 48: " 1.7725824e+09", 72: " 1.7726688e+09", 96: " 1.7727552e+09"}
	pair := `{from_team="design",source="github",to_team="backend",instance="exporter:19280",job="crossteam"}`
	for _, want := range []string{
		"crossteam_handoffs_total" + pair + " 1.0" + ts[48],
		"crossteam_handoffs_total" + pair + " 1.0" + ts[72],
		"crossteam_handoffs_total" + pair + " 2.0" + ts[96],
		"crossteam_handoff_pickup_seconds_sum" + pair + " 7200.0" + ts[48],
		"crossteam_handoff_oldest_waiting_seconds" + pair + " 82800.0" + ts[96],
		"crossteam_handoff_oldest_waiting_seconds" + pair + " 0.0" + ts[72],
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing line %q", want)
		}
	}
	if strings.Contains(out, "crossteam_handoffs_total"+pair+" 1.0"+ts[24]) {
		t.Error("a handoff before it happened")
	}
	if strings.Count(out, "# TYPE crossteam_handoffs counter") != 1 {
		t.Error("each family must appear once")
	}
	// promtool accepts it and makes blocks.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CROSSTEAM_REQUIRE_TOOLS") == "1" {
			t.Fatal("promtool not found and CROSSTEAM_REQUIRE_TOOLS=1")
		}
		t.Skip("promtool not found; install Debian's prometheus package (make tools)")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "history.om")
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", file, filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	blocks, _ := filepath.Glob(filepath.Join(dir, "data", "*", "meta.json"))
	if len(blocks) == 0 {
		t.Error("promtool wrote no block")
	}
}

func TestWriteRejects(t *testing.T) {
	cfg, ds := scenario(t)
	for _, o := range []Options{{From: h(0), To: h(10)}, {From: h(10), To: h(10), Step: time.Hour}} {
		if _, err := Write(&bytes.Buffer{}, cfg, ds, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
