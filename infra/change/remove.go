package change

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"pigsty/infra/store"
	"pigsty/node/facts"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// Removal is what `pigsty pgsql rm` will do: which instances go, in
// which order, and what goes with each.
type Removal struct {
	Request  Request     `json:"-"`
	Cluster  string      `json:"cls"`
	Stored   int64       `json:"stored_revision"`
	Steps    []RemoveOne `json:"instances"` // replicas first, the primary last
	Remains  []string    `json:"remains,omitempty"`
	desired  store.Desired
	packages string
}

// RemoveOne is the removal of one instance.
type RemoveOne struct {
	store.Removal
	Role string   `json:"role"`
	IP   string   `json:"ip"`
	What []string `json:"what"` // what its agent removes, in order
}

// ErrSafeguard is the refusal of a removal under pg_safeguard.
var ErrSafeguard = errors.New("ABORT due to pg_safeguard enabled")

// PlanRemoval plans removing cluster cls, or those of its members the
// addresses (or instance names) name, as Pigsty's pgsql-rm does. It
// refuses when pg_safeguard holds for any of them — in the inventory file
// with the request's extra vars, or in the stored desired state — unless
// the extra vars turn it off; nothing is changed then.
func PlanRemoval(ctx context.Context, st *store.Store, r Request, cls string, members []string) (*Removal, error) {
	inv, err := inventory.Load(r.File, r.ExtraVars)
	if err != nil {
		return nil, err
	}
	cur, err := st.Desired(ctx)
	if err != nil {
		return nil, fmt.Errorf("the desired state: %w (nothing to remove)", err)
	}
	stored, err := inventory.Parse("desired state", cur.Inventory, append(append([]string(nil), cur.ExtraVars...), r.ExtraVars...))
	if err != nil {
		return nil, fmt.Errorf("the stored desired state: %w", err)
	}
	c := inv.Cluster(cls)
	if c == nil {
		_, err := inv.Select(cls)
		return nil, fmt.Errorf("no cluster %s in %s: %v", cls, r.File, err)
	}
	var targets []*inventory.Instance
	for _, i := range c.Instances {
		if len(members) == 0 || slices.Contains(members, i.IP) || slices.Contains(members, i.Name) {
			targets = append(targets, i)
		}
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("no member of %s is %s", cls, strings.Join(members, ", "))
	}
	var guarded []string
	for _, i := range targets {
		where := i.Host.Source("pg_safeguard").Pos.String()
		guard := i.Params.PgSafeguard
		if h := stored.Host(i.IP); h != nil && h.Params.PgSafeguard {
			guard, where = true, "the stored desired state"
		}
		if guard {
			guarded = append(guarded, fmt.Sprintf("%s (pg_safeguard: true at %s)", i.Name, where))
		}
	}
	if len(guarded) > 0 {
		return nil, fmt.Errorf("%w on %s: override with -e pg_safeguard=false", ErrSafeguard, strings.Join(guarded, ", "))
	}
	// replicas first: removing a primary that still has replicas fails over
	slices.SortStableFunc(targets, func(a, b *inventory.Instance) int {
		return boolInt(a.Role == "primary") - boolInt(b.Role == "primary")
	})
	rm := &Removal{Request: r, Cluster: cls, Stored: cur.Revision, desired: cur}
	gone := map[string]bool{}
	for _, i := range targets {
		gone[i.Name] = true
	}
	for _, i := range c.Instances {
		if !gone[i.Name] {
			rm.Remains = append(rm.Remains, i.Name)
		}
	}
	for _, i := range targets {
		p := i.Params
		one := RemoveOne{Removal: store.Removal{Instance: i.Name, Data: p.PgRmData, Backup: p.PgRmBackup, Packages: p.PgRmPkg}, Role: i.Role, IP: i.IP}
		l := layout.New(r.Root, i)
		one.What = append(one.What, fmt.Sprintf("the HAProxy services of %s on its node", cls), "pgbouncer", "Patroni and PostgreSQL")
		if i.Role == "primary" || len(rm.Remains) == 0 {
			one.What = append(one.What, "the cluster's DCS keys under "+store.DCSPrefix(p.PgNamespace, cls))
		}
		if one.Backup && i.Role == "primary" {
			one.What = append(one.What, "the backup repository "+l.BackupDir()+" (pg_rm_backup)")
		}
		if one.Data {
			one.What = append(one.What, "the data "+l.ClusterDir()+" and "+l.PG()+" (pg_rm_data)")
		}
		if one.Packages {
			one.What = append(one.What, "the packages of pg_packages and pg_extensions (pg_rm_pkg): "+packageNames(i))
		}
		rm.Steps = append(rm.Steps, one)
	}
	return rm, nil
}

func packageNames(i *inventory.Instance) string {
	os, err := facts.DetectOS()
	if err != nil {
		return err.Error()
	}
	pkgs, _, err := i.Params.Packages(os)
	if err != nil {
		return err.Error()
	}
	var names []string
	for _, p := range pkgs {
		if p.Via == "" {
			names = append(names, p.Name)
		}
	}
	return strings.Join(names, " ")
}

// Print writes the removal plan.
func (rm *Removal) Print(w io.Writer) {
	fmt.Fprintf(w, "remove from %s (desired state at revision %d), replicas first:\n", rm.Cluster, rm.Stored)
	for _, s := range rm.Steps {
		fmt.Fprintf(w, "\n%s [%s] @ %s\n", s.Instance, s.Role, s.IP)
		for _, what := range s.What {
			fmt.Fprintf(w, "  - %s\n", what)
		}
	}
	if len(rm.Remains) > 0 {
		fmt.Fprintf(w, "\n%s remain; their services are rendered again without the removed members\n", strings.Join(rm.Remains, ", "))
	}
	fmt.Fprintln(w, "\nafterwards, delete the removed instances from the inventory")
}

// Apply removes the instances, replicas first: each removal is a new
// desired revision that lists it removed, and waits until its agent
// reports it done and the remaining members converged without it.
func (rm *Removal) Apply(ctx context.Context, st *store.Store, timeout time.Duration, progress io.Writer) error {
	d := rm.desired
	batches := [][]RemoveOne{}
	for _, s := range rm.Steps {
		if s.Role == "primary" || len(batches) == 0 {
			batches = append(batches, nil)
		}
		batches[len(batches)-1] = append(batches[len(batches)-1], s)
	}
	for _, batch := range batches {
		var names []string
		for _, s := range batch {
			if _, already := d.Removes(s.Instance); !already {
				d.Removed = append(d.Removed, s.Removal)
			}
			names = append(names, s.Instance)
		}
		d.Confirmed = nil
		rev, _, err := st.Put(ctx, d, rm.Request.By)
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "desired state stored: revision %d removes %s\n", rev, strings.Join(names, ", "))
		wctx, cancel := context.WithTimeout(ctx, timeout)
		statuses, err := waitEach(wctx, st, append(names, rm.Remains...), rev, func(s store.Status) {
			fmt.Fprintf(progress, "    %s\n", statusLine(s))
			for _, c := range s.Changes {
				fmt.Fprintf(progress, "        %s\n", c)
			}
		})
		cancel()
		if err != nil {
			return err
		}
		for _, n := range names {
			if s := statuses[n]; !s.OK {
				return fmt.Errorf("%s: removal failed in %s: %s", n, s.Phase, s.Error)
			}
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
