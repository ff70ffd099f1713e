package main

import (
	"fmt"

	"github.com/alecthomas/kingpin/v2"

	"github.com/crossteam/crossteam/config"
)

// checkConfigCommand loads and validates a configuration file and prints
// what it resolves to, without contacting any source.
type checkConfigCommand struct {
	*kingpin.CmdClause
	file      string
	skipFiles bool
}

func newCheckConfigCommand(app *kingpin.Application) *checkConfigCommand {
	c := &checkConfigCommand{CmdClause: app.Command("check-config", "Check a configuration file and print a summary of it.")}
	c.Flag("config.file", "Configuration file to check.").Default("crossteam.yml").StringVar(&c.file)
	c.Flag("config.skip-secret-files", "Do not check that token_file and private_key_file exist (when checking a file for another machine).").BoolVar(&c.skipFiles)
	return c
}

func (c *checkConfigCommand) run(e *env) int {
	cfg, err := config.Load(c.file)
	if err != nil {
		// Load's error starts with "config FILE: "; a joined error gets
		// that prefix on each of its lines.
		printError(e.stderr, fmt.Sprintf("config %s: ", c.file), err)
		return exitError
	}
	if err := cfg.CheckSecretFiles(); err != nil && !c.skipFiles {
		printError(e.stderr, fmt.Sprintf("config %s: ", c.file), fmt.Errorf("config %s: %w", c.file, err))
		return exitError
	}
	e.logger.Debug("configuration loaded", "file", c.file, "teams", len(cfg.TeamNames()))
	fmt.Fprintf(e.stdout, "config OK: %s\n", c.file)
	if err := cfg.WriteSummary(e.stdout); err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", programName, err)
		return exitError
	}
	return exitOK
}
