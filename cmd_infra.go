package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/urfave/cli/v2"

	"pigsty/infra"
)

func init() { command(210, infraCommand) }

func infraCommand() *cli.Command {
	return &cli.Command{
		Name:  "infra",
		Usage: "run the control plane and this host's agent in the foreground (etcd, desired state, PostgreSQL)",
		Description: "Stores pigsty.yml as the desired state and converges this host to it. Children (etcd, Patroni,\n" +
			"pgbouncer, HAProxy) run in sessions of their own: stopping this process leaves them serving, and\n" +
			"the next `pigsty infra` adopts them. `pigsty stop` stops everything.",
		Flags: append(inventoryFlags(),
			&cli.StringFlag{Name: "ip", Usage: "this host's address in the inventory (default: the infra host among this machine's addresses)"},
		),
		Action: func(c *cli.Context) error {
			inv := c.String("inventory")
			if inv != "" {
				abs, err := filepath.Abs(inv)
				if err != nil {
					return err
				}
				if _, err := os.Stat(abs); err != nil {
					if !c.IsSet("inventory") {
						inv = "" // no pigsty.yml here: run what etcd or the cache holds
					} else {
						return cli.Exit(err.Error(), 2)
					}
				} else {
					inv = abs
				}
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("infra: find this binary: %w", err)
			}
			return infra.Run(c.Context, infra.Config{
				Inventory: inv, ExtraVars: c.StringSlice("extra-vars"), IP: c.String("ip"),
				Root: c.String("root"), Exe: exe, Version: version, StopAll: stopSignal(),
			}, slog.Default())
		},
	}
}

// stopSignal fires on SIGUSR1, which `pigsty stop` sends the agent to have
// it stop every child before it exits.
func stopSignal() <-chan struct{} {
	stopAll := make(chan struct{})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		<-sig
		signal.Stop(sig)
		close(stopAll)
	}()
	return stopAll
}
