package review

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// Headings are the sections, in order.
var Headings = []string{
	"Small wins",
	"Handoffs this week",
	"Stalled and at risk",
	"Decisions and actions",
	"What changed in the numbers",
}

// MaxListed caps each list of signal items in the review.
const MaxListed = 20

// Short prints 3d4h, 5h12m or 42m.
func Short(d time.Duration) string {
	d = d.Round(time.Minute)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	m := (d - h*time.Hour) / time.Minute
	switch {
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}

// QuantileLabel prints a quantile: "-" without observations, ">30d0h" in
// the +Inf bucket.
func QuantileLabel(q Quantile) string {
	switch {
	case !q.OK:
		return "-"
	case q.Inf:
		return ">" + Short(seconds(q.Seconds))
	}
	return Short(seconds(q.Seconds))
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Trend compares this week's median with the previous weeks'.
func (p PairWeek) Trend() string {
	switch {
	case !p.Median.OK || !p.PrevMedian.OK:
		return "–"
	case p.Median.Seconds < p.PrevMedian.Seconds:
		return "faster"
	case p.Median.Seconds > p.PrevMedian.Seconds:
		return "slower"
	}
	return "same"
}

// Title is the review's title.
func (r *Review) Title() string {
	return fmt.Sprintf("Cross-team review, week %s (%s to %s, %s)", r.Week,
		r.Start.Format("Mon 2 Jan 2006"), r.End.Add(-time.Second).Format("Mon 2 Jan 2006"), r.Location)
}

// Markdown writes the digest.
func (r *Review) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", r.Title())

	fmt.Fprintf(&b, "## %s\n\n", Headings[0])
	if len(r.Wins) == 0 {
		b.WriteString("No joint milestone completed and no pair got faster this week.\n")
	}
	for _, win := range r.Wins {
		fmt.Fprintf(&b, "- **%s**: %s. Thanks to %s.\n", linkMD(win.Title, win.URL), win.Detail, teamsText(win))
	}

	fmt.Fprintf(&b, "\n## %s\n\n", Headings[1])
	if len(r.Pairs) == 0 {
		b.WriteString("No handoffs in this week or the previous four.\n")
	} else {
		fmt.Fprintf(&b, "| source | from | to | started | picked up | median pickup | p90 pickup | previous %d weeks median / p90 | trend |\n|---|---|---|---:|---:|---:|---:|---:|---|\n", PreviousWeeks)
		for _, p := range r.Pairs {
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %s | %s | %s / %s | %s |\n", p.Source, p.From, p.To, p.Started, p.PickedUp,
				QuantileLabel(p.Median), QuantileLabel(p.P90), QuantileLabel(p.PrevMedian), QuantileLabel(p.PrevP90), p.Trend())
		}
	}

	fmt.Fprintf(&b, "\n## %s\n\n", Headings[2])
	fmt.Fprintf(&b, "Stalled handoffs at the end of the week: %d.\n", r.StalledTotal)
	for _, h := range r.Stalled {
		fmt.Fprintf(&b, "- [%s](%s) %s: %s → %s (%s), idle %s\n", h.Key, h.URL, mdEscape(h.Title), h.From, h.To, h.Kind, Short(h.Idle))
	}
	if n := r.StalledTotal - len(r.Stalled); n > 0 {
		fmt.Fprintf(&b, "- and %d more (handoffs.max_stalled_exported)\n", n)
	}
	fmt.Fprintf(&b, "\nJoint milestones at risk: %d.\n", len(r.AtRisk))
	for _, m := range r.AtRisk {
		fmt.Fprintf(&b, "- %s (%s): %.0f%% done, %.0f%% expected, due %s; teams %s\n", linkMD(m.Title, m.URL), m.Source,
			100*m.Progress, 100*m.Expected, m.Due.In(r.Location).Format("Mon 2 Jan"), strings.Join(m.Teams, ", "))
	}

	fmt.Fprintf(&b, "\n## %s\n\n", Headings[3])
	if len(r.Signals) == 0 {
		b.WriteString("No signal items (decisions, post-mortem actions) are configured or open.\n")
	} else {
		b.WriteString("| signal | open at start | open at end | change | oldest open | teams at end |\n|---|---:|---:|---:|---:|---|\n")
		for _, s := range r.Signals {
			fmt.Fprintf(&b, "| %s | %d | %d | %+d | %s | %s |\n", s.Signal, s.OpenStart, s.OpenEnd, s.OpenEnd-s.OpenStart, oldestText(s), sharesText(s.TeamsAtEnd))
		}
		for _, s := range r.Signals {
			for _, l := range []struct {
				what  string
				items []SignalItem
			}{{"opened", s.Opened}, {"closed or resolved", s.Resolved}} {
				if len(l.items) == 0 {
					continue
				}
				fmt.Fprintf(&b, "\n%s %s this week (%d):\n", s.Signal, l.what, len(l.items))
				for i, it := range l.items {
					if i == MaxListed {
						fmt.Fprintf(&b, "- and %d more\n", len(l.items)-MaxListed)
						break
					}
					fmt.Fprintf(&b, "- %s %s (%s)\n", linkMD(it.Key, it.URL), mdEscape(it.Title), it.Team)
				}
			}
		}
	}

	fmt.Fprintf(&b, "\n## %s\n\n", Headings[4])
	fmt.Fprintf(&b, "- Configuration fingerprint %s (when it differs from last week's, history was re-derived with the new mapping).\n", r.Changes.ConfigFingerprint)
	if t := configText(r.Changes); t != "" {
		fmt.Fprintf(&b, "- %s\n", t)
	}
	for _, s := range r.Changes.Sources {
		fmt.Fprintf(&b, "- %s: %d items (%+d), %d events (%+d) this week; newest stored event %s before the week's end.\n",
			s.Source, s.ItemsEnd, s.ItemsEnd-s.ItemsStart, s.EventsEnd, s.EventsEnd-s.EventsStart, Short(s.Age))
	}
	for _, l := range healthLines(r.Changes) {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// configText says when the running configuration was loaded, when known.
func configText(c Changes) string {
	if c.ConfigLoaded.IsZero() {
		return ""
	}
	t := "Configuration loaded " + c.ConfigLoaded.UTC().Format(time.RFC3339)
	if !c.ConfigLoaded.Before(c.Start) {
		return t + ": during or after this week, so every figure here, earlier weeks included, was re-derived with it."
	}
	return t + ", before this week: the week's figures were derived with it throughout."
}

// healthLines are the sources' health, one line each.
func healthLines(c Changes) []string {
	if !c.HealthKnown {
		return []string{"Source health: computed offline from the store; failed syncs are shown by crossteam_source_up on the boards."}
	}
	var out []string
	for _, h := range c.Health {
		if !h.Up {
			last := "never"
			if !h.LastSuccess.IsZero() {
				last = h.LastSuccess.UTC().Format(time.RFC3339)
			}
			out = append(out, fmt.Sprintf("Source %s/%s is failing; last successful sync %s.", h.Source, h.Target, last))
		}
	}
	if len(out) == 0 {
		out = append(out, fmt.Sprintf("All %d sources synced successfully at their last attempt.", len(c.Health)))
	}
	return out
}

func oldestText(s SignalWeek) string {
	if s.OpenEnd == 0 {
		return "-"
	}
	return Short(s.Oldest) + " (" + s.OldestTeam + ")"
}

func sharesText(ts []TeamShare) string {
	parts := make([]string, 0, len(ts))
	for _, t := range ts {
		parts = append(parts, fmt.Sprintf("%s %d", t.Team, t.Items))
	}
	return strings.Join(parts, ", ")
}

func teamsText(w Win) string {
	parts := make([]string, 0, len(w.Teams))
	for _, t := range w.Teams {
		if w.Kind == WinMilestone {
			parts = append(parts, fmt.Sprintf("%s (%d items)", t.Team, t.Items))
		} else {
			parts = append(parts, t.Team)
		}
	}
	return strings.Join(parts, ", ")
}

func linkMD(title, url string) string {
	if url == "" {
		return mdEscape(title)
	}
	return fmt.Sprintf("[%s](%s)", mdEscape(title), url)
}

var mdEscaper = strings.NewReplacer("|", `\|`, "[", `\[`, "]", `\]`, "*", `\*`, "_", `\_`, "`", "\\`")

func mdEscape(s string) string { return mdEscaper.Replace(s) }

// HTML writes the self-contained page: inline styles, one inline SVG chart
// per pair.
func (r *Review) HTML(w io.Writer) error {
	charts := make([]template.HTML, len(r.Pairs))
	for i, p := range r.Pairs {
		svg, err := pairChart(p)
		if err != nil {
			return fmt.Errorf("chart %s %s->%s: %w", p.Source, p.From, p.To, err)
		}
		charts[i] = template.HTML(svg) // generated by gonum/plot from our numbers, no user markup
	}
	var buf bytes.Buffer
	err := pageTmpl.Execute(&buf, struct {
		R        *Review
		Headings []string
		Charts   []template.HTML
		Prev     int
		Max      int
	}{r, Headings, charts, PreviousWeeks, MaxListed})
	if err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

var pageTmpl = template.Must(template.New("review").Funcs(template.FuncMap{
	"q":      QuantileLabel,
	"short":  Short,
	"teams":  teamsText,
	"shares": sharesText,
	"oldest": oldestText,
	"pct":    func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
	"day":    func(t time.Time, loc *time.Location) string { return t.In(loc).Format("Mon 2 Jan") },
	"sub":    func(a, b int) int { return a - b },
	"health": healthLines,
	"config": configText,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.R.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
td.n{text-align:right}.charts{display:flex;flex-wrap:wrap;gap:1em}.chart{border:1px solid #eee}
.faster{color:#1a7f37}.slower{color:#b35900}.muted{color:#666}
</style></head><body>
<h1>{{.R.Title}}</h1>
<section id="small-wins"><h2>{{index .Headings 0}}</h2>
{{if not .R.Wins}}<p>No joint milestone completed and no pair got faster this week.</p>{{end}}
<ul>{{range .R.Wins}}<li><strong>{{if .URL}}<a href="{{.URL}}">{{.Title}}</a>{{else}}{{.Title}}{{end}}</strong>: {{.Detail}}. Thanks to {{teams .}}.</li>{{end}}</ul>
</section>
<section id="handoffs"><h2>{{index .Headings 1}}</h2>
{{if not .R.Pairs}}<p>No handoffs in this week or the previous {{.Prev}}.</p>{{else}}
<table><tr><th>source</th><th>from</th><th>to</th><th>started</th><th>picked up</th><th>median pickup</th><th>p90 pickup</th><th>previous {{.Prev}} weeks median / p90</th><th>trend</th></tr>
{{range .R.Pairs}}<tr><td>{{.Source}}</td><td>{{.From}}</td><td>{{.To}}</td><td class="n">{{.Started}}</td><td class="n">{{.PickedUp}}</td><td class="n">{{q .Median}}</td><td class="n">{{q .P90}}</td><td class="n">{{q .PrevMedian}} / {{q .PrevP90}}</td><td class="{{.Trend}}">{{.Trend}}</td></tr>
{{end}}</table>
<p class="muted">Charts: median pickup (hours) per week, the reviewed week last; weeks without a pickup have no point.</p>
<div class="charts">{{range .Charts}}<div class="chart">{{.}}</div>{{end}}</div>{{end}}
</section>
<section id="stalled"><h2>{{index .Headings 2}}</h2>
<p>Stalled handoffs at the end of the week: {{.R.StalledTotal}}.</p>
{{if .R.Stalled}}<table><tr><th>item</th><th>title</th><th>from</th><th>to</th><th>kind</th><th>idle</th></tr>
{{range .R.Stalled}}<tr><td><a href="{{.URL}}">{{.Key}}</a></td><td>{{.Title}}</td><td>{{.From}}</td><td>{{.To}}</td><td>{{.Kind}}</td><td class="n">{{short .Idle}}</td></tr>
{{end}}</table>{{end}}
<p>Joint milestones at risk: {{len .R.AtRisk}}.</p>
{{if .R.AtRisk}}<table><tr><th>milestone</th><th>source</th><th>done</th><th>expected</th><th>due</th><th>teams</th></tr>
{{range .R.AtRisk}}<tr><td>{{if .URL}}<a href="{{.URL}}">{{.Title}}</a>{{else}}{{.Title}}{{end}}</td><td>{{.Source}}</td><td class="n">{{pct .Progress}}</td><td class="n">{{pct .Expected}}</td><td>{{day .Due $.R.Location}}</td><td>{{range $i, $t := .Teams}}{{if $i}}, {{end}}{{$t}}{{end}}</td></tr>
{{end}}</table>{{end}}
</section>
<section id="decisions"><h2>{{index .Headings 3}}</h2>
{{if not .R.Signals}}<p>No signal items (decisions, post-mortem actions) are configured or open.</p>{{else}}
<table><tr><th>signal</th><th>open at start</th><th>open at end</th><th>change</th><th>oldest open</th><th>teams at end</th></tr>
{{range .R.Signals}}<tr><td>{{.Signal}}</td><td class="n">{{.OpenStart}}</td><td class="n">{{.OpenEnd}}</td><td class="n">{{sub .OpenEnd .OpenStart}}</td><td class="n">{{oldest .}}</td><td>{{shares .TeamsAtEnd}}</td></tr>
{{end}}</table>
{{range .R.Signals}}{{$s := .}}{{if .Opened}}<p>{{.Signal}} opened this week ({{len .Opened}}):</p><ul>{{range $i, $it := .Opened}}{{if lt $i $.Max}}<li><a href="{{$it.URL}}">{{$it.Key}}</a> {{$it.Title}} ({{$it.Team}})</li>{{end}}{{end}}{{if gt (len .Opened) $.Max}}<li>and {{sub (len .Opened) $.Max}} more</li>{{end}}</ul>{{end}}
{{if .Resolved}}<p>{{.Signal}} closed or resolved this week ({{len .Resolved}}):</p><ul>{{range $i, $it := .Resolved}}{{if lt $i $.Max}}<li><a href="{{$it.URL}}">{{$it.Key}}</a> {{$it.Title}} ({{$it.Team}})</li>{{end}}{{end}}{{if gt (len .Resolved) $.Max}}<li>and {{sub (len .Resolved) $.Max}} more</li>{{end}}</ul>{{end}}{{end}}{{end}}
</section>
<section id="changes"><h2>{{index .Headings 4}}</h2>
<ul><li>Configuration fingerprint {{.R.Changes.ConfigFingerprint}} (when it differs from last week's, history was re-derived with the new mapping).</li>
{{with config .R.Changes}}<li>{{.}}</li>{{end}}
{{range .R.Changes.Sources}}<li>{{.Source}}: {{.ItemsEnd}} items ({{sub .ItemsEnd .ItemsStart}} new), {{.EventsEnd}} events ({{sub .EventsEnd .EventsStart}} new) this week; newest stored event {{short .Age}} before the week's end.</li>
{{end}}{{range health .R.Changes}}<li>{{.}}</li>
{{end}}</ul>
</section>
</body></html>
`))
