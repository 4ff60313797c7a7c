package change

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"pigsty/infra/store"
	"pigsty/node/agent"
	"pigsty/node/dbsu"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/patroni"
	"pigsty/pgsql/provision"
)

// Plan is what a change will do: the desired state it stores and, for
// every instance it is for, the SQL and file changes that instance's
// agent will execute.
type Plan struct {
	Request   Request       `json:"-"`
	Desired   store.Desired `json:"-"`
	Stored    int64         `json:"stored_revision"` // the revision the plan compares against; 0 for none
	Unchanged bool          `json:"unchanged"`       // the inventory is the one stored
	Instances []*Instance   `json:"instances"`
	Notes     []string      `json:"notes,omitempty"`

	inventory *inventory.Inventory
	leaders   map[string]string // cluster → its leader now: services follow live roles
}

// Instance is the plan of one instance.
type Instance struct {
	Name    string `json:"ins"`
	Cluster string `json:"cls"`
	IP      string `json:"ip"`
	Role    string `json:"role"` // as Patroni reports it, else the inventory's
	// Local instances run on this host: their SQL and files are compared.
	// The agents of the others plan and apply their own.
	Local bool     `json:"local"`
	SQL   []SQL    `json:"sql,omitempty"`
	Files []File   `json:"files,omitempty"`
	Notes []string `json:"notes,omitempty"`
}

// SQL is one provisioning step that will run: its statements, or for a
// step setting a password its title alone.
type SQL struct {
	Database   string   `json:"database"`
	Title      string   `json:"title"`
	Statements []string `json:"statements,omitempty"`
	Secret     bool     `json:"secret,omitempty"`
}

// File is a file an agent will write or remove.
type File struct {
	Path   string `json:"path"`
	Action string `json:"action"` // create, change, remove
	Diff   string `json:"diff,omitempty"`
	Reload string `json:"reload,omitempty"`
}

// Changes reports whether the instance will change anything.
func (i *Instance) Changes() bool { return len(i.SQL) > 0 || len(i.Files) > 0 }

// Empty reports whether the plan changes nothing anywhere.
func (p *Plan) Empty() bool {
	for _, i := range p.Instances {
		if i.Changes() {
			return false
		}
	}
	return true
}

// Make plans a change against the stored desired state and the live
// servers of this host. Nothing changes, whatever it returns.
func Make(ctx context.Context, st *store.Store, r Request) (*Plan, error) {
	inv, d, err := r.load()
	if err != nil {
		return nil, err
	}
	var stored *store.Desired
	var old *inventory.Inventory
	if cur, err := st.Desired(ctx); err == nil {
		stored = &cur
		if old, err = inventory.Parse("desired state", cur.Inventory, cur.ExtraVars); err != nil {
			old = nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	d.Removed = keepRemoved(inv, stored)
	p := &Plan{Request: r, Desired: d, inventory: inv}
	if p.leaders, err = agent.Leaders(ctx, st, inv); err != nil {
		return nil, err
	}
	if stored != nil {
		p.Stored = stored.Revision
		p.Unchanged = string(stored.Inventory) == string(d.Inventory) && strings.Join(stored.ExtraVars, "\x00") == strings.Join(d.ExtraVars, "\x00") &&
			sameFiles(stored.Files, d.Files)
	}
	for _, w := range inv.Warnings {
		p.Notes = append(p.Notes, w.Error())
	}
	targets, err := r.targets(inv, d)
	if err != nil {
		return nil, err
	}
	if p.Desired.Confirmed, err = r.confirm(inv, targets); err != nil {
		return nil, err
	}
	if stored != nil {
		p.Unchanged = p.Unchanged && len(p.Desired.Confirmed) == 0
	}
	if (r.Limit != "" || r.Scope.Kind != "") && old == nil {
		return nil, fmt.Errorf("no desired state is stored yet to limit the change to %s: run pigsty apply -f %s first", r.what(), r.File)
	}
	if extra := r.outOfScope(old, inv, targets); len(extra) > 0 && (r.Limit != "" || r.Scope.Kind != "") {
		return nil, fmt.Errorf("%s changes more than %s:\n  %s\nnothing was changed; apply the whole inventory with pigsty apply -f %s",
			r.File, r.what(), strings.Join(extra, "\n  "), r.File)
	}
	local, err := localAddresses()
	if err != nil {
		return nil, err
	}
	for _, i := range inv.Instances() {
		if !targets[i.Name] {
			continue
		}
		ip := &Instance{Name: i.Name, Cluster: i.Cluster, IP: i.IP, Role: i.Role, Local: local[i.IP]}
		p.Instances = append(p.Instances, ip)
		for _, r := range d.Removed {
			if r.Instance == i.Name {
				ip.Local = false
				ip.Notes = append(ip.Notes, "removed by pigsty pgsql rm: delete it from the inventory (its agent keeps it down)")
			}
		}
		if !ip.Local {
			continue
		}
		var prev *inventory.Instance
		if old != nil {
			if h := old.Host(i.IP); h != nil && h.Instance != nil && h.Instance.Name == i.Name {
				prev = h.Instance
			}
		}
		if err := p.local(ctx, ip, i, prev); err != nil {
			return nil, fmt.Errorf("plan %s: %w", i.Name, err)
		}
	}
	return p, nil
}

// targets are the instances the change is for: -l, or a scope's cluster
// and addresses, or all.
func (r Request) targets(inv *inventory.Inventory, d store.Desired) (map[string]bool, error) {
	out := map[string]bool{}
	var list []*inventory.Instance
	switch {
	case r.Scope.Cluster != "":
		c := inv.Cluster(r.Scope.Cluster)
		if c == nil {
			_, err := inv.Select(r.Scope.Cluster)
			return nil, fmt.Errorf("no cluster %s in %s: %v", r.Scope.Cluster, r.File, err)
		}
		for _, i := range c.Instances {
			if len(r.Scope.IPs) == 0 || contains(r.Scope.IPs, i.IP) || contains(r.Scope.IPs, i.Name) {
				list = append(list, i)
			}
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("no member of %s has address %s", r.Scope.Cluster, strings.Join(r.Scope.IPs, ", "))
		}
	case r.Limit != "":
		var err error
		if list, err = inv.Select(r.Limit); err != nil {
			return nil, err
		}
	default:
		list = inv.Instances()
	}
	for _, i := range list {
		out[i.Name] = true
	}
	return out, nil
}

// local plans an instance of this host: what its agent's next pass will
// execute (SQL, on the primary) and write.
func (p *Plan) local(ctx context.Context, ip *Instance, i *inventory.Instance, prev *inventory.Instance) error {
	l := layout.New(p.Request.Root, i)
	role := ""
	if st, err := patroniOf(i).Patroni(ctx); err == nil && st.Running() {
		role = st.Role
	}
	member := agent.MemberRole(i, role)
	ip.Role = member
	running := exists(filepath.Join(l.Data(), "PG_VERSION")) && role != ""
	if !running {
		ip.Notes = append(ip.Notes, "PostgreSQL is not running here: its SQL is planned by its agent once it runs")
	}
	passwords := map[string]bool{}
	if running && member == "primary" && i.Params.PgProvision {
		res, err := agent.DBSU(ctx, p.Request.Exe, i, l, dbsu.Request{Facts: true}, nil)
		if err != nil {
			return err
		}
		opts := agent.ProvisionOptions(p.Desired, i.Cluster)
		opts.Previous = prev
		steps, notes := provision.Plan(i, res.Facts, opts)
		ip.Notes = append(ip.Notes, notes...)
		_, err = agent.DBSU(ctx, p.Request.Exe, i, l, dbsu.Request{Steps: steps, DryRun: true}, func(ev dbsu.Event) {
			if ev.Outcome != "done" {
				return
			}
			ip.SQL = append(ip.SQL, SQL{Database: ev.Database, Title: ev.Title, Statements: ev.Ran, Secret: ev.Secret})
			if ev.Secret {
				passwords[strings.TrimPrefix(ev.Title, "set password of ")] = true
			}
		})
		if err != nil {
			return err
		}
	}
	files, err := p.files(ctx, i, l, member, running, passwords)
	if err != nil {
		return err
	}
	ip.Files = files
	return nil
}

// files compares the files the agent's next pass renders with the disk,
// in the order of its phases: postgres, pgbouncer, HAProxy.
func (p *Plan) files(ctx context.Context, i *inventory.Instance, l layout.Layout, role string, running bool, passwords map[string]bool) ([]File, error) {
	var rendered []agent.Rendered
	if running {
		fs, err := agent.PostgresFiles(i, l, role)
		if err != nil {
			return nil, err
		}
		rendered = append(rendered, fs...)
	}
	if i.Params.PgbouncerEnabled && running {
		verifiers := map[string]string{}
		res, err := agent.DBSU(ctx, p.Request.Exe, i, l, dbsu.Request{Verifiers: agent.PgbouncerUsers(i)}, nil)
		if err != nil {
			return nil, err
		}
		for u, v := range res.Verifiers {
			verifiers[u] = v
		}
		for u := range passwords {
			// the password step sets a new verifier: the line changes
			verifiers[u] = "<the verifier the password step sets>"
		}
		fs, err := agent.PgbouncerFiles(i, l, role, verifiers)
		if err != nil {
			return nil, err
		}
		rendered = append(rendered, fs...)
	}
	var stale []string
	if i.Params.HaproxyEnabled {
		fs, err := agent.HAProxyFiles(i, l, p.leaders)
		if err != nil {
			return nil, err
		}
		rendered = append(rendered, fs...)
		if stale, err = agent.StaleServices(l, fs); err != nil {
			return nil, err
		}
	}
	mask := p.masker(i)
	var out []File
	for _, f := range rendered {
		show := mask.mask
		if f.Secret {
			show = func(s string) string { return mask.mask(userlistLine(s)) }
		}
		cur, err := os.ReadFile(f.Path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			out = append(out, File{Path: f.Path, Action: "create", Diff: lineDiff("", string(f.Data), show), Reload: f.Reload})
		case err != nil:
			return nil, err
		case string(cur) != string(f.Data):
			out = append(out, File{Path: f.Path, Action: "change", Diff: lineDiff(string(cur), string(f.Data), show), Reload: f.Reload})
		}
	}
	for _, path := range stale {
		out = append(out, File{Path: path, Action: "remove", Reload: "haproxy"})
	}
	return out, nil
}

// masker hides the inventory's passwords in diffs.
func (p *Plan) masker(i *inventory.Instance) masker {
	par := i.Params
	m := masker{par.PgAdminPassword, par.PgMonitorPassword, par.PgReplicationPassword, par.PgDbsuPassword,
		par.PatroniPassword, par.HaproxyAdminPassword, par.EtcdRootPassword, par.PgEtcdPassword}
	for _, u := range i.Users {
		m = append(m, u.Password)
	}
	// longest first, so that a password holding another is masked whole
	sort.Slice(m, func(a, b int) bool { return len(m[a]) > len(m[b]) })
	return m
}

func patroniOf(i *inventory.Instance) *patroni.Client {
	p := i.Params
	return patroni.NewClient(net.JoinHostPort(i.IP, strconv.Itoa(p.PatroniPort)), p.PatroniUsername, p.PatroniPassword, nil)
}

func localAddresses() (map[string]bool, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list this host's addresses: %w", err)
	}
	out := map[string]bool{}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			out[ipn.IP.String()] = true
		}
	}
	return out, nil
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sameFiles(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if string(b[k]) != string(v) {
			return false
		}
	}
	return true
}
