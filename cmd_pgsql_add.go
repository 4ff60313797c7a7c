package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"pigsty/infra/change"
	"pigsty/infra/store"
	"pigsty/pgsql/inventory"
)

func init() {
	pgsqlSubcommand(&cli.Command{
		Name:      "add",
		Usage:     "add a member to a cluster: declare the host in pigsty.yml if it is not, create the replica through Patroni, and wait for it",
		ArgsUsage: "<cls> <ip>",
		Description: "As Pigsty's bin/pgsql-add <cls> <ip>. A host not yet declared in the cluster gets one line in the\n" +
			"inventory, after the cluster's last host and in its style (`<ip>: { pg_seq: N, pg_role: replica }`);\n" +
			"nothing else of the file changes. The change is limited to the cluster (-l <cls>): the inventory may\n" +
			"change nothing else. It stores the desired state, waits until every member's services route to the new\n" +
			"replica and until the replica is up. The host must be in the inventory to join (pigsty join); if it has\n" +
			"not joined yet, the desired state is stored and the replica comes up once it does.",
		Flags: append(inventoryFlags(),
			&cli.IntFlag{Name: "seq", Usage: "pg_seq of the new instance (default: one above the cluster's highest)"},
			&cli.StringFlag{Name: "role", Value: "replica", Usage: "pg_role of the new instance: replica or offline"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the edit and the plan, change nothing"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "how long to wait for the members and the new replica"},
		),
		Action: pgsqlAdd,
	})
}

func pgsqlAdd(c *cli.Context) error {
	if c.NArg() != 2 {
		return cli.Exit("usage: pigsty pgsql add <cls> <ip> [--seq N] [--role replica|offline] [-f pigsty.yml]", 2)
	}
	cls, ip := c.Args().Get(0), c.Args().Get(1)
	if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
		return cli.Exit(fmt.Sprintf("pigsty pgsql add: %q is not an IPv4 address; allowed: the host's address as the inventory lists hosts", ip), 2)
	}
	if role := c.String("role"); role != "replica" && role != "offline" {
		return cli.Exit(fmt.Sprintf("pigsty pgsql add: --role %q; allowed: replica, offline (a cluster's primary is declared, not added)", role), 2)
	}
	r, err := changeRequest(c)
	if err != nil {
		return err
	}
	r.Limit = cls
	out := c.App.Writer
	edit, err := planEdit(r, cls, ip, c.Int("seq"), c.String("role"))
	if err != nil {
		return cli.Exit(fmt.Sprintf("%v\n%s: nothing was changed", err, r.File), 2)
	}
	if edit.line > 0 {
		r.Text = edit.text
		fmt.Fprintf(out, "%s:%d: %s joins %s\n", r.File, edit.line, edit.ins, cls)
		for _, l := range strings.SplitAfter(strings.TrimRight(edit.added, "\r\n"), "\n") {
			fmt.Fprintf(out, "+ %s", strings.TrimRight(l, "\r\n")+"\n")
		}
	} else {
		fmt.Fprintf(out, "%s: %s is %s of %s already: bringing it up\n", edit.at, ip, edit.ins, cls)
	}

	st, err := openStore(c.Context, r.Root, edit.inv)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	defer st.Close()
	joined, err := hasJoined(c.Context, st, ip)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	p, err := change.Make(c.Context, st, r)
	if err != nil {
		return cli.Exit(fmt.Sprintf("%v\nnothing was changed", err), 2)
	}
	p.Print(out)
	if c.Bool("dry-run") {
		fmt.Fprintln(out, "dry run: nothing was changed")
		return nil
	}
	if edit.line > 0 {
		if err := replaceFile(r.File, edit.src, edit.text); err != nil {
			return cli.Exit(fmt.Sprintf("%v\nnothing was changed", err), 1)
		}
		fmt.Fprintf(out, "%s: %s declared at line %d\n", r.File, edit.ins, edit.line)
	}
	// The members' services are waited for by the plan; the new
	// instance, whose first passes clone it, below.
	p.Instances = slices.DeleteFunc(p.Instances, func(i *change.Instance) bool { return i.Name == edit.ins })
	res, err := change.Apply(c.Context, st, p, c.Duration("timeout"), out)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	if !joined {
		fmt.Fprintf(out, "%s has not joined yet: %s comes up once it has. On the infra host, pigsty token prints the token;\n"+
			"on %s: pigsty join <infra-ip> --token <token>\n", ip, edit.ins, ip)
		return nil
	}
	rev := res.Revision
	if rev == 0 {
		rev = p.Stored
	}
	if err := waitInstance(c.Context, st, instanceNamed(edit.inv.Cluster(cls), edit.ins), rev, c.Duration("timeout"), out); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	if cl, _, err := anyMember(c.Context, edit.inv.Cluster(cls)); err == nil {
		printMembers(out, cls, cl)
	}
	return nil
}

// memberEdit is what pgsql add does to the inventory: the text with the
// host declared, or nothing when it is declared already.
type memberEdit struct {
	src, text []byte
	inv       *inventory.Inventory // the inventory after the edit
	ins       string               // the instance's name
	line      int                  // where the entry was added; 0: no edit
	added     string               // the lines added
	at        inventory.Pos        // where a member already declared is
}

// planEdit validates the inventory, declares ip in cls unless it is
// already, and validates the result. Nothing is written.
func planEdit(r change.Request, cls, ip string, seq int, role string) (memberEdit, error) {
	src, err := os.ReadFile(r.File)
	if err != nil {
		return memberEdit{}, fmt.Errorf("read inventory: %w", err)
	}
	inv, err := inventory.Parse(r.File, src, r.ExtraVars)
	if err != nil {
		return memberEdit{}, err
	}
	cluster := inv.Cluster(cls)
	if cluster == nil {
		var names []string
		for _, c := range inv.Clusters {
			names = append(names, c.Name)
		}
		return memberEdit{}, fmt.Errorf("no cluster %s in %s; clusters: %s", cls, r.File, strings.Join(names, ", "))
	}
	if h := inv.Host(ip); h != nil && h.Instance != nil {
		if h.Instance.Cluster != cls {
			return memberEdit{}, fmt.Errorf("%s: %s is %s, an instance of %s; allowed: a host that is in no other cluster",
				h.Source("pg_cluster").Pos, ip, h.Instance.Name, h.Instance.Cluster)
		}
		return memberEdit{src: src, text: src, inv: inv, ins: h.Instance.Name, at: h.Source("pg_seq").Pos}, nil
	}
	if seq == 0 {
		for _, i := range cluster.Instances {
			seq = max(seq, i.Seq)
		}
		seq++
	}
	text, line, err := inventory.AddMember(r.File, src, inventory.Member{Cluster: cls, IP: ip, Seq: seq, Role: role})
	if err != nil {
		return memberEdit{}, err
	}
	after, err := inventory.Parse(r.File, text, r.ExtraVars)
	if err != nil {
		return memberEdit{}, fmt.Errorf("with %s declared at line %d, %s would not validate:\n%w", ip, line, r.File, err)
	}
	lines := strings.SplitAfter(string(text), "\n")
	n := strings.Count(string(text), "\n") - strings.Count(string(src), "\n")
	return memberEdit{src: src, text: text, inv: after, ins: after.Host(ip).Instance.Name, line: line,
		added: strings.Join(lines[line-1:line-1+n], "")}, nil
}

// hasJoined reports whether a host's agent is registered.
func hasJoined(ctx context.Context, st *store.Store, ip string) (bool, error) {
	nodes, err := st.Nodes(ctx)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(nodes, func(n store.Node) bool { return n.IP == ip }), nil
}

// waitInstance waits until the instance reports revision rev or later
// converged and Patroni says it streams. A new replica's first passes may
// end early while Patroni clones it: a failed report is shown and waited
// past, until timeout.
func waitInstance(ctx context.Context, st *store.Store, inst *inventory.Instance, rev int64, timeout time.Duration, out io.Writer) error {
	ins := inst.Name
	fmt.Fprintf(out, "waiting for %s\n", ins)
	deadline := time.Now().Add(timeout)
	var last string
	shown := map[string]bool{}
	show := func(line string) {
		if !shown[line] {
			fmt.Fprintf(out, "    %s\n", line)
			shown[line] = true
		}
		last = line
	}
	for {
		all, err := st.Statuses(ctx)
		for _, s := range all {
			if err != nil || s.Instance != ins || s.Revision < rev {
				continue
			}
			if !s.OK {
				show(fmt.Sprintf("%s: %s: %s", ins, s.Phase, s.Error))
				continue
			}
			show(fmt.Sprintf("%s: %s at revision %d", ins, s.Phase, s.Revision))
			p, perr := memberClient(inst).Patroni(ctx)
			switch {
			case perr != nil:
				show(fmt.Sprintf("%s: patroni: %v", ins, perr))
			case p.Streaming():
				show(fmt.Sprintf("%s: %s, streaming", ins, p.Role))
				return nil
			default:
				show(fmt.Sprintf("%s: %s %s, not streaming yet", ins, p.Role, p.State))
			}
		}
		if time.Now().After(deadline) {
			if last == "" {
				last = "no report"
			}
			return fmt.Errorf("%s not ready at revision %d within %s (%s; see pigsty status and the agent's log)", ins, rev, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// replaceFile writes the inventory's new text in place of old, keeping its
// mode and owner, by renaming a complete copy over it: a crash leaves the
// old file or the new one. A file that changed since it was read is left
// alone.
func replaceFile(path string, old, text []byte) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	cur, err := os.ReadFile(real)
	if err != nil {
		return err
	}
	if string(cur) != string(old) {
		return fmt.Errorf("%s changed while pigsty pgsql add planned: run it again", path)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(real), "."+filepath.Base(real)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(text); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := tmp.Chown(int(sys.Uid), int(sys.Gid)); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), real)
}
