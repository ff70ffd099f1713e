package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"time"
)

// promAPI queries Prometheus's HTTP API.
type promAPI struct{ base string }

// sample is an instant vector element (or a scalar, with no labels).
type sample struct {
	Metric map[string]string
	Time   float64
	Value  string // as Prometheus writes it: "NaN", "+Inf", "1.5"
}

func (s sample) float() float64 {
	f, err := strconv.ParseFloat(s.Value, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// apiResponse is Prometheus's response envelope.
type apiResponse struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Data      json.RawMessage `json:"data"`
}

func (p *promAPI) get(ctx context.Context, path string, params url.Values) (json.RawMessage, error) {
	u := p.base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	code, b, err := httpGet(ctx, u)
	if err != nil {
		return nil, err
	}
	var r apiResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d: %s", path, code, tail(string(b), 300))
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s: %s", path, r.ErrorType, r.Error)
	}
	return r.Data, nil
}

// query runs an instant query now.
func (p *promAPI) query(ctx context.Context, expr string) ([]sample, error) {
	return p.queryAt(ctx, expr, time.Time{})
}

// queryAt runs an instant query at at (the zero time: now).
func (p *promAPI) queryAt(ctx context.Context, expr string, at time.Time) ([]sample, error) {
	params := url.Values{"query": {expr}}
	if !at.IsZero() {
		params.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', -1, 64))
	}
	data, err := p.get(ctx, "/api/v1/query", params)
	if err != nil {
		return nil, err
	}
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	parsePoint := func(raw [2]json.RawMessage) (float64, string, error) {
		var ts float64
		var v string
		if err := json.Unmarshal(raw[0], &ts); err != nil {
			return 0, "", err
		}
		return ts, v, json.Unmarshal(raw[1], &v)
	}
	switch d.ResultType {
	case "vector":
		var rs []struct {
			Metric map[string]string  `json:"metric"`
			Value  [2]json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(d.Result, &rs); err != nil {
			return nil, err
		}
		out := make([]sample, len(rs))
		for i, r := range rs {
			ts, v, err := parsePoint(r.Value)
			if err != nil {
				return nil, err
			}
			out[i] = sample{Metric: r.Metric, Time: ts, Value: v}
		}
		return out, nil
	case "scalar":
		var pt [2]json.RawMessage
		if err := json.Unmarshal(d.Result, &pt); err != nil {
			return nil, err
		}
		ts, v, err := parsePoint(pt)
		return []sample{{Metric: map[string]string{}, Time: ts, Value: v}}, err
	}
	return nil, fmt.Errorf("query %s: result type %s, want an instant vector or a scalar", expr, d.ResultType)
}

// labelValues lists a label's values over the series matching match.
func (p *promAPI) labelValues(ctx context.Context, label, match string) ([]string, error) {
	params := url.Values{}
	if match != "" {
		params.Set("match[]", match)
	}
	data, err := p.get(ctx, "/api/v1/label/"+url.PathEscape(label)+"/values", params)
	if err != nil {
		return nil, err
	}
	var out []string
	return out, json.Unmarshal(data, &out)
}

type ruleGroup struct {
	Name           string    `json:"name"`
	File           string    `json:"file"`
	LastEvaluation time.Time `json:"lastEvaluation"`
	Rules          []struct {
		Name      string `json:"name"`
		Type      string `json:"type"` // recording or alerting
		Health    string `json:"health"`
		LastError string `json:"lastError"`
	} `json:"rules"`
}

func (p *promAPI) rules(ctx context.Context) ([]ruleGroup, error) {
	data, err := p.get(ctx, "/api/v1/rules", nil)
	if err != nil {
		return nil, err
	}
	var d struct {
		Groups []ruleGroup `json:"groups"`
	}
	return d.Groups, json.Unmarshal(data, &d)
}

type firingAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	Value       string            `json:"value"`
}

func (p *promAPI) alerts(ctx context.Context) ([]firingAlert, error) {
	data, err := p.get(ctx, "/api/v1/alerts", nil)
	if err != nil {
		return nil, err
	}
	var d struct {
		Alerts []firingAlert `json:"alerts"`
	}
	return d.Alerts, json.Unmarshal(data, &d)
}
