// Command crossteam exports team-to-team handoff metrics from GitHub and
// Jira history to Prometheus.
//
// It is one binary with subcommands. Each subcommand lives in its own file:
// a constructor that declares its flags on the kingpin application, and a
// run method that returns the exit code. To add one, write the file, call
// its constructor in run below and add a case to the switch.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"

	// Time zones of team calendars must resolve in minimal containers
	// without /usr/share/zoneinfo.
	_ "time/tzdata"
)

const programName = "crossteam"

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed, e.g. an invalid configuration
	exitUsage = 2 // bad flags or arguments
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// env is what every subcommand gets besides its own flags.
type env struct {
	ctx            context.Context // ends the command (tests); signals end it too
	stdout, stderr io.Writer
	logger         *slog.Logger
}

// run parses args, runs the selected subcommand and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

// runContext is run with a context that stops long-running commands.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := kingpin.New(programName, "Turns GitHub and Jira history into team-to-team handoff metrics for Prometheus.")
	app.UsageWriter(stdout).ErrorWriter(stderr)
	app.Version(version.Print(programName))
	app.HelpFlag.Short('h')
	// --help and --version print and then terminate; stop parsing there
	// without exiting the process, so run stays testable.
	app.Terminate(func(code int) { panic(terminated(code)) })
	logConfig := &promslog.Config{Writer: stderr}
	promslogflag.AddFlags(app, logConfig)

	checkConfig := newCheckConfigCommand(app)
	serve := newServeCommand(app)
	dashboardsCmd := newDashboardsCommand(app)
	demo := newDemoCommand(app)
	backfillCmd := newBackfillCommand(app)
	benchCmd := newBenchCommand(app)
	benchScrapers := newBenchScrapersCommand(app)
	reviewCmd := newReviewCommand(app)
	healthcheck := newHealthcheckCommand(app)

	selected, code, err := parse(app, args)
	if code >= 0 {
		return code
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v, try --help\n", programName, err)
		return exitUsage
	}
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, logger: promslog.New(logConfig)}

	switch selected {
	case checkConfig.FullCommand():
		return checkConfig.run(e)
	case serve.FullCommand():
		return serve.run(e)
	case dashboardsCmd.FullCommand():
		return dashboardsCmd.run(e)
	case demo.FullCommand():
		return demo.run(e)
	case backfillCmd.FullCommand():
		return backfillCmd.run(e)
	case benchCmd.FullCommand():
		return benchCmd.run(e)
	case benchScrapers.FullCommand():
		return benchScrapers.run(e)
	case reviewCmd.FullCommand():
		return reviewCmd.run(e)
	case healthcheck.FullCommand():
		return healthcheck.run(e)
	}
	fmt.Fprintf(stderr, "%s: error: command %q is not implemented\n", programName, selected)
	return exitUsage
}

// terminated is the code kingpin asked to exit with.
type terminated int

// parse runs app.Parse; code is the exit code kingpin asked for after
// --help or --version, or -1.
func parse(app *kingpin.Application, args []string) (selected string, code int, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, ok := r.(terminated)
			if !ok {
				panic(r)
			}
			code = int(t)
		}
	}()
	selected, err = app.Parse(args)
	return selected, -1, err
}

// printError writes err to w, one line per joined error, each prefixed so
// that every line names the file it concerns.
func printError(w io.Writer, prefix string, err error) {
	if joined, ok := errors.Unwrap(err).(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			fmt.Fprintf(w, "%s%v\n", prefix, e)
		}
		return
	}
	fmt.Fprintln(w, err)
}
