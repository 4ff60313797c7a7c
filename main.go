// Command pigsty turns plain Linux hosts into highly available PostgreSQL
// clusters, described in one Pigsty inventory (pigsty.yml).
//
// This file wires the command line only; each command lives in its own
// cmd_*.go file and calls into the domain packages. Nothing here may call
// flag.Parse: the embedded metrics store owns the global flag set.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	keepInheritedToSelf()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := newApp()
	if err := app.RunContext(ctx, interspersed(app, os.Args)); err != nil {
		var ex cli.ExitCoder
		if errors.As(err, &ex) {
			if msg := err.Error(); msg != "" {
				fmt.Fprintln(os.Stderr, msg)
			}
			os.Exit(ex.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "pigsty:", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:                 "pigsty",
		Usage:                "highly available PostgreSQL on your own servers, from one pigsty.yml",
		Version:              version,
		HideHelpCommand:      true,
		EnableBashCompletion: true,
		// -e takes JSON objects, whose commas are not separators.
		DisableSliceFlagSeparator: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log level: debug, info, warn, error", EnvVars: []string{"PIGSTY_LOG_LEVEL"}},
			// root puts every path of this host under a directory: the
			// multi-host test harness gives each host its own.
			&cli.StringFlag{Name: "root", Value: "/", Hidden: true, EnvVars: []string{"PIGSTY_ROOT"}},
		},
		Before: func(c *cli.Context) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
				return cli.Exit(fmt.Sprintf("--log-level: %v", err), 2)
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
			return nil
		},
		Commands: commandList(),
	}
}

// commands are the CLI's commands, each added by the file that defines it
// (see command), in the order they are listed in --help.
var commands []struct {
	order int
	make  func() *cli.Command
}

// command adds a command; order places it in --help.
func command(order int, make func() *cli.Command) {
	commands = append(commands, struct {
		order int
		make  func() *cli.Command
	}{order, make})
}

func commandList() []*cli.Command {
	sort.SliceStable(commands, func(a, b int) bool { return commands[a].order < commands[b].order })
	out := make([]*cli.Command, 0, len(commands))
	for _, c := range commands {
		out = append(out, c.make())
	}
	return out
}

// inventoryFlags are the flags of every command that reads pigsty.yml.
func inventoryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "inventory", Aliases: []string{"f"}, Value: "pigsty.yml", Usage: "inventory file", EnvVars: []string{"PIGSTY_INVENTORY"}},
		&cli.StringSliceFlag{Name: "extra-vars", Aliases: []string{"e"}, Usage: "override parameters: `k=v`, '{json}' or @file.yml (repeatable)"},
	}
}
