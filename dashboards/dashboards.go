// Package dashboards generates crossteam's Grafana dashboards, Prometheus
// recording and alerting rules, and Grafana provisioning files from the
// metric catalogue, so a dashboard or rule can only name metrics the
// exporter serves (generation stops on any other name).
//
// The output is committed (dashboards/json, dashboards/rules and
// deploy/grafana/provisioning) and golden-tested against the generator:
// `go test ./dashboards -update` rewrites it. Dashboards are built with
// Grafana's own typed builders (grafana-foundation-sdk), validated strictly
// against its schema, and linted with Grafana's dashboard-linter --strict
// (and the rules with pint) built from pinned sources (linters_test.go).
// They are never round-tripped through grafana-tools/sdk's Board type, which
// drops modern panel fields.
package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// DatasourceUID is the fixed uid of the provisioned Prometheus datasource;
// the dashboards' datasource variable defaults to it.
const DatasourceUID = "crossteam-prometheus"

// Tag marks every crossteam dashboard; the boards link to each other by it.
const Tag = "crossteam"

// Board is one generated dashboard.
type Board struct {
	UID   string // stable: Grafana URLs and the API upsert key on it
	Title string
	File  string // file name under the dashboards directory
	build func(Board) *dashboard.DashboardBuilder
}

// Boards lists the dashboards in display order.
var Boards = []Board{
	{UID: "crossteam-overview", Title: "Cross-team overview", File: "overview.json", build: overviewBoard},
	{UID: "crossteam-handoffs", Title: "Cross-team handoffs", File: "handoffs.json", build: handoffsBoard},
	{UID: "crossteam-milestones", Title: "Joint milestones", File: "milestones.json", build: milestonesBoard},
	{UID: "crossteam-agreements", Title: "Working agreements", File: "agreements.json", build: agreementsBoard},
	{UID: "crossteam-team", Title: "Team view", File: "team.json", build: teamBoard},
	{UID: "crossteam-decisions", Title: "Decisions and dependencies", File: "decisions.json", build: decisionsBoard},
	{UID: "crossteam-health", Title: "crossteam health", File: "health.json", build: healthBoard},
}

// Render builds a board and returns its JSON (indented, newline-terminated,
// byte-for-byte stable).
func (b Board) Render() (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			g, ok := r.(genError)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("dashboard %s: %w", b.UID, g.err)
		}
	}()
	d, err := b.build(b).Build()
	if err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", b.UID, err)
	}
	// Stable panel ids keep ?viewPanel= links working across releases.
	id := uint32(0)
	for _, p := range d.Panels {
		id++
		switch {
		case p.Panel != nil:
			p.Panel.Id = ptr(id)
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		}
	}
	out, err = json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", b.UID, err)
	}
	return append(out, '\n'), nil
}

// File is one generated file, its path relative to the output directory.
type File struct {
	Path string
	Data []byte
}

// Layout says where generated files go, relative to an output directory.
const (
	JSONDir         = "json"
	RulesDir        = "rules"
	ProvisioningDir = "provisioning"
)

// Generate renders every dashboard, rule file and provisioning file.
func Generate(o Options) ([]File, error) {
	var files []File
	var errs []error
	for _, b := range Boards {
		data, err := b.Render()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files = append(files, File{Path: filepath.Join(JSONDir, b.File), Data: data})
	}
	rules, err := RuleFiles()
	if err != nil {
		errs = append(errs, err)
	}
	for _, r := range rules {
		files = append(files, File{Path: filepath.Join(RulesDir, r.Path), Data: r.Data})
	}
	for _, p := range ProvisioningFiles(o) {
		files = append(files, File{Path: filepath.Join(ProvisioningDir, p.Path), Data: p.Data})
	}
	return files, errors.Join(errs...)
}

// Write writes files under dir, creating directories as needed.
func Write(dir string, files []File) error {
	for _, f := range files {
		p := filepath.Join(dir, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	return nil
}

// newBoard starts a dashboard with the settings every board shares:
// read-only (provisioned boards change in code), the crossteam tag, links
// to the other boards, a datasource variable and a job/instance pair so
// one board can show a single exporter shard or all of them.
func newBoard(b Board, description string, vars ...cog.Builder[dashboard.VariableModel]) *dashboard.DashboardBuilder {
	d := dashboard.NewDashboardBuilder(b.Title).Uid(b.UID).Description(description).
		Tags([]string{Tag}).Readonly().Time("now-90d", "now").Refresh("5m").
		Timezone(common.TimeZoneBrowser).Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("crossteam").Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{Tag}).AsDropdown(true).IncludeVars(true).KeepTime(true).TargetBlank(false).Icon("external link").Tooltip("").Url(""))
	d.WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus").
		Current(option("Prometheus", DatasourceUID)))
	d.WithVariable(queryVar("job", "Job", "label_values("+metric("build_info")+", job)", true))
	d.WithVariable(queryVar("instance", "Instance", `label_values(`+metric("build_info")+`{job=~"$job"}, instance)`, true))
	for _, v := range vars {
		d.WithVariable(v)
	}
	return d
}

func option(text, value string) dashboard.VariableOption {
	return dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: ptr(text)}, Value: dashboard.StringOrArrayOfString{String: ptr(value)}}
}

// queryVar is a label_values variable refreshed when the time range
// changes; multi-valued ones offer All (matching any value).
func queryVar(name, label, query string, multi bool) *dashboard.QueryVariableBuilder {
	v := dashboard.NewQueryVariableBuilder(name).Label(label).Datasource(ds).
		Query(dashboard.StringOrMap{String: ptr(query)}).Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc)
	if multi {
		v.Multi(true).IncludeAll(true).AllValue(".+").Current(option("All", "$__all"))
	} else {
		v.Current(option("", ""))
	}
	return v
}

// pairVars are the from_team and to_team variables.
func pairVars() []cog.Builder[dashboard.VariableModel] {
	return []cog.Builder[dashboard.VariableModel]{
		queryVar("from_team", "From team", `label_values(`+metric("handoffs_total")+`{job=~"$job"}, from_team)`, true),
		queryVar("to_team", "To team", `label_values(`+metric("handoffs_total")+`{job=~"$job"}, to_team)`, true),
	}
}
