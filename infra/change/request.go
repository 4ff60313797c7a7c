// Package change is a change of the desired state as `pigsty apply` and
// the Pigsty-shaped `pigsty pgsql user|db|hba|svc|rm` make it: validate
// the inventory, plan what every affected instance will execute — the SQL
// against the live catalogs, the files against the disk — store the new
// desired state, and wait until each instance reports it converged.
package change

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"pigsty/infra/store"
	"pigsty/node/agent"
	"pigsty/pgsql/inventory"
)

// Request is one change to plan and apply.
type Request struct {
	Root      string   // this host's filesystem root ("/")
	Exe       string   // this binary, re-executed as the dbsu to read the catalogs
	File      string   // the inventory
	ExtraVars []string // its -e arguments
	// Text is the inventory's content when it is not yet File's: pigsty
	// pgsql add plans its edit of the file before writing it. nil reads
	// File.
	Text []byte
	// Limit (-l) names the instances the change is for: the inventory may
	// change nothing of any other.
	Limit string
	// Yes confirms the destructive changes the inventory asks for:
	// databases with state: recreate are dropped and created again.
	Yes   bool
	Scope Scope
	By    string // who: user@host
}

// Scope limits a change to some objects of one cluster, as Pigsty's
// pgsql-user, pgsql-db, pgsql-hba and pgsql-svc do: the inventory may
// change nothing else.
type Scope struct {
	Kind    string   // "" (everything), "user", "db", "hba", "svc"
	Cluster string   // the cluster of a scoped change
	Names   []string // the users or databases of a user or db change
	IPs     []string // hba, svc: only these members of the cluster
}

// load reads and validates the inventory and its baseline files.
func (r Request) load() (*inventory.Inventory, store.Desired, error) {
	raw := r.Text
	if raw == nil {
		var err error
		if raw, err = os.ReadFile(r.File); err != nil {
			return nil, store.Desired{}, fmt.Errorf("read inventory: %w", err)
		}
	}
	inv, err := inventory.Parse(r.File, raw, r.ExtraVars)
	if err != nil {
		return nil, store.Desired{}, err
	}
	files, err := Baselines(inv)
	if err != nil {
		return nil, store.Desired{}, err
	}
	return inv, store.Desired{Inventory: raw, ExtraVars: r.ExtraVars, Files: files}, nil
}

// confirm lists the recreates of databases the change reaches as
// confirmations, or refuses them without --yes: a recreate drops the
// database with all its data.
func (r Request) confirm(inv *inventory.Inventory, targets map[string]bool) ([]string, error) {
	var confirmed, unconfirmed []string
	for _, c := range inv.Clusters {
		reached := false
		for _, i := range c.Instances {
			reached = reached || targets[i.Name]
		}
		for _, db := range c.Instances[0].Databases {
			if db.State != "recreate" || !reached || (r.Scope.Kind != "" && !r.allowed(c.Instances[0].Name, c.Name, "database "+db.Name, targets)) {
				continue
			}
			if !r.Yes {
				o := db.Origin.Field("state")
				unconfirmed = append(unconfirmed, fmt.Sprintf("%s: %s: database %s of %s has state: recreate, which drops it with all its data and creates it again; confirm with --yes",
					o.Pos, o.Path, db.Name, c.Name))
				continue
			}
			confirmed = append(confirmed, agent.Recreate(c.Name, db.Name))
		}
	}
	if len(unconfirmed) > 0 {
		return nil, errors.New(strings.Join(unconfirmed, "\n"))
	}
	return confirmed, nil
}

// Baselines reads the baseline files the inventory's databases name. A
// relative path is looked up next to the inventory file, then in its
// files/ directory (where Pigsty keeps them); the desired state carries
// their text, so that the primary's agent has it on any host.
func Baselines(inv *inventory.Inventory) (map[string][]byte, error) {
	dir := filepath.Dir(inv.File)
	out := map[string][]byte{}
	var problems []string
	for _, c := range inv.Clusters {
		for _, db := range c.Instances[0].Databases {
			if db.Baseline == "" || out[db.Baseline] != nil {
				continue
			}
			candidates := []string{db.Baseline}
			if !filepath.IsAbs(db.Baseline) {
				candidates = []string{filepath.Join(dir, db.Baseline), filepath.Join(dir, "files", db.Baseline)}
			}
			var text []byte
			var err error
			for _, path := range candidates {
				if text, err = os.ReadFile(path); err == nil {
					break
				}
			}
			if err != nil {
				o := db.Origin.Field("baseline")
				problems = append(problems, fmt.Sprintf("%s: %s: baseline of database %s: %v (got %q); allowed: an SQL file, relative to %s or its files/ directory",
					o.Pos, o.Path, db.Name, errors.Unwrap(err), db.Baseline, dir))
				continue
			}
			out[db.Baseline] = text
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// keepRemoved carries the instances `pigsty pgsql rm` removed into the
// new desired state while the inventory still lists them; once the user
// deleted them from it, as Pigsty asks, their removal is forgotten.
func keepRemoved(inv *inventory.Inventory, stored *store.Desired) []store.Removal {
	if stored == nil {
		return nil
	}
	var out []store.Removal
	for _, r := range stored.Removed {
		if slices.ContainsFunc(inv.Instances(), func(i *inventory.Instance) bool { return i.Name == r.Instance }) {
			out = append(out, r)
		}
	}
	return out
}

// reconcile is the confirmation that makes a new revision of unchanged
// content: the plan found the live state drifted from the inventory, and
// the agents provision once per revision.
func reconcile() string { return "reconcile " + time.Now().UTC().Format(time.RFC3339Nano) }
