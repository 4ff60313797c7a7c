package provision

import (
	"fmt"
	"strings"

	"pigsty/assets"
)

// template plans Pigsty's pg-init-template for one database (template1,
// then postgres). Databases created later copy template1, so they start
// with all of it.
func (b *planner) template(db string) {
	var acl strings.Builder
	for _, owner := range b.privilegeOwners() {
		defaultPrivileges(&acl, owner, b.p.PgDefaultPrivileges)
	}
	if acl.Len() > 0 {
		b.add(Step{Database: db, Title: "default privileges in " + db, SQL: acl.String()})
	}

	if len(b.p.PgDefaultSchemas) > 0 {
		var sql strings.Builder
		for _, s := range b.p.PgDefaultSchemas {
			fmt.Fprintf(&sql, "CREATE SCHEMA IF NOT EXISTS %s;\n", ident(s))
		}
		b.add(Step{Database: db, Title: "default schemas in " + db, SQL: sql.String()})
	}

	if b.p.PgRevokePublic {
		b.add(Step{Database: db, Title: "revoke public privileges in " + db, SQL: fmt.Sprintf(
			"REVOKE CREATE ON SCHEMA public FROM PUBLIC;\nREVOKE CREATE ON DATABASE %s FROM PUBLIC;\n", ident(db))})
	}

	for _, e := range b.p.PgDefaultExtensions {
		if e.State == "absent" {
			b.note("default extension %s has state absent: dropping extensions is a day-2 task, skipped in %s", e.Name, db)
			continue
		}
		if !b.installable(e.Name) {
			b.note("default extension %s is not available on this server: skipped in %s", e.Name, db)
			continue
		}
		b.add(Step{Database: db, Title: fmt.Sprintf("create extension %s in %s", e.Name, db), SQL: createExtension(e.Name, e.Schema, e.Version)})
	}

	if repl := b.p.PgReplicationUsername; repl != "" {
		b.add(Step{Database: db, Title: "backup privileges in " + db, SQL: backupGrants(ident(repl), b.p.PgVersion)})
	}

	b.add(Step{Database: db, Title: "monitor schema in " + db, SQL: assets.MonitorSQL})
}

// defaultPrivileges applies pg_default_privileges to the objects one role
// creates. Each entry is SQL (GRANT … ON … TO …) and is used as written.
func defaultPrivileges(sql *strings.Builder, owner string, privileges []string) {
	for _, priv := range privileges {
		fmt.Fprintf(sql, "ALTER DEFAULT PRIVILEGES FOR ROLE %s %s;\n", ident(owner), strings.TrimSpace(priv))
	}
}

func createExtension(name, schema, version string) string {
	var sql strings.Builder
	fmt.Fprintf(&sql, "CREATE EXTENSION IF NOT EXISTS %s", ident(name))
	if schema != "" {
		fmt.Fprintf(&sql, " WITH SCHEMA %s", ident(schema))
	}
	if version != "" {
		fmt.Fprintf(&sql, " VERSION %s", literal(version))
	}
	sql.WriteString(" CASCADE;\n")
	return sql.String()
}

// backupGrants lets the replication user run the backup and recovery
// functions pgBackRest calls, without being a superuser.
func backupGrants(repl string, version int) string {
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
	var sql strings.Builder
	fmt.Fprintf(&sql, "GRANT USAGE ON SCHEMA pg_catalog TO %s;\n", repl)
	for _, f := range functions {
		fmt.Fprintf(&sql, "GRANT EXECUTE ON FUNCTION pg_catalog.%s TO %s;\n", f, repl)
	}
	return sql.String()
}
