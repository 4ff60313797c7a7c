package provision

import (
	"fmt"
	"strings"

	"pigsty/assets"
	"pigsty/pgsql/inventory"
)

// monitorStatements are the monitor schema's statements, one by one, so
// that a pass over a provisioned database runs none of them.
var monitorStatements = splitSQL(assets.MonitorSQL)

// template plans Pigsty's pg-init-template for one database (template1,
// then postgres). Databases created later copy template1, so they start
// with all of it; a copy of template0 gets it too (copied is true), its
// database-level ACL being configured with the database, and of the
// default schemas and extensions those it lists itself are its own (a
// database may drop one).
func (b *planner) template(db string, copied bool, own ...inventory.Database) {
	mine := map[string]bool{}
	for _, d := range own {
		for _, s := range d.Schemas {
			mine["schema "+s.Name] = true
		}
		for _, e := range d.Extensions {
			mine["extension "+e.Name] = true
		}
	}
	if len(b.p.PgDefaultPrivileges) > 0 {
		var acl []string
		for _, owner := range b.privilegeOwners() {
			acl = append(acl, defaultPrivileges(owner, b.p.PgDefaultPrivileges)...)
		}
		roles := append(b.privilegeOwners(), grantees(b.p.PgDefaultPrivileges)...)
		b.add(Step{Database: db, Title: "default privileges in " + db, Statements: acl, roles: roles})
	}

	if len(b.p.PgDefaultSchemas) > 0 {
		var sql []string
		for _, s := range b.p.PgDefaultSchemas {
			if !mine["schema "+s] {
				sql = append(sql, fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS %s;", ident(s)))
			}
		}
		if len(sql) > 0 {
			b.add(Step{Database: db, Title: "default schemas in " + db, Statements: sql})
		}
	}

	if b.p.PgRevokePublic {
		b.add(Step{Database: db, Title: "revoke public privileges in " + db, Statements: []string{
			"REVOKE CREATE ON SCHEMA public FROM PUBLIC;"}})
		if !copied {
			// a database's own ACL is a row of the shared catalog: changed
			// from postgres, like every other database-level setting, so
			// that a dry run's sessions never wait for each other
			b.add(Step{Database: "postgres", Title: "revoke public privileges on " + db, Statements: []string{
				fmt.Sprintf("REVOKE CREATE ON DATABASE %s FROM PUBLIC;", ident(db))}})
		}
	}

	for _, e := range b.p.PgDefaultExtensions {
		switch {
		case mine["extension "+e.Name]:
		case e.State == "absent":
			b.add(Step{Database: db, Title: fmt.Sprintf("drop extension %s in %s", e.Name, db),
				Statements: []string{fmt.Sprintf("DROP EXTENSION IF EXISTS %s CASCADE;", ident(e.Name))}})
		case !b.installable(e.Name):
			b.note("default extension %s is not available on this server: skipped in %s", e.Name, db)
		default:
			b.add(Step{Database: db, Title: fmt.Sprintf("create extension %s in %s", e.Name, db), Statements: createExtension(e.Name, e.Schema, e.Version)})
		}
	}

	if repl := b.p.PgReplicationUsername; repl != "" {
		b.add(Step{Database: db, Title: "backup privileges in " + db, Statements: backupGrants(ident(repl), b.version), roles: []string{repl}})
	}

	b.add(Step{Database: db, Title: "monitor schema in " + db, Statements: monitorStatements})
}

// defaultPrivileges applies pg_default_privileges to the objects one role
// creates. Each entry is SQL (GRANT … ON … TO …) and is used as written.
func defaultPrivileges(owner string, privileges []string) []string {
	var out []string
	for _, priv := range privileges {
		out = append(out, fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s %s;", ident(owner), strings.TrimSpace(priv)))
	}
	return out
}

// grantees are the roles pg_default_privileges grant to: the word after
// the last TO of each entry.
func grantees(privileges []string) []string {
	var out []string
	for _, priv := range privileges {
		f := strings.Fields(priv)
		for n := len(f) - 2; n >= 0; n-- {
			if strings.EqualFold(f[n], "TO") {
				out = append(out, strings.Trim(strings.TrimSuffix(f[n+1], ";"), `"`))
				break
			}
		}
	}
	return out
}

// createExtension creates an extension if missing and, when the inventory
// pins a version, updates an older one to it.
func createExtension(name, schema, version string) []string {
	var sql strings.Builder
	fmt.Fprintf(&sql, "CREATE EXTENSION IF NOT EXISTS %s", ident(name))
	if schema != "" {
		fmt.Fprintf(&sql, " WITH SCHEMA %s", ident(schema))
	}
	if version != "" {
		fmt.Fprintf(&sql, " VERSION %s", literal(version))
	}
	sql.WriteString(" CASCADE;")
	out := []string{sql.String()}
	if version != "" {
		out = append(out, fmt.Sprintf("ALTER EXTENSION %s UPDATE TO %s;", ident(name), literal(version)))
	}
	return out
}

// backupGrants lets the replication user run the backup and recovery
// functions pgBackRest calls, without being a superuser.
func backupGrants(repl string, version int) []string {
	functions := []string{
		"current_setting(text)",
		"set_config(text, text, boolean)",
		"pg_is_in_recovery()",
		"pg_create_restore_point(text)",
		"pg_switch_wal()",
		"pg_last_wal_replay_lsn()",
		"txid_current()",
		"txid_current_snapshot()",
		"txid_snapshot_xmax(txid_snapshot)",
		"pg_control_checkpoint()",
	}
	if version < 15 {
		functions = append(functions, "pg_start_backup(text, boolean, boolean)", "pg_stop_backup(boolean, boolean)")
	} else {
		functions = append(functions, "pg_backup_start(text, boolean)", "pg_backup_stop(boolean)")
	}
	out := []string{fmt.Sprintf("GRANT USAGE ON SCHEMA pg_catalog TO %s;", repl)}
	for _, f := range functions {
		out = append(out, fmt.Sprintf("GRANT EXECUTE ON FUNCTION pg_catalog.%s TO %s;", f, repl))
	}
	return out
}
