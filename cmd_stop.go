package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"

	"pigsty/infra"
)

func init() { command(900, stopCommand) }

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:  "stop",
		Usage: "stop everything pigsty runs on this host: HAProxy, pgbouncer, Patroni and PostgreSQL, etcd, the agent",
		Flags: []cli.Flag{&cli.StringFlag{Name: "ip", Usage: "this host's address in the inventory"}},
		Action: func(c *cli.Context) error {
			// Under systemd the unit would restart the agent; stop the
			// unit first (it stops the agent only), then everything else.
			if c.String("root") == "/" && systemd() {
				if _, err := os.Stat(unitPath); err == nil {
					fmt.Fprintln(c.App.Writer, "stopping pigsty.service")
					if err := systemctl(c.Context, "stop", "pigsty.service"); err != nil {
						return err
					}
				}
			}
			return infra.Stop(c.Context, infra.Config{Root: c.String("root"), IP: c.String("ip"), Exe: "/proc/self/exe"},
				slog.Default(), func(msg string) { fmt.Fprintln(c.App.Writer, msg) })
		},
	}
}
