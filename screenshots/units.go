package screenshots

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// formatValue renders v in a Grafana unit, roughly as Grafana does: the
// units the boards use (short, s, percentunit, dateTimeAsIso,
// bool_yes_no, reqps); any other unit is a plain number.
func formatValue(unit string, v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	switch unit {
	case "s":
		return formatSeconds(v)
	case "percentunit":
		return trimNumber(v*100, 1) + "%"
	case "dateTimeAsIso": // milliseconds since the epoch, as Grafana reads it
		return time.UnixMilli(int64(v)).UTC().Format("2006-01-02 15:04")
	case "bool_yes_no":
		if v == 0 {
			return "No"
		}
		return "Yes"
	case "reqps":
		return formatShort(v) + " req/s"
	}
	return formatShort(v)
}

// formatShort is Grafana's "short": SI-like suffixes above a thousand.
func formatShort(v float64) string {
	a := math.Abs(v)
	for _, s := range []struct {
		min    float64
		suffix string
	}{{1e12, " T"}, {1e9, " Bil"}, {1e6, " Mil"}, {1e3, " K"}} {
		if a >= s.min {
			return trimNumber(v/s.min, 2) + s.suffix
		}
	}
	if a != 0 && a < 0.01 {
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
	return trimNumber(v, 2)
}

// formatSeconds renders a duration in its largest sensible unit.
func formatSeconds(v float64) string {
	a := math.Abs(v)
	for _, u := range []struct {
		secs float64
		name string
	}{{365 * 86400, " year"}, {7 * 86400, " week"}, {86400, " day"}, {3600, " hour"}, {60, " min"}, {1, " s"}} {
		if a >= u.secs {
			return trimNumber(v/u.secs, 1) + u.name
		}
	}
	if a == 0 {
		return "0 s"
	}
	return trimNumber(v*1000, 0) + " ms"
}

// trimNumber formats with at most dec decimals and no trailing zeros.
func trimNumber(v float64, dec int) string {
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
