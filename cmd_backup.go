package main

import (
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"pigsty/node/backup"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/pgbackrest"
)

func init() { command(400, backupCommand) }

func backupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "take a pgBackRest backup of a cluster on its primary (full, diff or incr), or list its backups",
		ArgsUsage: "<cls> [full|diff|incr]",
		Description: "Without a type pgBackRest takes an incremental backup, or a full one when there is none.\n" +
			"The backup runs on the cluster's primary, which must be this host.",
		Flags:  inventoryFlags(),
		Action: runBackup,
		Subcommands: []*cli.Command{{
			Name:      "ls",
			Usage:     "the backups in a cluster's repository (pgbackrest info), its WAL archive and its backup schedule",
			ArgsUsage: "<cls>",
			Flags:     append(inventoryFlags(), &cli.BoolFlag{Name: "json", Usage: "print JSON"}),
			Action:    runBackupList,
		}},
	}
}

// localMember is the member of the cluster named by the first argument
// that runs on this host: the commands that work on a cluster's files,
// its repository or its dbsu do so here.
func localMember(c *cli.Context, usage string) (*inventory.Instance, layout.Layout, error) {
	if c.NArg() < 1 {
		return nil, layout.Layout{}, cli.Exit("usage: pigsty "+usage, 2)
	}
	inv, err := statusInventory(c)
	if err != nil {
		return nil, layout.Layout{}, err
	}
	cls := inv.Cluster(c.Args().First())
	if cls == nil {
		return nil, layout.Layout{}, cli.Exit(fmt.Sprintf("no cluster %s in %s", c.Args().First(), inv.File), 2)
	}
	addrs, err := localAddresses()
	if err != nil {
		return nil, layout.Layout{}, err
	}
	for _, i := range cls.Instances {
		if addrs[i.IP] {
			return i, layout.New(c.String("root"), i), nil
		}
	}
	return nil, layout.Layout{}, cli.Exit(fmt.Sprintf("no member of %s runs on this host: run the command on one of its hosts", cls.Name), 2)
}

// dbsuOf is the dbsu's credential and home directory.
func dbsuOf(i *inventory.Instance) (*syscall.Credential, string, error) {
	u, err := user.Lookup(i.Params.PgDbsu)
	if err != nil {
		return nil, "", fmt.Errorf("dbsu %s: %w", i.Params.PgDbsu, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, "", fmt.Errorf("dbsu %s: uid %q gid %q", u.Username, u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, u.HomeDir, nil
}

func runBackup(c *cli.Context) error {
	i, l, err := localMember(c, "backup <cls> [full|diff|incr]")
	if err != nil {
		return err
	}
	typ := c.Args().Get(1)
	switch typ {
	case "", "full", "diff", "incr":
	default:
		return cli.Exit(fmt.Sprintf("backup type %q: allowed: full, diff, incr", typ), 2)
	}
	cl, _, err := anyMember(c.Context, i.ClusterOf())
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	leader := cl.Leader()
	if leader == nil {
		return cli.Exit(fmt.Sprintf("%s has no leader: a backup is taken on the primary", i.Cluster), 1)
	}
	if leader.Name != i.Name {
		return cli.Exit(fmt.Sprintf("the primary of %s is %s (%s), not this host's %s: run pigsty backup there", i.Cluster, leader.Name, leader.Host, i.Name), 1)
	}
	cred, home, err := dbsuOf(i)
	if err != nil {
		return err
	}
	out := c.App.Writer
	kind := typ
	if kind == "" {
		kind = "incr (full when there is none)"
	}
	fmt.Fprintf(out, "==> %s backup of %s on %s @ %s, stanza %s\n", kind, i.Cluster, i.Name, i.IP, i.Cluster)
	runner := backup.For(i, l, cred, home)
	if err := waitBackupLock(c, runner); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	start := time.Now()
	next := 10.0
	label, err := runner.Backup(c.Context, typ, backup.TriggerCLI, func(ev pgbackrest.Event) {
		switch {
		case ev.Percent >= next:
			fmt.Fprintf(out, "    %3.0f%%\n", ev.Percent)
			for next <= ev.Percent {
				next += 10
			}
		case ev.Size != "":
			fmt.Fprintf(out, "    %s\n", ev.Size)
		case ev.Info != "" && !strings.Contains(ev.Info, "command end"):
			fmt.Fprintf(out, "    %s\n", ev.Info)
		}
	})
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	fmt.Fprintf(out, "==> backup %s done in %s\n", label, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// waitBackupLock waits for a backup that runs already — the agent's
// initial or scheduled one — to end: pgBackRest takes one at a time.
func waitBackupLock(c *cli.Context, r backup.Runner) error {
	said := false
	for {
		st, err := r.Info(c.Context)
		if err != nil || !st.Status.Lock.Backup.Held {
			return err
		}
		if !said {
			fmt.Fprintln(c.App.Writer, "    another backup of the stanza runs: waiting for it to end")
			said = true
		}
		select {
		case <-c.Context.Done():
			return c.Context.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// backupList is `pigsty backup ls --json`.
type backupList struct {
	Cluster   string           `json:"cls"`
	Stanza    string           `json:"stanza"`
	Status    string           `json:"status"`
	WALMin    string           `json:"wal_min,omitempty"`
	WALMax    string           `json:"wal_max,omitempty"`
	Recovery  *time.Time       `json:"recoverable_from,omitempty"` // the end of the oldest backup
	Backups   []backupRow      `json:"backups"`
	Schedule  []backup.Entry   `json:"schedule"`
	Ignored   []backup.Ignored `json:"ignored,omitempty"`
	Repo      string           `json:"repo"` // pgbackrest_method
	Retention string           `json:"retention,omitempty"`
}

type backupRow struct {
	Label      string            `json:"label"`
	Type       string            `json:"type"`
	Prior      string            `json:"prior,omitempty"`
	Start      time.Time         `json:"start"`
	Stop       time.Time         `json:"stop"`
	Size       int64             `json:"size"`       // database size
	Delta      int64             `json:"delta"`      // what this backup copied
	RepoSize   int64             `json:"repo_size"`  // in the repository, compressed
	RepoDelta  int64             `json:"repo_delta"` // what this backup added to the repository
	LSNStart   string            `json:"lsn_start"`
	LSNStop    string            `json:"lsn_stop"`
	WALStart   string            `json:"wal_start"`
	WALStop    string            `json:"wal_stop"`
	Annotation map[string]string `json:"annotation,omitempty"`
	Error      bool              `json:"error,omitempty"`
}

func runBackupList(c *cli.Context) error {
	i, l, err := localMember(c, "backup ls <cls>")
	if err != nil {
		return err
	}
	cred, home, err := dbsuOf(i)
	if err != nil {
		return err
	}
	st, err := backup.For(i, l, cred, home).Info(c.Context)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	p := i.Params
	list := backupList{Cluster: i.Cluster, Stanza: st.Name, Status: st.Status.Message, Repo: p.PgbackrestMethod, Backups: []backupRow{}}
	if repo := p.PgbackrestRepo[p.PgbackrestMethod]; repo["retention_full"] != "" {
		list.Retention = fmt.Sprintf("%s full backups by %s", repo["retention_full"], repo["retention_full_type"])
	}
	if from, _, ok := st.Window(); ok {
		list.Recovery = &from
	}
	for _, a := range st.Archive {
		if list.WALMin == "" || a.Min < list.WALMin {
			list.WALMin = a.Min
		}
		if a.Max > list.WALMax {
			list.WALMax = a.Max
		}
	}
	for _, b := range st.Backups {
		list.Backups = append(list.Backups, backupRow{Label: b.Label, Type: b.Type, Prior: b.Prior, Start: b.Start().UTC(), Stop: b.Stop().UTC(),
			Size: b.Info.Size, Delta: b.Info.Delta, RepoSize: b.Info.Repository.Size, RepoDelta: b.Info.Repository.Delta,
			LSNStart: b.LSN.Start, LSNStop: b.LSN.Stop, WALStart: b.Archive.Start, WALStop: b.Archive.Stop, Annotation: b.Annotation, Error: b.Error})
	}
	list.Schedule, list.Ignored = backup.Schedule(p)
	if list.Schedule == nil {
		list.Schedule = []backup.Entry{}
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, list)
	}
	printBackups(c.App.Writer, list)
	return nil
}

func printBackups(out io.Writer, l backupList) {
	fmt.Fprintf(out, "stanza %s (repo %s", l.Stanza, l.Repo)
	if l.Retention != "" {
		fmt.Fprintf(out, ", keeps %s", l.Retention)
	}
	fmt.Fprintf(out, "): %s\n", l.Status)
	if l.WALMax != "" {
		fmt.Fprintf(out, "WAL archive  %s … %s\n", l.WALMin, l.WALMax)
	}
	if l.Recovery != nil {
		fmt.Fprintf(out, "recoverable  from %s to the last archived WAL\n", l.Recovery.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "LABEL\tTYPE\tSTARTED (UTC)\tTOOK\tDB SIZE\tCOPIED\tREPO\tLSN\tTRIGGER")
	for _, b := range l.Backups {
		typ := b.Type
		if b.Error {
			typ += " (error)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s-%s\t%s\n", b.Label, typ, b.Start.Format("2006-01-02 15:04:05"),
			b.Stop.Sub(b.Start).Round(time.Second), bytesHuman(b.Size), bytesHuman(b.Delta), bytesHuman(b.RepoDelta),
			b.LSNStart, b.LSNStop, b.Annotation["pigsty_trigger"])
	}
	w.Flush()
	if len(l.Backups) == 0 {
		fmt.Fprintln(out, "(no backup yet)")
	}
	fmt.Fprintln(out)
	if len(l.Schedule) == 0 {
		fmt.Fprintln(out, "schedule: none (pg-backup entries of node_crontab or pg_crontab)")
	} else {
		fmt.Fprintln(out, "schedule (runs on the primary only):")
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, e := range l.Schedule {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", e.Type, e.Line, e.Origin)
		}
		w.Flush()
	}
	for _, i := range l.Ignored {
		fmt.Fprintf(out, "  not run by pigsty: %s %q: %s\n", i.Origin, i.Line, i.Reason)
	}
}

func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
