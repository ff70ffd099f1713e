package screenshots

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Series is one series of a query result: an instant query's has one
// point.
type Series struct {
	Labels map[string]string
	Points []Point
}

// Point is a sample.
type Point struct {
	T time.Time
	V float64
}

// Querier runs PromQL.
type Querier interface {
	// Query is an instant query at at (a scalar result is one series
	// without labels).
	Query(ctx context.Context, expr string, at time.Time) ([]Series, error)
	// QueryRange is a range query.
	QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]Series, error)
}

// Prometheus queries a Prometheus server's HTTP API at URL.
type Prometheus struct {
	URL    string
	Client *http.Client // nil: a client with a one-minute timeout
}

var defaultClient = &http.Client{Timeout: time.Minute}

// Query implements Querier.
func (p *Prometheus) Query(ctx context.Context, expr string, at time.Time) ([]Series, error) {
	return p.do(ctx, "/api/v1/query", url.Values{"query": {expr}, "time": {unixString(at)}})
}

// QueryRange implements Querier.
func (p *Prometheus) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]Series, error) {
	return p.do(ctx, "/api/v1/query_range", url.Values{"query": {expr}, "start": {unixString(start)},
		"end": {unixString(end)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}})
}

func unixString(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

// Error is a query Prometheus refused or failed, with its HTTP status.
type Error struct {
	Status    int
	ErrorType string
	Message   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("HTTP %d: %s: %s", e.Status, e.ErrorType, e.Message)
}

func (p *Prometheus) do(ctx context.Context, path string, params url.Values) ([]Series, error) {
	c := p.Client
	if c == nil {
		c = defaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(p.URL, "/")+path, strings.NewReader(params.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, &Error{Status: resp.StatusCode, ErrorType: "bad_response", Message: err.Error()}
	}
	if resp.StatusCode != http.StatusOK || r.Status != "success" {
		return nil, &Error{Status: resp.StatusCode, ErrorType: r.ErrorType, Message: r.Error}
	}
	return parseResult(r.Data.ResultType, r.Data.Result)
}

// parseResult reads a vector, matrix or scalar result.
func parseResult(typ string, raw json.RawMessage) ([]Series, error) {
	point := func(pt [2]json.RawMessage) (Point, error) {
		var ts float64
		var v string
		if err := json.Unmarshal(pt[0], &ts); err != nil {
			return Point{}, err
		}
		if err := json.Unmarshal(pt[1], &v); err != nil {
			return Point{}, err
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			f = math.NaN()
		}
		sec, frac := math.Modf(ts)
		return Point{T: time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC(), V: f}, nil
	}
	switch typ {
	case "vector":
		var rs []struct {
			Metric map[string]string  `json:"metric"`
			Value  [2]json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(raw, &rs); err != nil {
			return nil, err
		}
		out := make([]Series, len(rs))
		for i, r := range rs {
			pt, err := point(r.Value)
			if err != nil {
				return nil, err
			}
			out[i] = Series{Labels: r.Metric, Points: []Point{pt}}
		}
		return out, nil
	case "matrix":
		var rs []struct {
			Metric map[string]string    `json:"metric"`
			Values [][2]json.RawMessage `json:"values"`
		}
		if err := json.Unmarshal(raw, &rs); err != nil {
			return nil, err
		}
		out := make([]Series, len(rs))
		for i, r := range rs {
			s := Series{Labels: r.Metric}
			for _, v := range r.Values {
				pt, err := point(v)
				if err != nil {
					return nil, err
				}
				s.Points = append(s.Points, pt)
			}
			out[i] = s
		}
		return out, nil
	case "scalar":
		var pt [2]json.RawMessage
		if err := json.Unmarshal(raw, &pt); err != nil {
			return nil, err
		}
		p, err := point(pt)
		return []Series{{Labels: map[string]string{}, Points: []Point{p}}}, err
	}
	return nil, fmt.Errorf("result type %q is not supported", typ)
}
