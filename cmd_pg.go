package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/patroni"
)

func init() { command(320, pgCommand) }

// pgSubcommands are the `pigsty pg` commands; features add theirs with
// pgSubcommand from their own files.
var pgSubcommands []*cli.Command

func pgSubcommand(c *cli.Command) { pgSubcommands = append(pgSubcommands, c) }

// pgCommand is Pigsty's `pg` alias (patronictl) as commands of pigsty,
// through Patroni's REST API with its authentication.
func pgCommand() *cli.Command {
	cls := func(name, usage string, action cli.ActionFunc, flags ...cli.Flag) *cli.Command {
		return &cli.Command{Name: name, Usage: usage, ArgsUsage: "<cls>", Flags: append(inventoryFlags(), flags...), Action: action}
	}
	force := &cli.BoolFlag{Name: "force", Aliases: []string{"y"}, Usage: "do not ask for confirmation"}
	return &cli.Command{
		Name:  "pg",
		Usage: "Patroni cluster control (Pigsty's pg/patronictl): list, switchover, failover, restart, …",
		Subcommands: append([]*cli.Command{
			cls("list", "the members of a cluster, as patronictl list shows them", pgList, &cli.BoolFlag{Name: "json", Usage: "print JSON"}),
			cls("switchover", "hand the leader role to a replica, planned", pgSwitchover,
				&cli.StringFlag{Name: "leader", Usage: "the current leader (default: whoever holds the lock)"},
				&cli.StringFlag{Name: "candidate", Usage: "the member to promote (default: the healthiest replica)"},
				&cli.StringFlag{Name: "scheduled", Usage: "when, RFC 3339 (default: now)"}, force),
			cls("failover", "promote a member now, also without a healthy leader (writes can be lost)", pgFailover,
				&cli.StringFlag{Name: "candidate", Required: true, Usage: "the member to promote"}, force),
			{Name: "restart", Usage: "restart PostgreSQL of a cluster's members", ArgsUsage: "<cls> [ins…]",
				Flags: append(inventoryFlags(), force, &cli.BoolFlag{Name: "pending", Usage: "only members with settings pending a restart"}), Action: pgRestart},
			{Name: "reload", Usage: "reload Patroni's and PostgreSQL's configuration", ArgsUsage: "<cls> [ins…]", Flags: inventoryFlags(), Action: pgReload},
			{Name: "reinit", Usage: "wipe a replica and clone it again from the leader", ArgsUsage: "<cls> <ins>", Flags: append(inventoryFlags(), force), Action: pgReinit},
			cls("pause", "maintenance mode: Patroni stops failing over and restarting", pgPause),
			cls("resume", "end maintenance mode", pgResume),
			cls("history", "the cluster's timeline switches", pgHistory, &cli.BoolFlag{Name: "json", Usage: "print JSON"}),
		}, pgSubcommands...),
	}
}

// pgCluster resolves the cluster argument against the inventory the
// agents run.
func pgCluster(c *cli.Context) (*inventory.Cluster, error) {
	if c.NArg() < 1 {
		return nil, cli.Exit(fmt.Sprintf("usage: pigsty pg %s %s", c.Command.Name, c.Command.ArgsUsage), 2)
	}
	inv, err := statusInventory(c)
	if err != nil {
		return nil, err
	}
	cls := inv.Cluster(c.Args().First())
	if cls == nil {
		_, err := inv.Select(c.Args().First())
		return nil, cli.Exit(fmt.Sprintf("no cluster %s: %v", c.Args().First(), err), 2)
	}
	return cls, nil
}

func memberClient(i *inventory.Instance) *patroni.Client {
	p := i.Params
	return patroni.NewClient(net.JoinHostPort(i.IP, strconv.Itoa(p.PatroniPort)), p.PatroniUsername, p.PatroniPassword, nil)
}

// anyMember returns the cluster as the first answering member sees it.
func anyMember(ctx context.Context, cls *inventory.Cluster) (patroni.Cluster, *inventory.Instance, error) {
	var last error
	for _, i := range cls.Instances {
		cl, err := memberClient(i).Cluster(ctx)
		if err == nil {
			return cl, i, nil
		}
		last = err
	}
	return patroni.Cluster{}, nil, fmt.Errorf("no member of %s answers: %v", cls.Name, last)
}

func instanceNamed(cls *inventory.Cluster, name string) *inventory.Instance {
	for _, i := range cls.Instances {
		if i.Name == name || i.IP == name {
			return i
		}
	}
	return nil
}

func pgList(c *cli.Context) error {
	cls, err := pgCluster(c)
	if err != nil {
		return err
	}
	cl, _, err := anyMember(c.Context, cls)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, cl)
	}
	printMembers(c.App.Writer, cls.Name, cl)
	return nil
}

func printMembers(out io.Writer, name string, cl patroni.Cluster) {
	state := ""
	if cl.Pause {
		state = " (maintenance mode)"
	}
	fmt.Fprintf(out, "Cluster: %s%s\n", name, state)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "MEMBER\tHOST\tROLE\tSTATE\tTL\tLAG IN MB\tPENDING RESTART\tTAGS")
	for _, m := range cl.Members {
		lag := ""
		if m.Lag.Known {
			lag = strconv.FormatFloat(float64(m.Lag.Bytes)/(1<<20), 'f', 0, 64)
		}
		pending := ""
		if m.PendingRestart {
			pending = "*"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", m.Name, net.JoinHostPort(m.Host, strconv.Itoa(m.Port)),
			roleName(m.Role), m.State, m.Timeline, lag, pending, tags(m.Tags))
	}
	w.Flush()
	if s := cl.ScheduledSwitchover; s != nil {
		fmt.Fprintf(out, "switchover scheduled at %s: %s → %s\n", s.At.Format(time.RFC3339), s.From, s.To)
	}
}

// roleName spells roles as patronictl list does.
func roleName(r string) string {
	switch r {
	case patroni.MemberLeader:
		return "Leader"
	case patroni.MemberStandbyLeader:
		return "Standby Leader"
	case patroni.MemberSyncStandby:
		return "Sync Standby"
	case "replica":
		return "Replica"
	}
	return r
}

func tags(t map[string]any) string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s: %v", k, t[k]))
	}
	return strings.Join(out, ", ")
}

// confirm asks the user unless --force was given.
func confirm(c *cli.Context, question string) error {
	if c.Bool("force") {
		return nil
	}
	fmt.Fprintf(c.App.Writer, "%s [y/N] ", question)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return cli.Exit("aborted", 1)
	}
	return nil
}

func pgSwitchover(c *cli.Context) error {
	cls, err := pgCluster(c)
	if err != nil {
		return err
	}
	cl, via, err := anyMember(c.Context, cls)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	leader := c.String("leader")
	if leader == "" {
		if l := cl.Leader(); l != nil {
			leader = l.Name
		} else {
			return cli.Exit(fmt.Sprintf("%s has no leader: use pigsty pg failover", cls.Name), 1)
		}
	}
	var at time.Time
	if s := c.String("scheduled"); s != "" && s != "now" {
		if at, err = time.Parse(time.RFC3339, s); err != nil {
			return cli.Exit(fmt.Sprintf("--scheduled %q: want RFC 3339, e.g. 2026-12-01T03:00:00Z", s), 2)
		}
	}
	printMembers(c.App.Writer, cls.Name, cl)
	target := c.String("candidate")
	if target == "" {
		target = "the healthiest replica"
	}
	if err := confirm(c, fmt.Sprintf("Switch over %s from %s to %s?", cls.Name, leader, target)); err != nil {
		return err
	}
	start := time.Now()
	if err := memberClient(via).Switchover(c.Context, leader, c.String("candidate"), at); err != nil {
		return cli.Exit(fmt.Sprintf("switchover: %v", err), 1)
	}
	if !at.IsZero() {
		fmt.Fprintf(c.App.Writer, "switchover of %s scheduled at %s\n", cls.Name, at.Format(time.RFC3339))
		return nil
	}
	fmt.Fprintf(c.App.Writer, "switched over in %s\n", time.Since(start).Round(100*time.Millisecond))
	return showAfter(c, cls)
}

func pgFailover(c *cli.Context) error {
	cls, err := pgCluster(c)
	if err != nil {
		return err
	}
	cl, via, err := anyMember(c.Context, cls)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	printMembers(c.App.Writer, cls.Name, cl)
	if err := confirm(c, fmt.Sprintf("Fail %s over to %s? Writes not yet on %s are lost.", cls.Name, c.String("candidate"), c.String("candidate"))); err != nil {
		return err
	}
	if err := memberClient(via).Failover(c.Context, c.String("candidate")); err != nil {
		return cli.Exit(fmt.Sprintf("failover: %v", err), 1)
	}
	return showAfter(c, cls)
}

func showAfter(c *cli.Context, cls *inventory.Cluster) error {
	cl, _, err := anyMember(c.Context, cls)
	if err != nil {
		return nil
	}
	printMembers(c.App.Writer, cls.Name, cl)
	return nil
}

// members are the instances named after the cluster, or all of them.
func members(c *cli.Context, cls *inventory.Cluster) ([]*inventory.Instance, error) {
	if c.NArg() < 2 {
		return cls.Instances, nil
	}
	var out []*inventory.Instance
	for _, name := range c.Args().Slice()[1:] {
		i := instanceNamed(cls, name)
		if i == nil {
			return nil, cli.Exit(fmt.Sprintf("%s is not a member of %s", name, cls.Name), 2)
		}
		out = append(out, i)
	}
	return out, nil
}

func pgRestart(c *cli.Context) error {
	cls, err := pgCluster(c)
	if err != nil {
		return err
	}
	targets, err := members(c, cls)
	if err != nil {
		return err
	}
	if err := confirm(c, fmt.Sprintf("Restart PostgreSQL of %d member(s) of %s?", len(targets), cls.Name)); err != nil {
		return err
	}
	for _, i := range targets {
		start := time.Now()
		if err := memberClient(i).Restart(c.Context, patroni.RestartOptions{PendingOnly: c.Bool("pending")}); err != nil {
			return cli.Exit(fmt.Sprintf("restart %s: %v", i.Name, err), 1)
		}
		fmt.Fprintf(c.App.Writer, "%s restarted in %s\n", i.Name, time.Since(start).Round(100*time.Millisecond))
	}
	return nil
}

func pgReload(c *cli.Context) error {
	cls, err := pgCluster(c)
	if err != nil {
		return err
	}
	targets, err := members(c, cls)
	if err != nil {
		return err
	}
	for _, i := range targets {
		if err := memberClient(i).Reload(c.Context); err != nil {
			return cli.Exit(fmt.Sprintf("reload %s: %v", i.Name, err), 1)
		}
		fmt.Fprintf(c.App.Writer, "%s reloaded\n", i.Name)
	}
	return nil
}

func pgReinit(c *cli.Context) error {
	cls, err := pgCluster(c)
	if err != nil {
		return err
	}
	if c.NArg() != 2 {
		return cli.Exit("usage: pigsty pg reinit <cls> <ins>", 2)
	}
	i := instanceNamed(cls, c.Args().Get(1))
	if i == nil {
		return cli.Exit(fmt.Sprintf("%s is not a member of %s", c.Args().Get(1), cls.Name), 2)
	}
	if err := confirm(c, fmt.Sprintf("Wipe %s and clone it again from the leader?", i.Name)); err != nil {
		return err
	}
	if err := memberClient(i).Reinitialize(c.Context, c.Bool("force")); err != nil {
		return cli.Exit(fmt.Sprintf("reinit %s: %v", i.Name, err), 1)
	}
	fmt.Fprintf(c.App.Writer, "%s is being reinitialized: pigsty pg list %s shows its progress\n", i.Name, cls.Name)
	return nil
}

func pgPause(c *cli.Context) error  { return setPause(c, true) }
func pgResume(c *cli.Context) error { return setPause(c, false) }

func setPause(c *cli.Context, pause bool) error {
	cls, err := pgCluster(c)
	if err != nil {
		return err
	}
	_, via, err := anyMember(c.Context, cls)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	api := memberClient(via)
	if pause {
		err = api.Pause(c.Context)
	} else {
		err = api.Resume(c.Context)
	}
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	// Patroni applies it on its next loop; wait until every member says so.
	deadline := time.Now().Add(time.Minute)
	for {
		done := true
		for _, i := range cls.Instances {
			st, err := memberClient(i).Patroni(c.Context)
			if err == nil && st.Pause != pause {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			return cli.Exit("not every member applied it within a minute", 1)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if pause {
		fmt.Fprintf(c.App.Writer, "%s is in maintenance mode\n", cls.Name)
	} else {
		fmt.Fprintf(c.App.Writer, "%s resumed\n", cls.Name)
	}
	return nil
}

func pgHistory(c *cli.Context) error {
	cls, err := pgCluster(c)
	if err != nil {
		return err
	}
	_, via, err := anyMember(c.Context, cls)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	h, err := memberClient(via).History(c.Context)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, h)
	}
	w := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "TL\tLSN\tREASON\tTIMESTAMP\tNEW LEADER")
	for _, e := range h {
		ts := ""
		if !e.Time.IsZero() {
			ts = e.Time.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%d\t%d\t%s\t%s\t%s\n", e.Timeline, e.LSN, e.Reason, ts, e.NewLeader)
	}
	return w.Flush()
}
