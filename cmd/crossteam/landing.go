package main

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/crossteam/crossteam/dashboards"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/resilience"
)

// externalLink is a landing page link to another server (the demo's fake
// APIs, Grafana). The toolkit's links are paths on this server: it strips
// their leading "/" and prefixes the route, which turned an absolute URL
// into "/http://...".
type externalLink struct {
	URL, Text, Description string
}

// landingPage is the exporter's home page: the exporter-toolkit page with
// its links on this server, plus, rendered per request, each target's
// state, last success and last error, and links to the boards (when
// --grafana.url is set) and to other servers.
type landingPage struct {
	logger      *slog.Logger
	health      *exposition.Health
	metricsPath string
	grafanaURL  string // "" = no board links
	external    []externalLink
	now         func() time.Time
	// served reports whether a snapshot is served: /review answers 503
	// before that, so the page links it only once there is one.
	served func() bool
	// scrub masks anything token-shaped in error texts: the collectors
	// scrub their own secrets; this is the last line before a browser.
	scrub *resilience.Scrubber
}

// maxErrorText caps an error shown on the page.
const maxErrorText = 600

type landingTarget struct {
	Source, Target, State, Class string
	LastSuccess, Ago             string
	Duration                     string
	Error                        string
}

type landingBoard struct{ URL, Title string }

var landingExtra = template.Must(template.New("landing").Parse(`
<h3>Targets</h3>
{{if .Targets}}<table>
<thead><tr><th>source</th><th>target</th><th>state</th><th>last success</th><th>last sync took</th><th>last error</th></tr></thead>
<tbody>
{{range .Targets}}<tr class="{{.Class}}"><td>{{.Source}}</td><td>{{.Target}}</td><td>{{.State}}</td><td>{{if .LastSuccess}}<time datetime="{{.LastSuccess}}">{{.LastSuccess}}</time> ({{.Ago}} ago){{else}}never{{end}}</td><td>{{.Duration}}</td><td>{{if .Error}}<code>{{.Error}}</code>{{else}}-{{end}}</td></tr>
{{end}}</tbody>
</table>{{else}}<p>No targets configured (sources in the configuration file).</p>{{end}}
{{if .Boards}}<h3>Dashboards</h3>
<ul>{{range .Boards}}<li><a href="{{.URL}}">{{.Title}}</a></li>{{end}}</ul>{{end}}
{{if .External}}<h3>Elsewhere</h3>
<ul>{{range .External}}<li><a href="{{.URL}}">{{.Text}}</a>{{if .Description}}: {{.Description}}{{end}}</li>{{end}}</ul>{{end}}
`))

const landingCSS = `table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
tr.down td { background: #fde8e4; }
tr.pending td { background: #f4f4f4; }
code { white-space: pre-wrap; word-break: break-word; }`

func (p *landingPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/favicon.ico" {
		// Every browser asks for it; no icon, but no 404 either.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	now := p.now()
	var data struct {
		Targets  []landingTarget
		Boards   []landingBoard
		External []externalLink
	}
	for _, t := range p.health.Targets() {
		lt := landingTarget{Source: t.Source, Target: t.Target}
		switch {
		case !t.Synced:
			lt.State, lt.Class = "not synced yet", "pending"
		case t.Up:
			lt.State, lt.Class = "up", "up"
		default:
			lt.State, lt.Class = "failing", "down"
		}
		if t.Synced {
			lt.Duration = t.LastDuration.Round(time.Millisecond).String()
		}
		if !t.LastSuccess.IsZero() {
			lt.LastSuccess = t.LastSuccess.UTC().Format(time.RFC3339)
			lt.Ago = max(0, now.Sub(t.LastSuccess)).Round(time.Second).String()
		}
		if msg := p.scrub.String(t.LastError); len(msg) > maxErrorText {
			lt.Error = strings.ToValidUTF8(msg[:maxErrorText], "") + "…"
		} else {
			lt.Error = msg
		}
		data.Targets = append(data.Targets, lt)
	}
	if p.grafanaURL != "" {
		base := strings.TrimRight(p.grafanaURL, "/")
		for _, b := range dashboards.Boards {
			data.Boards = append(data.Boards, landingBoard{URL: base + "/d/" + b.UID, Title: b.Title})
		}
	}
	data.External = p.external
	var extra bytes.Buffer
	if err := landingExtra.Execute(&extra, data); err != nil {
		p.logger.Error("landing page", "err", err)
		http.Error(w, "landing page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	links := []web.LandingLinks{{Address: p.metricsPath, Text: "Metrics"}}
	if p.served == nil || p.served() {
		links = append(links, web.LandingLinks{Address: "/review", Text: "Weekly cross-team review (last complete week)"})
	}
	links = append(links,
		web.LandingLinks{Address: "/config", Text: "Configuration (secrets masked)"},
		web.LandingLinks{Address: "/-/healthy", Text: "Health"},
		web.LandingLinks{Address: "/-/ready", Text: "Readiness"})
	page, err := web.NewLandingPage(web.LandingConfig{
		Name:        programName,
		Description: "Team-to-team handoff metrics from GitHub and Jira history",
		Version:     version.Info(),
		Links:       links,
		ExtraHTML:   extra.String(),
		ExtraCSS:    landingCSS,
		// crossteam serves no /debug/pprof: no links to it.
		Profiling: "false",
	})
	if err != nil {
		http.Error(w, "landing page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	page.ServeHTTP(w, r)
}
