package dashboards

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/crossteam/crossteam/catalogue"
)

// Grafana macros and variables are not PromQL. Like dashboard-linter's
// lint/variables.go, replace them before parsing: the range macros with
// durations nobody writes by hand, so the rules can still tell them apart,
// and $var / ${var} with a plain word.
const (
	rateIntervalMagic = 8869990787 * time.Millisecond
	rangeMagic        = 8869990788 * time.Millisecond
	intervalMagic     = 8869990789 * time.Millisecond
)

var varPattern = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

func substituteVariables(expr string) string {
	r := strings.NewReplacer(
		"$__rate_interval", fmt.Sprintf("%dms", rateIntervalMagic.Milliseconds()),
		"${__rate_interval}", fmt.Sprintf("%dms", rateIntervalMagic.Milliseconds()),
		// Before $__range, which it starts with: a number of seconds.
		"$__range_s", "8869990788",
		"$__range", fmt.Sprintf("%dms", rangeMagic.Milliseconds()),
		"$__interval", fmt.Sprintf("%dms", intervalMagic.Milliseconds()),
	)
	return varPattern.ReplaceAllString(r.Replace(expr), "$1")
}

var promqlParser = parser.NewParser(parser.Options{})

// parsePromQL parses a dashboard or rule expression.
func parsePromQL(expr string) (parser.Expr, error) {
	return promqlParser.ParseExpr(substituteVariables(expr))
}

// labelsAddedByPrometheus exist on every scraped series.
var labelsAddedByPrometheus = []string{"job", "instance", "__name__"}

// catalogueProblems lists every selector in expr that names a metric outside
// the catalogue (and outside recorded, the series of recording rules), or a
// label that metric does not have.
//
// recorded maps each recording rule's series to the labels it keeps; nil
// labels are not checked.
func catalogueProblems(expr string, recorded map[string][]string) []string {
	e, err := parsePromQL(expr)
	if err != nil {
		return []string{fmt.Sprintf("does not parse: %v", err)}
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if vs.Name == "" {
			out = append(out, fmt.Sprintf("selector %s has no metric name", vs))
			return nil
		}
		if labels, ok := recorded[vs.Name]; ok {
			for _, lm := range vs.LabelMatchers {
				if labels != nil && lm.Name != "__name__" && !slices.Contains(labels, lm.Name) {
					out = append(out, fmt.Sprintf("recorded series %s has no label %q", vs.Name, lm.Name))
				}
			}
			return nil
		}
		m, ok := catalogue.ByName(vs.Name)
		if !ok {
			out = append(out, fmt.Sprintf("metric %s is not in the catalogue", vs.Name))
			return nil
		}
		for _, lm := range vs.LabelMatchers {
			if lm.Name == "__name__" || slices.Contains(labelsAddedByPrometheus, lm.Name) || slices.Contains(m.Labels, lm.Name) ||
				(lm.Name == "le" && m.Type == catalogue.Histogram) {
				continue
			}
			out = append(out, fmt.Sprintf("metric %s has no label %q", vs.Name, lm.Name))
		}
		return nil
	})
	return out
}

// parseDuration reads a PromQL duration such as 7d or 1w.
func parseDuration(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	return time.Duration(d), err
}
