package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"pigsty/infra/store"
	"pigsty/node/agent"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/patroni"
)

func init() { command(300, statusCommand) }

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "clusters, instances, roles, Patroni state, lag, services and the health of every supervised child",
		Flags: append(inventoryFlags(), &cli.BoolFlag{Name: "json", Usage: "print JSON"}),
		Action: func(c *cli.Context) error {
			inv, err := statusInventory(c)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, 10*time.Second)
			defer cancel()
			rows, err := collectStatus(ctx, c.String("root"), inv)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, rows)
			}
			printStatus(c, rows)
			return nil
		},
	}
}

// statusInventory is the inventory the agents run: the one the agent of
// this host cached, else the file given.
func statusInventory(c *cli.Context) (*inventory.Inventory, error) {
	path := agent.CachePath(c.String("root"))
	if c.IsSet("inventory") {
		path = c.String("inventory")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		if !c.IsSet("inventory") {
			return loadInventory(c)
		}
		return nil, cli.Exit(err.Error(), 2)
	}
	inv, err := inventory.Parse(path, raw, nil)
	if err != nil {
		return nil, cli.Exit(err.Error(), 2)
	}
	return inv, nil
}

// statusRow is one instance of `pigsty status`.
type statusRow struct {
	Cluster   string              `json:"cls"`
	Instance  string              `json:"ins"`
	IP        string              `json:"ip"`
	Role      string              `json:"role"`  // as Patroni reports it, else as declared
	State     string              `json:"state"` // Patroni's member state
	Timeline  int                 `json:"timeline"`
	LagBytes  *int64              `json:"lag_bytes"`
	Services  []string            `json:"services"`
	Children  []store.ChildHealth `json:"children"`
	Revision  int64               `json:"revision"`
	Converged bool                `json:"converged"`
	Phase     string              `json:"phase,omitempty"`
	Error     string              `json:"error,omitempty"`
}

func collectStatus(ctx context.Context, root string, inv *inventory.Inventory) ([]statusRow, error) {
	statuses := map[string]store.Status{}
	desired := int64(0)
	if st, err := openStoreOnce(ctx, root, inv); err == nil {
		defer st.Close()
		if all, err := st.Statuses(ctx); err == nil {
			for _, s := range all {
				statuses[s.Instance] = s
			}
		}
		if d, err := st.Desired(ctx); err == nil {
			desired = d.Revision
		}
	}
	var rows []statusRow
	for _, cls := range inv.Clusters {
		members := clusterMembers(ctx, cls)
		for _, i := range cls.Instances {
			r := statusRow{Cluster: cls.Name, Instance: i.Name, IP: i.IP, Role: i.Role, State: "unknown"}
			if m, ok := members[i.Name]; ok {
				r.Role, r.State, r.Timeline = m.Role, m.State, m.Timeline
				if m.Lag.Known {
					lag := m.Lag.Bytes
					r.LagBytes = &lag
				}
			}
			for _, s := range i.Services {
				r.Services = append(r.Services, fmt.Sprintf("%s:%d", strings.TrimPrefix(s.Name, cls.Name+"-"), s.Port))
			}
			if s, ok := statuses[i.Name]; ok {
				r.Children, r.Revision, r.Phase, r.Error = s.Children, s.Revision, s.Phase, s.Error
				r.Converged = s.OK && s.Revision >= desired
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// clusterMembers asks the members' Patroni, one after the other, for the
// cluster as the DCS sees it.
func clusterMembers(ctx context.Context, cls *inventory.Cluster) map[string]patroni.Member {
	out := map[string]patroni.Member{}
	for _, i := range cls.Instances {
		p := i.Params
		c := patroni.NewClient(net.JoinHostPort(i.IP, strconv.Itoa(p.PatroniPort)), p.PatroniUsername, p.PatroniPassword, nil)
		cl, err := c.Cluster(ctx)
		if err != nil {
			continue
		}
		for _, m := range cl.Members {
			out[m.Name] = m
		}
		return out
	}
	return out
}

func openStoreOnce(ctx context.Context, root string, inv *inventory.Inventory) (*store.Store, error) {
	access, err := agent.Access(root, inv.EtcdEndpoints())
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, access, quietLog())
}

func printStatus(c *cli.Context, rows []statusRow) {
	w := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CLUSTER\tINSTANCE\tIP\tROLE\tSTATE\tTL\tLAG\tSERVICES\tCHILDREN\tCONVERGED")
	for _, r := range rows {
		lag := "-"
		if r.LagBytes != nil {
			lag = strconv.FormatInt(*r.LagBytes, 10)
		}
		var children []string
		for _, ch := range r.Children {
			mark := "ok"
			if !ch.Healthy {
				mark = ch.Detail
			}
			children = append(children, ch.Name+":"+mark)
		}
		conv := "no"
		switch {
		case r.Converged:
			conv = fmt.Sprintf("yes (rev %d)", r.Revision)
		case r.Error != "":
			conv = r.Phase + ": " + r.Error
		case r.Phase != "":
			conv = r.Phase
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Cluster, r.Instance, r.IP, r.Role, r.State, r.Timeline, lag,
			strings.Join(r.Services, " "), strings.Join(children, " "), conv)
	}
	w.Flush()
}
