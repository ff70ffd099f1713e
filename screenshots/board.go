package screenshots

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Board is the part of a Grafana dashboard JSON model the renderer reads.
type Board struct {
	Title  string  `json:"title"`
	Panels []Panel `json:"panels"`
	Time   struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
}

// Panel is a panel or a row (a collapsed row holds its panels).
type Panel struct {
	Type            string           `json:"type"`
	Title           string           `json:"title"`
	GridPos         GridPos          `json:"gridPos"`
	Interval        string           `json:"interval"`
	MaxDataPoints   int              `json:"maxDataPoints"`
	TimeFrom        string           `json:"timeFrom"`
	Targets         []Target         `json:"targets"`
	Panels          []Panel          `json:"panels"`
	Transformations []Transformation `json:"transformations"`
	FieldConfig     FieldConfig      `json:"fieldConfig"`
	Options         struct {
		ColorMode string `json:"colorMode"`
		SortBy    []struct {
			DisplayName string `json:"displayName"`
			Desc        bool   `json:"desc"`
		} `json:"sortBy"`
	} `json:"options"`
}

// GridPos is a panel's place on Grafana's 24-column grid.
type GridPos struct{ H, W, X, Y int }

// Target is one query of a panel.
type Target struct {
	RefID        string `json:"refId"`
	Expr         string `json:"expr"`
	LegendFormat string `json:"legendFormat"`
	Format       string `json:"format"`
	Instant      bool   `json:"instant"`
	Interval     string `json:"interval"`
	Hide         bool   `json:"hide"`
}

// Transformation is a Grafana data transformation.
type Transformation struct {
	ID      string          `json:"id"`
	Options json.RawMessage `json:"options"`
}

// FieldConfig is a panel's field defaults and per-field overrides.
type FieldConfig struct {
	Defaults  FieldDefaults `json:"defaults"`
	Overrides []struct {
		Matcher struct {
			ID      string `json:"id"`
			Options string `json:"options"`
		} `json:"matcher"`
		Properties []struct {
			ID    string          `json:"id"`
			Value json.RawMessage `json:"value"`
		} `json:"properties"`
	} `json:"overrides"`
}

// FieldDefaults are the field settings the renderer uses.
type FieldDefaults struct {
	Unit       string   `json:"unit"`
	Min        *float64 `json:"min"`
	Max        *float64 `json:"max"`
	Thresholds struct {
		Steps []struct {
			Value *float64 `json:"value"`
			Color string   `json:"color"`
		} `json:"steps"`
	} `json:"thresholds"`
	Custom struct {
		DrawStyle string `json:"drawStyle"`
		Stacking  struct {
			Mode string `json:"mode"`
		} `json:"stacking"`
	} `json:"custom"`
}

// ParseBoard reads a dashboard JSON model.
func ParseBoard(b []byte) (*Board, error) {
	var d Board
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	if len(d.Panels) == 0 {
		return nil, fmt.Errorf("board %q has no panels", d.Title)
	}
	return &d, nil
}

// Flat lists the board's panels and rows in grid order, a collapsed row's
// panels after it.
func (d *Board) Flat() []Panel {
	var out []Panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// Range is the board's default time range (now-<duration> to now).
func (d *Board) Range() (time.Duration, error) {
	if d.Time.To != "now" || !strings.HasPrefix(d.Time.From, "now-") {
		return 0, fmt.Errorf("board %q: time range %q to %q: only now-<duration> to now is supported", d.Title, d.Time.From, d.Time.To)
	}
	r, err := model.ParseDuration(strings.TrimPrefix(d.Time.From, "now-"))
	if err != nil {
		return 0, fmt.Errorf("board %q: time range from %q: %w", d.Title, d.Time.From, err)
	}
	return time.Duration(r), nil
}

// panelRange is the time range a panel shows at now: its relative time
// (timeFrom: "now/fQ" this quarter so far, "7d" or "now-7d" the last 7
// days) or the board's.
func panelRange(p Panel, board time.Duration, now time.Time) (time.Duration, error) {
	switch tf := p.TimeFrom; {
	case tf == "":
		return board, nil
	case tf == "now/fQ":
		y, m, _ := now.UTC().Date()
		start := time.Date(y, time.Month((int(m)-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
		return now.Sub(start), nil
	default:
		d, err := model.ParseDuration(strings.TrimPrefix(tf, "now-"))
		if err != nil {
			return 0, fmt.Errorf("panel %q: timeFrom %q: %w", p.Title, tf, err)
		}
		return time.Duration(d), nil
	}
}

// RoundInterval rounds an interval as Grafana's rangeutil.roundInterval
// does before it becomes a query's step (also used by the board
// benchmark, e2e/boards_bench_test.go).
func RoundInterval(d time.Duration) time.Duration {
	table := []struct{ below, to time.Duration }{
		{15 * time.Millisecond, 10 * time.Millisecond},
		{35 * time.Millisecond, 20 * time.Millisecond},
		{75 * time.Millisecond, 50 * time.Millisecond},
		{150 * time.Millisecond, 100 * time.Millisecond},
		{350 * time.Millisecond, 200 * time.Millisecond},
		{750 * time.Millisecond, 500 * time.Millisecond},
		{1500 * time.Millisecond, time.Second},
		{3500 * time.Millisecond, 2 * time.Second},
		{7500 * time.Millisecond, 5 * time.Second},
		{12500 * time.Millisecond, 10 * time.Second},
		{17500 * time.Millisecond, 15 * time.Second},
		{25 * time.Second, 20 * time.Second},
		{45 * time.Second, 30 * time.Second},
		{90 * time.Second, time.Minute},
		{210 * time.Second, 2 * time.Minute},
		{450 * time.Second, 5 * time.Minute},
		{750 * time.Second, 10 * time.Minute},
		{1050 * time.Second, 15 * time.Minute},
		{1500 * time.Second, 20 * time.Minute},
		{2700 * time.Second, 30 * time.Minute},
		{5400 * time.Second, time.Hour},
		{9000 * time.Second, 2 * time.Hour},
		{16200 * time.Second, 3 * time.Hour},
		{32400 * time.Second, 6 * time.Hour},
		{24 * time.Hour, 12 * time.Hour},
		{7 * 24 * time.Hour, 24 * time.Hour},
		{21 * 24 * time.Hour, 7 * 24 * time.Hour},
		{42 * 24 * time.Hour, 30 * 24 * time.Hour}, // 6 weeks, as Grafana
	}
	for _, r := range table {
		if d < r.below {
			return r.to
		}
	}
	return 365 * 24 * time.Hour
}

// step is the step Grafana sends for a range target: the range over the
// panel's data points (maxDataPoints, else its width in pixels), rounded,
// and no finer than the target's or the panel's min interval (else the
// data source's scrape interval).
func step(p Panel, tg Target, rng time.Duration, widthPx int, scrape time.Duration) (time.Duration, error) {
	points := p.MaxDataPoints
	if points <= 0 {
		points = max(1, widthPx)
	}
	minIv := scrape
	for _, iv := range []string{tg.Interval, p.Interval} {
		if iv == "" {
			continue
		}
		d, err := model.ParseDuration(strings.TrimPrefix(iv, ">"))
		if err != nil {
			return 0, fmt.Errorf("panel %q: interval %q: %w", p.Title, iv, err)
		}
		minIv = time.Duration(d)
		break
	}
	s := RoundInterval(rng / time.Duration(points))
	// Prometheus answers at most 11,000 points per series.
	s = max(s, minIv, rng/11000, time.Second)
	return s.Truncate(time.Second), nil
}
