package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

// healthcheckCommand asks a running exporter whether it is ready: the
// container image (distroless) has no curl or wget for a compose or
// Kubernetes exec healthcheck.
type healthcheckCommand struct {
	*kingpin.CmdClause
	url     string
	timeout time.Duration
}

func newHealthcheckCommand(app *kingpin.Application) *healthcheckCommand {
	c := &healthcheckCommand{CmdClause: app.Command("healthcheck", "Exit 0 if the exporter at --url answers 2xx, else 1 with the reason (a container healthcheck: the image has no curl).")}
	c.Flag("url", "Endpoint to ask: /-/ready (a snapshot is served) or /-/healthy (the process runs).").
		Default("http://localhost" + defaultListenAddress + "/-/ready").StringVar(&c.url)
	c.Flag("timeout", "How long to wait for the answer.").Default("5s").DurationVar(&c.timeout)
	return c
}

func (c *healthcheckCommand) run(e *env) int {
	req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, c.url, nil)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s healthcheck: --url %q: %v\n", programName, c.url, err)
		return exitUsage
	}
	resp, err := (&http.Client{Timeout: c.timeout}).Do(req)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s healthcheck: %v\n", programName, err)
		return exitError
	}
	defer resp.Body.Close()
	// The first line of the answer says why (e.g. "Not ready: first sync running").
	line, _ := bufio.NewReader(http.MaxBytesReader(nil, resp.Body, 4096)).ReadString('\n')
	line = strings.TrimSpace(line)
	if resp.StatusCode/100 != 2 {
		fmt.Fprintf(e.stderr, "%s healthcheck: GET %s: %s: %s\n", programName, c.url, resp.Status, line)
		return exitError
	}
	fmt.Fprintln(e.stdout, line)
	return exitOK
}
