package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"pigsty/infra/store"
	"pigsty/monitor/metrics"
	"pigsty/monitor/remote"
	"pigsty/pgsql/inventory"
)

func init() { command(410, monCommand) }

// monCommand is Pigsty's pgmon-add/pgmon-rm: monitoring of PostgreSQL
// instances pigsty does not manage, declared in pg_exporters of the infra
// hosts.
func monCommand() *cli.Command {
	timeout := &cli.DurationFlag{Name: "timeout", Value: time.Minute, Usage: "how long to wait for the store to see the change"}
	return &cli.Command{
		Name:  "mon",
		Usage: "monitor remote PostgreSQL instances (pg_exporters of the infra hosts): ls, add, rm",
		Subcommands: []*cli.Command{
			{Name: "ls", Usage: "the remote instances declared in pg_exporters, whether monitored, and their scrape",
				Flags: append(inventoryFlags(), &cli.BoolFlag{Name: "json", Usage: "print JSON"}), Action: monList},
			{Name: "add", Usage: "run the exporters of a remote cluster or instance on its infra host and scrape them", ArgsUsage: "<cls|ins>",
				Flags: append(inventoryFlags(), timeout), Action: monAdd},
			{Name: "rm", Usage: "stop monitoring a remote cluster or instance", ArgsUsage: "<cls|ins>",
				Flags: append(inventoryFlags(), timeout), Action: monRemove},
		},
	}
}

// monState is what mon commands read: the remote instances the desired
// state declares and those monitored.
type monState struct {
	st        *store.Store
	inv       *inventory.Inventory
	declared  []remote.Instance
	monitored map[string]store.Monitor
	metrics   *metrics.Client
}

func openMon(c *cli.Context) (*monState, error) {
	local, err := statusInventory(c)
	if err != nil {
		return nil, err
	}
	st, err := openStoreOnce(c.Context, c.String("root"), local)
	if err != nil {
		return nil, cli.Exit(fmt.Sprintf("etcd: %v", err), 1)
	}
	d, err := st.Desired(c.Context)
	if err != nil {
		st.Close()
		return nil, cli.Exit(fmt.Sprintf("desired state: %v", err), 1)
	}
	inv, err := inventory.Parse("desired state", d.Inventory, d.ExtraVars)
	if err != nil {
		st.Close()
		return nil, cli.Exit(err.Error(), 1)
	}
	ms, err := st.Monitors(c.Context)
	if err != nil {
		st.Close()
		return nil, cli.Exit(err.Error(), 1)
	}
	m := &monState{st: st, inv: inv, declared: remote.Declared(inv), monitored: map[string]store.Monitor{}}
	for _, x := range ms {
		m.monitored[x.Instance] = x
	}
	if ips := inv.InfraIPs(); len(ips) > 0 {
		m.metrics = metrics.NewClient("http://" + net.JoinHostPort(ips[0], strconv.Itoa(metrics.Port)))
	}
	return m, nil
}

// scrape returns up and pg_up of a remote instance as the store sees
// them now; nil when it has no such series.
func (m *monState) scrape(ctx context.Context, ins string) (up, pgUp *float64) {
	if m.metrics == nil {
		return nil, nil
	}
	get := func(expr string) *float64 {
		res, err := m.metrics.Query(ctx, expr, time.Now())
		if err != nil || len(res) == 0 {
			return nil
		}
		v := res[0].Value
		return &v
	}
	return get(fmt.Sprintf(`up{job="pgrds",ins=%q}`, ins)), get(fmt.Sprintf(`pg_up{job="pgrds",ins=%q}`, ins))
}

type monRow struct {
	Cluster   string   `json:"cls"`
	Instance  string   `json:"ins"`
	Server    string   `json:"server"`   // pg_host:pg_port
	Exporter  string   `json:"exporter"` // where its exporter listens
	Monitored bool     `json:"monitored"`
	Up        *float64 `json:"up"`    // the exporter answers the store
	PgUp      *float64 `json:"pg_up"` // the exporter reaches the server
}

func monList(c *cli.Context) error {
	m, err := openMon(c)
	if err != nil {
		return err
	}
	defer m.st.Close()
	ctx, cancel := context.WithTimeout(c.Context, 10*time.Second)
	defer cancel()
	var rows []monRow
	for _, in := range m.declared {
		_, mon := m.monitored[in.Ins]
		r := monRow{Cluster: in.Cls, Instance: in.Ins, Server: in.Server, Exporter: in.Listen, Monitored: mon}
		if mon {
			r.Up, r.PgUp = m.scrape(ctx, in.Ins)
		}
		rows = append(rows, r)
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(c.App.Writer, "no remote instances: declare them in pg_exporters of the infra group")
		return nil
	}
	w := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CLUSTER\tINSTANCE\tSERVER\tEXPORTER\tMONITORED\tUP\tPG_UP")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%s\t%s\n", r.Cluster, r.Instance, r.Server, r.Exporter, r.Monitored, value(r.Up), value(r.PgUp))
	}
	return w.Flush()
}

func value(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

func monAdd(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: pigsty mon add <cls|ins>", 2)
	}
	m, err := openMon(c)
	if err != nil {
		return err
	}
	defer m.st.Close()
	name := c.Args().First()
	sel := remote.Select(m.declared, name)
	if len(sel) == 0 {
		return cli.Exit(fmt.Sprintf("%s is not a remote cluster or instance: declare it in pg_exporters of an infra host (pg_cluster, pg_seq, pg_host, …)", name), 2)
	}
	by := "pigsty mon add"
	if u, err := user.Current(); err == nil {
		host, _ := os.Hostname()
		by = u.Username + "@" + host
	}
	for _, in := range sel {
		if err := m.st.PutMonitor(c.Context, store.Monitor{Instance: in.Ins, Cluster: in.Cls, AddedBy: by}); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "%s: monitoring %s through the exporter on %s\n", in.Ins, in.Server, in.Listen)
	}
	return m.wait(c, sel, true)
}

func monRemove(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: pigsty mon rm <cls|ins>", 2)
	}
	m, err := openMon(c)
	if err != nil {
		return err
	}
	defer m.st.Close()
	name := c.Args().First()
	var sel []remote.Instance
	for ins, mon := range m.monitored {
		if ins == name || mon.Cluster == name {
			sel = append(sel, remote.Instance{Cls: mon.Cluster, Ins: ins})
		}
	}
	if len(sel) == 0 {
		return cli.Exit(fmt.Sprintf("%s is not monitored (see pigsty mon ls)", name), 2)
	}
	for _, in := range sel {
		if _, err := m.st.DeleteMonitor(c.Context, in.Ins); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "%s: no longer monitored\n", in.Ins)
	}
	return m.wait(c, sel, false)
}

// wait waits until the store scrapes each instance (added) or has dropped
// its target (removed), printing each as it gets there.
func (m *monState) wait(c *cli.Context, sel []remote.Instance, added bool) error {
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	defer cancel()
	pending := map[string]bool{}
	for _, in := range sel {
		pending[in.Ins] = true
	}
	for len(pending) > 0 {
		for ins := range pending {
			up, pgUp := m.scrape(ctx, ins)
			switch {
			case added && up != nil && *up == 1:
				fmt.Fprintf(c.App.Writer, "%s: scraped, pg_up %s\n", ins, value(pgUp))
				delete(pending, ins)
			case !added && up == nil:
				fmt.Fprintf(c.App.Writer, "%s: target gone from the store\n", ins)
				delete(pending, ins)
			}
		}
		if len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			for ins := range pending {
				if added {
					fmt.Fprintf(c.App.Writer, "%s: not scraped yet (see pigsty mon ls and the infra host's log)\n", ins)
				} else {
					fmt.Fprintf(c.App.Writer, "%s: the store still scrapes it\n", ins)
				}
			}
			return cli.Exit(fmt.Sprintf("not done within %s", c.Duration("timeout")), 1)
		case <-time.After(time.Second):
		}
	}
	return nil
}
