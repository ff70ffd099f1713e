package dashboards

// The parts of a committed board the tests read (its panels, targets and
// variables). Linting itself is Grafana's dashboard-linter
// (linters_test.go); the imitation of its rules that lived here is gone.

import (
	"encoding/json"
	"regexp"
	"testing"
)

type lintDS struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type lintTarget struct {
	Expr       string  `json:"expr"`
	RefID      string  `json:"refId"`
	Datasource *lintDS `json:"datasource"`
}

type lintPanel struct {
	Type        string       `json:"type"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Datasource  *lintDS      `json:"datasource"`
	Targets     []lintTarget `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
		Overrides []struct {
			Properties []struct {
				ID    string `json:"id"`
				Value any    `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	Panels []lintPanel `json:"panels"` // a collapsed row's panels
}

type lintVar struct {
	Type       string  `json:"type"`
	Name       string  `json:"name"`
	Label      string  `json:"label"`
	Query      any     `json:"query"`
	Datasource *lintDS `json:"datasource"`
	Refresh    int     `json:"refresh"`
	Multi      bool    `json:"multi"`
	IncludeAll bool    `json:"includeAll"`
}

type lintDashboard struct {
	UID        string      `json:"uid"`
	Title      string      `json:"title"`
	Editable   bool        `json:"editable"`
	Panels     []lintPanel `json:"panels"`
	Templating struct {
		List []lintVar `json:"list"`
	} `json:"templating"`
	// Annotations: queries whose series mark instants on the time series
	// panels (the decision annotations); their metrics are checked too.
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
}

func decodeLint(t *testing.T, file string, data []byte) lintDashboard {
	t.Helper()
	var d lintDashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return d
}

// allPanels flattens rows; rows themselves carry no queries.
func (d lintDashboard) allPanels() []lintPanel {
	var out []lintPanel
	for _, p := range d.Panels {
		if p.Type == "row" {
			out = append(out, p.Panels...)
			continue
		}
		out = append(out, p)
	}
	return out
}

var labelValuesPattern = regexp.MustCompile(`^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$`)
var queryResultPattern = regexp.MustCompile(`^query_result\((.+)\)$`)

// variableExpr is the PromQL inside a query variable's label_values(expr,
// label) or query_result(expr).
func variableExpr(v lintVar) string {
	if v.Type != "query" {
		return ""
	}
	q, _ := v.Query.(string)
	if m := labelValuesPattern.FindStringSubmatch(q); m != nil {
		return m[1]
	}
	if m := queryResultPattern.FindStringSubmatch(q); m != nil {
		return m[1]
	}
	return q
}
