package main

import (
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"pigsty/node/recovery"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

func init() {
	command(420, forkCommand)
	runSubcommand(&cli.Command{
		Name:  "copy",
		Usage: "copy a data directory as the dbsu, hot between pg_backup_start and pg_backup_stop: a JSON request on stdin, JSON lines on stdout",
		Action: func(c *cli.Context) error {
			return recovery.CopyMain(c.Context, os.Stdin, os.Stdout)
		},
	})
}

func forkCommand() *cli.Command {
	return &cli.Command{
		Name:      "fork",
		Usage:     "clone this host's running instance into a fork beside it (Pigsty's pg-fork), list or remove forks",
		ArgsUsage: "<n>",
		Description: "Fork n (1-9) is a copy made between pg_backup_start and pg_backup_stop, copy-on-write where the\n" +
			"filesystem can, in <pg_data><n>, listening on pg_port + 10000·n (Pigsty's <n>5432) while that is a\n" +
			"valid port and on pg_port + 1000·n above it (12432, 13432, 14432 for forks 7-9), archiving off.",
		Flags: append(inventoryFlags(),
			&cli.IntFlag{Name: "port", Usage: "the fork's port"},
			&cli.StringFlag{Name: "limit", Aliases: []string{"l"}, Usage: "the instance to fork, when this host has several"},
		),
		Action: runFork,
		Subcommands: []*cli.Command{
			{Name: "ls", Usage: "the forks of this host's instance", Flags: append(inventoryFlags(), &cli.BoolFlag{Name: "json", Usage: "print JSON"},
				&cli.StringFlag{Name: "limit", Aliases: []string{"l"}, Usage: "the instance, when this host has several"}), Action: runForkList},
			{Name: "rm", Usage: "stop a fork and delete it", ArgsUsage: "<n>", Flags: append(inventoryFlags(),
				&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
				&cli.StringFlag{Name: "limit", Aliases: []string{"l"}, Usage: "the instance, when this host has several"}), Action: runForkRemove},
		},
	}
}

// forkSource is this host's instance.
func forkSource(c *cli.Context) (*inventory.Instance, recovery.Env, error) {
	inv, err := statusInventory(c)
	if err != nil {
		return nil, recovery.Env{}, err
	}
	list, err := targetInstances(inv, c.String("limit"))
	if err != nil {
		return nil, recovery.Env{}, cli.Exit(err.Error(), 2)
	}
	if len(list) != 1 {
		return nil, recovery.Env{}, cli.Exit(fmt.Sprintf("%d instances here: choose one with -l <ins>", len(list)), 2)
	}
	i := list[0]
	cred, home, err := dbsuOf(i)
	if err != nil {
		return nil, recovery.Env{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, recovery.Env{}, err
	}
	out := c.App.Writer
	return i, recovery.Env{Layout: layout.New(c.String("root"), i), Cred: cred, Home: home, Exe: exe, By: "pigsty fork",
		Say: func(s string) { fmt.Fprintln(out, s) }}, nil
}

func forkID(c *cli.Context, usage string) (int, error) {
	n, err := strconv.Atoi(c.Args().First())
	if err != nil || n < 1 || n > 9 {
		return 0, cli.Exit(fmt.Sprintf("usage: pigsty %s (n: 1-9)", usage), 2)
	}
	return n, nil
}

func runFork(c *cli.Context) error {
	n, err := forkID(c, "fork <n>")
	if err != nil {
		return err
	}
	i, env, err := forkSource(c)
	if err != nil {
		return err
	}
	start := time.Now()
	fk, err := recovery.MakeFork(c.Context, i, recovery.ForkOptions{ID: n, Port: c.Int("port"), Exe: env.Exe}, env)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	fmt.Fprintf(c.App.Writer, "==> fork %d of %s runs in %s in %s\n", fk.ID, i.Name, time.Since(start).Round(100*time.Millisecond), fk.Data)
	fmt.Fprintf(c.App.Writer, "    port %d: postgres://<user>@%s:%d/<db> as %s's HBA allows; psql -h %s -p %d -U %s\n",
		fk.Port, i.IP, fk.Port, i.Name, fk.Socket, fk.Port, i.Params.PgDbsu)
	fmt.Fprintf(c.App.Writer, "    remove it with: pigsty fork rm %d\n", fk.ID)
	return nil
}

func runForkList(c *cli.Context) error {
	i, env, err := forkSource(c)
	if err != nil {
		return err
	}
	forks := recovery.Forks(i, env)
	if c.Bool("json") {
		if forks == nil {
			forks = []recovery.Fork{}
		}
		return writeJSON(c.App.Writer, forks)
	}
	w := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "FORK\tDATA\tPORT\tCLUSTER NAME\tRUNNING")
	for _, fk := range forks {
		state := "no"
		if fk.PID != 0 {
			state = fmt.Sprintf("yes (pid %d)", fk.PID)
		}
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\n", fk.ID, fk.Data, fk.Port, fk.Cluster, state)
	}
	return w.Flush()
}

func runForkRemove(c *cli.Context) error {
	n, err := forkID(c, "fork rm <n>")
	if err != nil {
		return err
	}
	i, env, err := forkSource(c)
	if err != nil {
		return err
	}
	if err := confirmYes(c, fmt.Sprintf("stop fork %d of %s and delete its data?", n, i.Name)); err != nil {
		return err
	}
	if err := recovery.RemoveFork(c.Context, i, n, env); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	fmt.Fprintf(c.App.Writer, "fork %d removed\n", n)
	return nil
}
