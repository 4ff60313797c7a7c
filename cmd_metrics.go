package main

import (
	"github.com/urfave/cli/v2"

	"pigsty/monitor/vmsingle"
)

// `pigsty run metrics`: the metrics store, started by the infra agent.
func init() {
	runSubcommand(&cli.Command{
		Name:  "metrics",
		Usage: "the embedded metrics store (VictoriaMetrics single-node)",
		Flags: []cli.Flag{&cli.StringFlag{Name: "config", Required: true}},
		Action: func(c *cli.Context) error {
			return vmsingle.Main(c.Context, c.String("config"))
		},
	})
}
