package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"pigsty/infra/etcd"
	"pigsty/node/dbsu"
)

// runCommand holds the binary's own servers and helpers that the agent
// re-executes as children ("isolation by re-exec"); users do not call it.
func init() { command(1000, runCommand) }

// runSubcommands are the servers and helpers the agent re-executes; a
// feature adds its own from its file with runSubcommand.
var runSubcommands []*cli.Command

func runSubcommand(c *cli.Command) { runSubcommands = append(runSubcommands, c) }

func runCommand() *cli.Command {
	return &cli.Command{
		Name:   "run",
		Hidden: true,
		Usage:  "run an embedded server or helper (started by the agent)",
		Subcommands: append([]*cli.Command{
			{
				Name:  "etcd",
				Usage: "the embedded etcd member",
				Flags: []cli.Flag{&cli.StringFlag{Name: "config", Required: true}},
				Action: func(c *cli.Context) error {
					return etcd.Main(c.Context, c.String("config"))
				},
			},
			{
				Name:  "dbsu",
				Usage: "SQL as the database superuser: a JSON request on stdin, JSON lines on stdout",
				Action: func(c *cli.Context) error {
					return dbsu.Main(c.Context, os.Stdin, os.Stdout)
				},
			},
		}, runSubcommands...),
	}
}
