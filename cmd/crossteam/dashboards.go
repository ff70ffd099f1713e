package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"

	"github.com/crossteam/crossteam/dashboards"
	"github.com/crossteam/crossteam/dashboards/grafana"
)

// grafanaTokenEnv holds the Grafana token; tokens are never flags, so they
// stay out of shell history and process listings.
const grafanaTokenEnv = "CROSSTEAM_GRAFANA_TOKEN"

// dashboardsCommand writes the dashboards, rules and Grafana provisioning
// files, and/or pushes the dashboards to a Grafana through its API.
type dashboardsCommand struct {
	*kingpin.CmdClause
	out            string
	dashboardsPath string
	prometheusURL  string
	grafanaURL     string
	tokenFile      string
	folderUID      string
	folderTitle    string
	datasource     string
	message        string
}

func newDashboardsCommand(app *kingpin.Application) *dashboardsCommand {
	c := &dashboardsCommand{CmdClause: app.Command("dashboards",
		"Write the Grafana dashboards, Prometheus rules and Grafana provisioning files (--out), and/or push the dashboards to Grafana's HTTP API (--grafana.url; token from $"+grafanaTokenEnv+" or --grafana.token-file).")}
	c.Flag("out", "Directory to write json/, rules/ and provisioning/ into.").PlaceHolder("DIR").StringVar(&c.out)
	c.Flag("provisioning.dashboards-path", "Where Grafana finds the dashboard JSON files (the dashboard provider's path).").
		Default(dashboards.DefaultDashboardsPath).StringVar(&c.dashboardsPath)
	c.Flag("provisioning.prometheus-url", "URL of the provisioned Prometheus datasource.").
		Default(dashboards.DefaultPrometheusURL).StringVar(&c.prometheusURL)
	c.Flag("grafana.url", "Grafana to push the dashboards to, e.g. https://grafana.example.com.").PlaceHolder("URL").StringVar(&c.grafanaURL)
	c.Flag("grafana.token-file", "File holding the Grafana service-account token (or user:password); default: $"+grafanaTokenEnv+".").PlaceHolder("FILE").StringVar(&c.tokenFile)
	c.Flag("grafana.folder-uid", "Uid of the Grafana folder for the dashboards; created when missing.").Default(dashboards.FolderUID).StringVar(&c.folderUID)
	c.Flag("grafana.folder-title", "Title of the folder when it is created.").Default(dashboards.FolderTitle).StringVar(&c.folderTitle)
	c.Flag("grafana.datasource", "Uid or name of the Prometheus datasource the dashboards default to (falls back to Grafana's default Prometheus datasource).").
		Default(dashboards.DatasourceUID).StringVar(&c.datasource)
	c.Flag("grafana.message", "Version message saved with each changed dashboard.").
		Default("crossteam " + version.Version + " (" + version.Revision + ")").StringVar(&c.message)
	return c
}

func (c *dashboardsCommand) run(e *env) int {
	if c.out == "" && c.grafanaURL == "" {
		fmt.Fprintf(e.stderr, "%s: error: dashboards needs --out DIR, --grafana.url URL or both, try --help\n", programName)
		return exitUsage
	}
	if c.out != "" {
		files, err := dashboards.Generate(dashboards.Options{DashboardsPath: c.dashboardsPath, PrometheusURL: c.prometheusURL})
		if err == nil {
			err = dashboards.Write(c.out, files)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", programName, err)
			return exitError
		}
		for _, f := range files {
			fmt.Fprintf(e.stdout, "wrote %s\n", filepath.Join(c.out, f.Path))
		}
	}
	if c.grafanaURL == "" {
		return exitOK
	}
	token, err := c.token()
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", programName, err)
		return exitError
	}
	var boards []grafana.Dashboard
	for _, b := range dashboards.Boards {
		data, err := b.Render()
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", programName, err)
			return exitError
		}
		boards = append(boards, grafana.Dashboard{UID: b.UID, Title: b.Title, JSON: data})
	}
	res, err := grafana.Push(e.ctx, grafana.Config{
		URL: c.grafanaURL, Token: token, FolderUID: c.folderUID, FolderTitle: c.folderTitle,
		Datasource: c.datasource, Message: c.message,
		HTTPClient: &http.Client{Timeout: 30 * time.Second}, Logger: e.logger,
	}, boards)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: pushing to %s: %v\n", programName, c.grafanaURL, err)
		return exitError
	}
	fmt.Fprintf(e.stdout, "grafana %s: folder %s (%s), datasource %s: %d created, %d updated, %d unchanged\n",
		res.GrafanaVersion, c.folderUID, map[bool]string{true: "created", false: "reused"}[res.FolderCreated],
		res.Datasource, len(res.Created), len(res.Updated), len(res.Unchanged))
	return exitOK
}

// token reads the Grafana token from --grafana.token-file or the env.
func (c *dashboardsCommand) token() (string, error) {
	if c.tokenFile != "" {
		data, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return "", fmt.Errorf("grafana token: %w", err)
		}
		t := strings.TrimSpace(string(data))
		if t == "" {
			return "", fmt.Errorf("grafana token: %s is empty", c.tokenFile)
		}
		return t, nil
	}
	if t := strings.TrimSpace(os.Getenv(grafanaTokenEnv)); t != "" {
		return t, nil
	}
	return "", errors.New("grafana token: set $" + grafanaTokenEnv + " or --grafana.token-file")
}
