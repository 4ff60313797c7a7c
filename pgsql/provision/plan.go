package provision

import (
	"fmt"

	"pigsty/pgsql/inventory"
)

// adminRole is the role Pigsty's ACL model gives object creation to; its
// name is fixed in Pigsty as well (pg-init-template, pg-db).
const adminRole = "dbrole_admin"

// Plan returns the steps that provision the primary of this instance, in
// Pigsty's order:
//
//  1. pg_default_roles (default roles and system users, with passwords)
//  2. template1, then postgres: default privileges, default schemas,
//     pg_revoke_public, default extensions, backup grants, monitor schema
//  3. pg_users
//  4. pg_databases, each created and then provisioned inside (a copy of
//     template0 first gets what template1 was given in step 2)
//
// available lists the extensions the server can install
// (pg_available_extensions); nil means every extension is. What the plan
// leaves out (missing extensions, users or databases to drop, baselines)
// is explained in the notes.
func Plan(i *inventory.Instance, available map[string]bool) ([]Step, []string) {
	p := i.Params
	b := &planner{p: p, available: available}
	if !p.PgProvision {
		b.note("pg_provision is false: nothing is provisioned")
		return nil, b.notes
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
	b.template("template1")
	b.template("postgres")
	for _, u := range i.Users {
		if !isDefault[u.Name] {
			b.user(u)
		}
	}
	for _, db := range i.Databases {
		b.database(db)
	}
	return b.steps, b.notes
}

type planner struct {
	p         *inventory.Params
	available map[string]bool
	steps     []Step
	notes     []string
}

func (b *planner) add(s Step) { b.steps = append(b.steps, s) }

func (b *planner) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func (b *planner) installable(extension string) bool {
	return b.available == nil || b.available[extension]
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
