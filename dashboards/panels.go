package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

func ptr[T any](v T) *T { return &v }

// ds is the templated datasource every panel and query uses, so a board
// works against any Prometheus the viewer picks.
var ds = common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${datasource}")}

// q is one PromQL target of a panel.
type q struct {
	expr   string
	legend string
	ref    string // refId; A, B, ... when empty
}

func targets(instant, tableFormat bool, qs []q) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], 0, len(qs))
	for i, x := range qs {
		ref := x.ref
		if ref == "" {
			ref = string(rune('A' + i))
		}
		b := prometheus.NewDataqueryBuilder().Datasource(ds).RefId(ref).Expr(x.expr)
		if x.legend != "" {
			b.LegendFormat(x.legend)
		}
		if instant {
			b.Instant()
		} else {
			b.Range()
		}
		if tableFormat {
			b.Format(prometheus.PromQueryFormatTable)
		}
		out = append(out, b)
	}
	return out
}

// thresholds: green below the first step, then the given colours.
func thresholds(steps ...any) *dashboard.ThresholdsConfigBuilder {
	list := []dashboard.Threshold{{Value: nil, Color: "green"}}
	for i := 0; i+1 < len(steps); i += 2 {
		list = append(list, dashboard.Threshold{Value: ptr(steps[i].(float64)), Color: steps[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(list)
}

// statPanel shows one number per series, coloured by thresholds.
func statPanel(title, desc, unit string, w, h uint32, th *dashboard.ThresholdsConfigBuilder, qs ...q) *stat.PanelBuilder {
	if th == nil {
		th = thresholds()
	}
	return stat.NewPanelBuilder().Title(title).Description(desc).Unit(unit).Span(w).Height(h).
		Datasource(ds).Targets(targets(true, false, qs)).Thresholds(th).
		ColorMode(common.BigValueColorModeBackground).GraphMode(common.BigValueGraphModeNone).
		JustifyMode(common.BigValueJustifyModeAuto).TextMode(common.BigValueTextModeAuto).
		WideLayout(true).ShowPercentChange(false).PercentChangeColorMode(common.PercentChangeColorModeStandard).
		Orientation(common.VizOrientationAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false).Fields(""))
}

// tablePanel shows instant query results as rows.
func tablePanel(title, desc, unit string, w, h uint32, qs ...q) *table.PanelBuilder {
	return table.NewPanelBuilder().Title(title).Description(desc).Unit(unit).Span(w).Height(h).
		Datasource(ds).Targets(targets(true, true, qs)).Thresholds(thresholds()).
		FrameIndex(0).ShowHeader(true).CellHeight(common.TableCellHeightSm).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"}).CountRows(false))
}

// timeseriesPanel draws range queries as lines (or bars).
func timeseriesPanel(title, desc, unit string, w, h uint32, qs ...q) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().Title(title).Description(desc).Unit(unit).Span(w).Height(h).
		Datasource(ds).Targets(targets(false, false, qs)).Thresholds(thresholds()).
		Min(0).FillOpacity(10).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).ShowLegend(true).Calcs([]string{})).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
}

// trendPanel is a timeseries panel of a trend over window w: at most
// TrendMaxDataPoints points, none closer than w's rule group interval
// (finer steps only repeat the recorded values).
func trendPanel(w, title, desc, unit string, width, h uint32, qs ...q) *timeseries.PanelBuilder {
	return timeseriesPanel(title, desc, unit, width, h, qs...).Interval(windowInterval(w)).MaxDataPoints(TrendMaxDataPoints)
}

// barGaugePanel draws one bar per series (progress, shares).
func barGaugePanel(title, desc, unit string, w, h uint32, qs ...q) *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().Title(title).Description(desc).Unit(unit).Span(w).Height(h).
		Datasource(ds).Targets(targets(true, false, qs)).Thresholds(thresholds()).
		DisplayMode(common.BarGaugeDisplayModeBasic).Orientation(common.VizOrientationHorizontal).
		ShowUnfilled(true).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false).Fields(""))
}

// transformation helpers.
func organize(exclude []string, rename map[string]string, order []string) dashboard.DataTransformerConfig {
	ex := map[string]bool{}
	for _, e := range exclude {
		ex[e] = true
	}
	idx := map[string]int{}
	for i, o := range order {
		idx[o] = i
	}
	return dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
		"excludeByName": ex, "renameByName": rename, "indexByName": idx,
	}}
}

func merge() dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}
}

// matrix turns rows of (row, column, value) into a row x column grid.
func matrix(rowField, columnField, valueField string) dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: "groupingToMatrix", Options: map[string]any{
		"rowField": rowField, "columnField": columnField, "valueField": valueField, "emptyValue": "null",
	}}
}

// itemLink makes the named table column a link to the item's URL (the
// url label of the same row).
func itemLink(column string) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{{Id: "links", Value: []map[string]any{{
		"title": "Open ${__data.fields.key} in GitHub/Jira", "url": "${__data.fields.url}", "targetBlank": true,
	}}}}
}

// unitOverride sets a column's unit.
func unitOverride(unit string) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{{Id: "unit", Value: unit}}
}

// progressBar renders a 0..1 column as a bar.
func progressBar() []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{
		{Id: "unit", Value: "percentunit"},
		{Id: "min", Value: 0},
		{Id: "max", Value: 1},
		{Id: "custom.cellOptions", Value: map[string]any{"type": "gauge", "mode": "basic", "valueDisplayMode": "text"}},
	}
}

func sortDesc(column string) []cog.Builder[common.TableSortByFieldState] {
	return []cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName(column).Desc(true)}
}

type tableBuilder = table.PanelBuilder

type dashboardBuilder = dashboard.DashboardBuilder

type cogSort = []cog.Builder[common.TableSortByFieldState]

func sortAsc(column string) cogSort {
	return cogSort{common.NewTableSortByFieldStateBuilder().DisplayName(column).Desc(false)}
}
