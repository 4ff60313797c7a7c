package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"pigsty/node/recovery"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/pgbackrest"
	"pigsty/pgsql/pitr"
)

func init() { command(410, pitrCommand) }

func pitrCommand() *cli.Command {
	return &cli.Command{
		Name:      "pitr",
		Usage:     "point-in-time recovery of a cluster from its backups (or another cluster's), in place or rehearsed in a fork",
		ArgsUsage: "<cls>",
		Description: "Prints the plan, asks, then: pauses HA, holds the members (their agents stop Patroni and PostgreSQL),\n" +
			"restores with pgBackRest, replays WAL to the target on a private socket with archiving off, verifies,\n" +
			"promotes, hands the cluster back to Patroni (archiving on, the stanza upgraded when the backups were\n" +
			"another cluster's), takes a full backup, resumes HA and clones the replicas again.\n" +
			"With --rehearse the recovery goes into a fork beside the primary, which keeps serving.\n" +
			"Runs on the host of the cluster's primary.",
		Flags: append(inventoryFlags(),
			&cli.StringFlag{Name: "time", Usage: "recover to this time ('2025-07-13 10:00:00+00', RFC 3339; no zone is this host's)"},
			&cli.StringFlag{Name: "lsn", Usage: "recover to this WAL location (0/4001C80)"},
			&cli.StringFlag{Name: "xid", Usage: "recover to this transaction"},
			&cli.StringFlag{Name: "name", Usage: "recover to this restore point (pg_create_restore_point)"},
			&cli.BoolFlag{Name: "immediate", Usage: "recover to the end of the backup only"},
			&cli.BoolFlag{Name: "latest", Usage: "recover to the end of the archived WAL (the default)"},
			&cli.StringFlag{Name: "set", Usage: "the backup to restore (a label of `pigsty backup ls`; default: pgBackRest's choice)"},
			&cli.BoolFlag{Name: "exclusive", Usage: "stop just before the target rather than after it"},
			&cli.StringFlag{Name: "timeline", Usage: "recover along this timeline: latest, current or a number"},
			&cli.StringFlag{Name: "action", Value: "promote", Usage: "at the target: promote, pause (wait there until --resume) or shutdown"},
			&cli.StringFlag{Name: "from", Usage: "restore another cluster's backups (its stanza)"},
			&cli.StringSliceFlag{Name: "repo", Usage: "repository option for the restore, `key=value` as in pgbackrest_repo (repeatable)"},
			&cli.BoolFlag{Name: "rehearse", Usage: "recover into a fork beside the primary and leave production untouched"},
			&cli.IntFlag{Name: "fork", Value: 1, Usage: "the fork a rehearsal uses (1-9)"},
			&cli.IntFlag{Name: "port", Usage: "the rehearsal fork's port (default: see `pigsty fork`)"},
			&cli.BoolFlag{Name: "aside", Usage: "copy the data directory to <pg_data>-backup before restoring (pg_pitr.backup)"},
			&cli.StringSliceFlag{Name: "db-include", Usage: "restore only this database (repeatable)"},
			&cli.StringSliceFlag{Name: "db-exclude", Usage: "leave this database out (repeatable)"},
			&cli.StringSliceFlag{Name: "link-map", Usage: "restore a link elsewhere, `link=path` (repeatable)"},
			&cli.IntFlag{Name: "process", Usage: "parallel restore processes"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan only"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			&cli.BoolFlag{Name: "resume", Usage: "continue a recovery that waits at its target (--action pause or shutdown)"},
			&cli.BoolFlag{Name: "abort", Usage: "hand a held cluster back to Patroni as it is, after a recovery failed or waits at its target"},
		),
		Action: runPitr,
	}
}

func runPitr(c *cli.Context) error {
	i, l, err := localMember(c, "pitr <cls> [--time …|--lsn …|--xid …|--name …|--immediate|--latest]")
	if err != nil {
		return err
	}
	out := c.App.Writer
	env, closeEnv, err := recoveryEnv(c, i, l, "pigsty pitr")
	if err != nil {
		return err
	}
	defer closeEnv()
	switch {
	case c.Bool("abort"):
		if err := confirmYes(c, fmt.Sprintf("hand %s back to Patroni as its data directory is now?", i.Name)); err != nil {
			return err
		}
		return exitOn(recovery.Abort(c.Context, i, env))
	case c.Bool("resume"):
		rec, ok, err := recovery.ReadRecord(l)
		if err != nil {
			return err
		}
		if !ok || rec.Status != recovery.StatusPaused || rec.Request.Cluster != i.Cluster {
			return cli.Exit(fmt.Sprintf("no recovery of %s waits at its target here (%s)", i.Cluster, recovery.RecordPath(l)), 1)
		}
		plan, err := planFor(c, rec.Request, i, env)
		if err != nil {
			return err
		}
		return exitOn(recovery.Resume(c.Context, plan, env))
	}
	req, err := pitrRequest(c, i)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	plan, err := planFor(c, req, i, env)
	if err != nil {
		return err
	}
	fmt.Fprint(out, plan)
	if c.Bool("dry-run") {
		return nil
	}
	if err := confirmYes(c, "go ahead?"); err != nil {
		return err
	}
	start := time.Now()
	if err := recovery.Run(c.Context, plan, env); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	fmt.Fprintf(out, "==> done in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// pitrRequest reads the flags.
func pitrRequest(c *cli.Context, i *inventory.Instance) (pitr.Request, error) {
	t := pgbackrest.Target{Set: c.String("set"), Exclusive: c.Bool("exclusive"), Timeline: c.String("timeline"), Action: c.String("action"), Type: "latest"}
	var given []string
	for _, k := range []string{"time", "lsn", "xid", "name"} {
		if v := c.String(k); v != "" {
			t.Type, t.Value = k, v
			given = append(given, "--"+k)
		}
	}
	for _, k := range []string{"immediate", "latest"} {
		if c.Bool(k) {
			t.Type = k
			given = append(given, "--"+k)
		}
	}
	if len(given) > 1 {
		return pitr.Request{}, fmt.Errorf("%s: give one target", strings.Join(given, ", "))
	}
	r := pitr.Request{Cluster: i.Cluster, From: c.String("from"), Target: t, Rehearse: c.Bool("rehearse"), Fork: c.Int("fork"), Port: c.Int("port"),
		CopyAside: c.Bool("aside"), DBInclude: c.StringSlice("db-include"), DBExclude: c.StringSlice("db-exclude"), Process: c.Int("process")}
	var err error
	if r.LinkMap, err = keyValues(c.StringSlice("link-map")); err != nil {
		return r, fmt.Errorf("--link-map: %w", err)
	}
	repo, err := keyValues(c.StringSlice("repo"))
	if err != nil {
		return r, fmt.Errorf("--repo: %w", err)
	}
	if len(repo) > 0 {
		r.Repo = map[string]inventory.Scalar{}
		for k, v := range repo {
			r.Repo[k] = inventory.Scalar(v)
		}
	}
	if r.From == i.Cluster {
		r.From = ""
	}
	return r, nil
}

func keyValues(list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: allowed: key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

// planFor plans a request and says why it cannot be done.
func planFor(c *cli.Context, req pitr.Request, i *inventory.Instance, env recovery.Env) (pitr.Plan, error) {
	plan, err := recovery.NewPlan(c.Context, req, i, env)
	if err != nil {
		return pitr.Plan{}, cli.Exit(err.Error(), 2)
	}
	return plan, nil
}

// recoveryEnv is a recovery run by the command on this host.
func recoveryEnv(c *cli.Context, i *inventory.Instance, l layout.Layout, by string) (recovery.Env, func(), error) {
	cred, home, err := dbsuOf(i)
	if err != nil {
		return recovery.Env{}, nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return recovery.Env{}, nil, err
	}
	out := c.App.Writer
	env := recovery.Env{Layout: l, Cred: cred, Home: home, By: by, Exe: exe, Say: func(s string) { fmt.Fprintln(out, s) }}
	inv, err := statusInventory(c)
	if err != nil {
		return env, nil, err
	}
	st, err := openStore(c.Context, c.String("root"), inv)
	if err != nil {
		return env, nil, cli.Exit(err.Error(), 1)
	}
	env.Store = st
	return env, func() { st.Close() }, nil
}

// confirmYes asks the user unless --yes was given.
func confirmYes(c *cli.Context, question string) error {
	if c.Bool("yes") {
		return nil
	}
	fmt.Fprintf(c.App.Writer, "%s [y/N] ", question)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return cli.Exit("aborted: nothing was changed", 1)
	}
	return nil
}

func exitOn(err error) error {
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	return nil
}
