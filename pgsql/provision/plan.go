package provision

import (
	"fmt"
	"slices"

	"pigsty/pgsql/inventory"
)

// adminRole is the role Pigsty's ACL model gives object creation to; its
// name is fixed in Pigsty as well (pg-init-template, pg-db).
const adminRole = "dbrole_admin"

// Options are what a plan needs beyond the inventory and the server.
type Options struct {
	// Recreate names the databases whose `state: recreate` was confirmed
	// for this change; any other recreate database is left as it is.
	Recreate map[string]bool
	// Baselines are the baseline SQL files of the inventory's databases,
	// by the path the inventory gives.
	Baselines map[string][]byte
	// Previous is the instance as the desired state had it before this
	// change; with it, one-time fields the server does not record
	// (template, strategy) are reported when they change.
	Previous *inventory.Instance
}

// Plan returns the steps that bring the primary of this instance to the
// inventory, in Pigsty's order:
//
//  1. pg_default_roles (default roles and system users, with passwords)
//  2. template1, then postgres: default privileges, default schemas,
//     pg_revoke_public, default extensions, backup grants, monitor schema
//  3. pg_users: created, changed, or dropped as pg-drop-role does
//  4. pg_databases: created (and provisioned inside, baseline last),
//     changed, dropped or recreated
//
// live is the server as it is now. The notes say what the plan leaves out
// or cannot change (missing extensions, options the server's major lacks,
// one-time fields that differ, baselines the options do not carry).
func Plan(i *inventory.Instance, live Facts, opts Options) ([]Step, []string) {
	p := i.Params
	b := &planner{p: p, live: live, opts: opts, version: live.Version, creates: map[string]bool{}}
	if b.version == 0 {
		b.version = p.PgVersion
	}
	if b.live.Roles == nil {
		b.live.Roles = map[string]bool{}
	}
	if b.live.Databases == nil {
		b.live.Databases = map[string]DatabaseFact{}
	}
	if !p.PgProvision {
		b.note("pg_provision is false: nothing is provisioned")
		return nil, b.notes
	}
	for _, u := range i.Users {
		if !u.Absent() && !b.live.Roles[u.Name] {
			b.creates[u.Name] = true
		}
	}
	isDefault := map[string]bool{}
	for _, u := range p.PgDefaultRoles {
		isDefault[u.Name] = true
	}
	for _, u := range i.Users {
		if isDefault[u.Name] {
			b.user(u)
		}
	}
	b.template("template1", false)
	b.template("postgres", false)
	for _, u := range i.Users {
		if !isDefault[u.Name] {
			b.user(u)
		}
	}
	for _, db := range i.Databases {
		b.database(db)
	}
	for n, s := range b.steps {
		if s.Database != "postgres" && slices.ContainsFunc(s.roles, func(r string) bool { return b.creates[r] }) {
			b.steps[n].Always = true
		}
	}
	return b.steps, b.notes
}

type planner struct {
	p       *inventory.Params
	live    Facts
	opts    Options
	version int // the server's major version
	steps   []Step
	notes   []string
	creates map[string]bool // roles this plan creates
}

func (b *planner) add(s Step) { b.steps = append(b.steps, s) }

func (b *planner) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func (b *planner) installable(extension string) bool {
	return b.live.Extensions == nil || b.live.Extensions[extension]
}

// privilegeOwners are the roles whose new objects get pg_default_privileges:
// the dbsu, the admin user and dbrole_admin (which business admins SET ROLE
// to before DDL).
func (b *planner) privilegeOwners() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range []string{b.p.PgDbsu, b.p.PgAdminUsername, adminRole} {
		if r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// exists is the check of a step that creates a database.
func databaseExists(name string) string {
	return fmt.Sprintf("SELECT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = %s)", literal(name))
}

// roleGone is the check of the steps that drop a role.
func roleGone(name string) string {
	return fmt.Sprintf("SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = %s)", literal(name))
}
