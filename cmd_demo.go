package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"pigsty/infra/store"
	"pigsty/node/agent"
	"pigsty/pgsql/inventory"
)

func init() { command(200, demoCommand) }

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "bring up the single-node demo: configure, install, start infra, wait for pg-meta, print how to connect",
		Description: "Writes pigsty.yml when there is none (as `pigsty configure -i <ip>`), installs the packages, starts\n" +
			"`pigsty infra` in the background (as a systemd unit where systemd runs) and waits until every\n" +
			"instance of this host is ready. Running it again changes nothing.",
		Flags: append(inventoryFlags(),
			&cli.StringFlag{Name: "ip", Aliases: []string{"i"}, Usage: "this host's address when pigsty.yml is written (default: the address of the default route)"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "how long to wait for the instances"},
		),
		Action: runDemo,
	}
}

func runDemo(c *cli.Context) error {
	out := c.App.Writer
	path, err := filepath.Abs(c.String("inventory"))
	if err != nil {
		return err
	}
	started := time.Now()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "==> configure %s\n", path)
		args := []string{"pigsty", "configure", "-o", path}
		if ip := c.String("ip"); ip != "" {
			args = append(args, "-i", ip)
		}
		if err := c.App.RunContext(c.Context, args); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "==> using %s\n", path)
	}
	inv, err := inventory.Load(path, c.StringSlice("extra-vars"))
	if err != nil {
		return cli.Exit(fmt.Sprintf("%v\n%s: nothing was changed", err, path), 2)
	}
	instances, err := targetInstances(inv, "")
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	fmt.Fprintln(out, "==> install packages")
	if err := installFor(c.Context, instances, indent(out), false); err != nil {
		return err
	}
	root := c.String("root")
	fmt.Fprintln(out, "==> start infra")
	since := time.Now()
	agentStarted, err := startAgent(c, root, "infra", "-f", path)
	if err != nil {
		return err
	}
	st, err := openStore(c.Context, root, inv)
	if err != nil {
		return err
	}
	defer st.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rev, changed, err := st.PutDesired(c.Context, raw, c.StringSlice("extra-vars"), "pigsty demo")
	if err != nil {
		return fmt.Errorf("store the desired state: %w", err)
	}
	switch {
	case agentStarted:
		fmt.Fprintf(out, "    desired state at revision %d\n", rev)
	case changed:
		fmt.Fprintf(out, "    desired state changed: revision %d\n", rev)
	default:
		fmt.Fprintf(out, "    desired state unchanged (revision %d)\n", rev)
	}
	fmt.Fprintln(out, "==> wait for instances")
	// A fresh agent must report anew: the statuses in etcd may be those of
	// an agent that ran before.
	if !agentStarted {
		since = time.Time{}
	}
	if err := waitReady(c.Context, st, instances, rev, since, c.Duration("timeout"), out); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	fmt.Fprintf(out, "==> ready in %s\n\n", time.Since(started).Round(100*time.Millisecond))
	printAccess(out, instances)
	return nil
}

func indent(w io.Writer) io.Writer { return &prefixWriter{w: w, prefix: "    "} }

type prefixWriter struct {
	w      io.Writer
	prefix string
	mid    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if !p.mid {
			if _, err := io.WriteString(p.w, p.prefix); err != nil {
				return 0, err
			}
		}
		if _, err := io.WriteString(p.w, line); err != nil {
			return 0, err
		}
		p.mid = !strings.HasSuffix(line, "\n")
	}
	return len(b), nil
}

func systemd() bool {
	_, err := os.Stat("/run/systemd/system")
	return err == nil
}

// openStore connects to the inventory's etcd, waiting for it to come up.
func openStore(ctx context.Context, root string, inv *inventory.Inventory) (*store.Store, error) {
	endpoints := inv.EtcdEndpoints()
	deadline := time.Now().Add(time.Minute)
	for {
		// The infra host creates the agents' password as it starts.
		access, err := agent.Access(root, endpoints)
		var st *store.Store
		if err == nil {
			st, err = store.Open(ctx, access, quietLog())
		}
		if err == nil {
			if _, err = st.Statuses(ctx); err == nil {
				return st, nil
			}
			st.Close()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("etcd at %s does not answer: %w", strings.Join(endpoints, ", "), err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// waitReady waits until every instance reports success for revision, in a
// report written after since, printing each phase change.
func waitReady(ctx context.Context, st *store.Store, instances []*inventory.Instance, rev int64, since time.Time, timeout time.Duration, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := map[string]string{}
	for {
		all, err := st.Statuses(ctx)
		if err == nil {
			byName := map[string]store.Status{}
			for _, s := range all {
				byName[s.Instance] = s
			}
			ready := 0
			for _, i := range instances {
				s, ok := byName[i.Name]
				if !ok || s.Revision < rev || s.UpdatedAt.Before(since) {
					continue
				}
				line := s.Phase
				if s.Error != "" {
					line += ": " + s.Error
				}
				if last[i.Name] != line {
					fmt.Fprintf(out, "    %s: %s\n", i.Name, line)
					last[i.Name] = line
				}
				if s.OK {
					ready++
				}
			}
			if ready == len(instances) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("instances not ready after %s (see `pigsty status` and the log of pigsty infra)", timeout)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// printAccess prints how to reach the services and who may log in.
func printAccess(out io.Writer, instances []*inventory.Instance) {
	for _, i := range instances {
		p := i.Params
		fmt.Fprintf(out, "%s [%s] @ %s\n\n", i.Name, i.Role, i.IP)
		db := p.PgPrimaryDB
		for _, d := range i.Databases {
			if !d.Absent() {
				db = d.Name
				break
			}
		}
		user, admin := "", p.PgAdminUsername
		for _, u := range p.PgUsers {
			if !u.Absent() && u.CanLogin() {
				user = u.Name
				break
			}
		}
		if user == "" {
			user = admin
		}
		fmt.Fprintf(out, "  %-28s postgres://%s@%s:%d/%s\n", "primary (pgbouncer)", user, i.IP, p.PgbouncerPort, db)
		for _, s := range i.Services {
			who := user
			if s.Dest == p.PgPort {
				who = admin
			}
			fmt.Fprintf(out, "  %-28s postgres://%s@%s:%d/%s\n", "service "+s.Name, who, i.IP, s.Port, db)
		}
		fmt.Fprintf(out, "  %-28s postgres://%s@%s:%d/%s?sslmode=require\n\n", "postgres (direct)", admin, i.IP, p.PgPort, db)
		fmt.Fprintln(out, "  users (passwords are in pigsty.yml):")
		for _, u := range i.Users {
			if u.CanLogin() && !u.Absent() && u.Name != p.PgDbsu {
				fmt.Fprintf(out, "    %-16s %s\n", u.Name, u.Comment)
			}
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintln(out, "pigsty status   shows the cluster; pigsty stop   stops everything")
}

// quietLog keeps the store's own progress lines out of a command's output.
func quietLog() *slog.Logger {
	// The etcd client warns of every retry; the commands report what
	// finally failed themselves.
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}
