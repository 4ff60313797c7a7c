package provision

import (
	"fmt"
	"slices"
	"strings"

	"pigsty/pgsql/inventory"
)

// database plans one business database: created when missing (from the
// postgres database), configured, then provisioned from inside.
func (b *planner) database(db inventory.Database) {
	if db.State == "absent" || db.State == "recreate" {
		b.note("database %s has state %s: dropping databases is a day-2 task, skipped", db.Name, db.State)
		return
	}
	name := ident(db.Name)
	exists := fmt.Sprintf("SELECT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = %s)", literal(db.Name))

	if db.Template != "" && db.Template != "template0" && db.Template != "template1" {
		// CREATE DATABASE fails while anyone is connected to its template
		b.add(Step{Database: "postgres", Title: fmt.Sprintf("disconnect template %s of %s", db.Template, db.Name), Unless: exists, SQL: fmt.Sprintf(
			"SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity\nWHERE datname = %s AND pid <> pg_catalog.pg_backend_pid();\n",
			literal(db.Template))})
	}
	b.add(Step{Database: "postgres", Title: "create database " + db.Name, SQL: b.createDatabase(db), NoTx: true, Unless: exists})
	if db.Tablespace != "" {
		// a no-op when the database is there already
		b.add(Step{Database: "postgres", Title: fmt.Sprintf("move database %s to tablespace %s", db.Name, db.Tablespace), NoTx: true,
			SQL: fmt.Sprintf("ALTER DATABASE %s SET TABLESPACE %s;\n", name, ident(db.Tablespace))})
	}
	b.add(Step{Database: "postgres", Title: "configure database " + db.Name, SQL: b.configureDatabase(db)})

	if db.Baseline != "" {
		b.note("database %s: baseline %s is not run (baseline SQL files are not part of the inventory)", db.Name, db.Baseline)
	}
	if db.Allowconn != nil && !*db.Allowconn {
		b.note("database %s does not allow connections: its schemas, extensions and privileges are not provisioned", db.Name)
		return
	}
	if db.Template == "template0" {
		// a copy of template0 lacks what template1 was given: the default
		// privileges above all, without which dbrole_readonly reads nothing
		b.template(db.Name)
	}
	b.inside(db)
}

func (b *planner) createDatabase(db inventory.Database) string {
	var opts []string
	opt := func(format string, args ...any) { opts = append(opts, fmt.Sprintf(format, args...)) }
	if db.Owner != "" {
		opt("OWNER = %s", ident(db.Owner))
	}
	if db.Template != "" {
		opt("TEMPLATE = %s", ident(db.Template))
	}
	if db.Encoding != "" {
		opt("ENCODING = %s", literal(db.Encoding))
	}
	if db.Strategy != "" {
		if b.p.PgVersion >= 15 {
			opt("STRATEGY = %s", literal(strings.ToUpper(db.Strategy)))
		} else {
			b.note("database %s: strategy needs PostgreSQL 15, ignored", db.Name)
		}
	}
	if db.Locale != "" {
		opt("LOCALE = %s", literal(db.Locale))
	}
	if db.LcCollate != "" {
		opt("LC_COLLATE = %s", literal(db.LcCollate))
	}
	if db.LcCtype != "" {
		opt("LC_CTYPE = %s", literal(db.LcCtype))
	}
	if db.LocaleProvider != "" {
		opt("LOCALE_PROVIDER = %s", literal(db.LocaleProvider))
	}
	if db.IcuLocale != "" {
		opt("ICU_LOCALE = %s", literal(db.IcuLocale))
	}
	if db.IcuRules != "" {
		if b.p.PgVersion >= 16 {
			opt("ICU_RULES = %s", literal(db.IcuRules))
		} else {
			b.note("database %s: icu_rules needs PostgreSQL 16, ignored", db.Name)
		}
	}
	if db.Tablespace != "" {
		opt("TABLESPACE = %s", ident(db.Tablespace))
	}
	if db.Connlimit != nil {
		opt("CONNECTION LIMIT = %d", *db.Connlimit)
	}
	if db.IsTemplate != nil {
		opt("IS_TEMPLATE = %t", *db.IsTemplate)
	}
	if db.Allowconn != nil {
		opt("ALLOW_CONNECTIONS = %t", *db.Allowconn)
	}
	if len(opts) == 0 {
		return fmt.Sprintf("CREATE DATABASE %s;\n", ident(db.Name))
	}
	return fmt.Sprintf("CREATE DATABASE %s WITH\n    %s;\n", ident(db.Name), strings.Join(opts, "\n    "))
}

// configureDatabase brings an existing database to what the inventory
// says of it: owner, limits, parameters, comment and database ACL.
func (b *planner) configureDatabase(db inventory.Database) string {
	name := ident(db.Name)
	var sql strings.Builder
	if db.Owner != "" {
		fmt.Fprintf(&sql, "ALTER DATABASE %s OWNER TO %s;\n", name, ident(db.Owner))
	}
	if db.Connlimit != nil {
		fmt.Fprintf(&sql, "ALTER DATABASE %s WITH CONNECTION LIMIT %d;\n", name, *db.Connlimit)
	}
	if db.IsTemplate != nil {
		fmt.Fprintf(&sql, "ALTER DATABASE %s WITH IS_TEMPLATE %t;\n", name, *db.IsTemplate)
	}
	if db.Allowconn != nil {
		fmt.Fprintf(&sql, "ALTER DATABASE %s WITH ALLOW_CONNECTIONS %t;\n", name, *db.Allowconn)
	}
	for _, k := range sortedKeys(db.Parameters) {
		sql.WriteString(setting("DATABASE "+name, k, db.Parameters[k]))
	}
	comment := db.Comment
	if comment == "" {
		comment = "business database " + db.Name
	}
	fmt.Fprintf(&sql, "COMMENT ON DATABASE %s IS %s;\n", name, literal(comment))

	if db.Revokeconn != nil {
		if *db.Revokeconn {
			// only the system users and the owner may connect (seed §5.4)
			fmt.Fprintf(&sql, "REVOKE CONNECT ON DATABASE %s FROM PUBLIC;\n", name)
			for _, u := range []string{b.p.PgReplicationUsername, b.p.PgMonitorUsername} {
				fmt.Fprintf(&sql, "GRANT CONNECT ON DATABASE %s TO %s;\n", name, ident(u))
			}
			fmt.Fprintf(&sql, "GRANT CONNECT ON DATABASE %s TO %s WITH GRANT OPTION;\n", name, ident(b.p.PgAdminUsername))
			if db.Owner != "" {
				fmt.Fprintf(&sql, "GRANT CONNECT ON DATABASE %s TO %s WITH GRANT OPTION;\n", name, ident(db.Owner))
			}
		} else {
			fmt.Fprintf(&sql, "GRANT CONNECT ON DATABASE %s TO PUBLIC;\n", name)
		}
	}
	if b.p.PgRevokePublic {
		fmt.Fprintf(&sql, "REVOKE CREATE ON DATABASE %s FROM PUBLIC;\n", name)
	}
	fmt.Fprintf(&sql, "GRANT CREATE ON DATABASE %s TO %s;\n", name, ident(adminRole))
	return sql.String()
}

// inside plans what is done connected to the database itself: the public
// schema's privileges, the owner's default privileges, schemas, extensions.
func (b *planner) inside(db inventory.Database) {
	var acl strings.Builder
	if b.p.PgRevokePublic {
		acl.WriteString("REVOKE CREATE ON SCHEMA public FROM PUBLIC;\n")
	}
	fmt.Fprintf(&acl, "GRANT CREATE ON SCHEMA public TO %s;\n", ident(adminRole))
	if owner := db.Owner; owner != "" && !slices.Contains(b.privilegeOwners(), owner) {
		// objects the owner creates get the same privileges as the admins'
		defaultPrivileges(&acl, owner, b.p.PgDefaultPrivileges)
	}
	b.add(Step{Database: db.Name, Title: "privileges in " + db.Name, SQL: acl.String()})

	for _, s := range db.Schemas {
		if s.State == "absent" {
			b.note("schema %s of database %s has state absent: dropping schemas is a day-2 task, skipped", s.Name, db.Name)
			continue
		}
		var sql strings.Builder
		fmt.Fprintf(&sql, "CREATE SCHEMA IF NOT EXISTS %s", ident(s.Name))
		if s.Owner != "" {
			fmt.Fprintf(&sql, " AUTHORIZATION %s;\nALTER SCHEMA %s OWNER TO %s", ident(s.Owner), ident(s.Name), ident(s.Owner))
		}
		sql.WriteString(";\n")
		b.add(Step{Database: db.Name, Title: fmt.Sprintf("create schema %s in %s", s.Name, db.Name), SQL: sql.String()})
	}

	for _, e := range db.Extensions {
		switch {
		case e.State == "absent":
			b.note("extension %s of database %s has state absent: dropping extensions is a day-2 task, skipped", e.Name, db.Name)
		case !b.installable(e.Name):
			b.note("extension %s of database %s is not available on this server: skipped", e.Name, db.Name)
		default:
			b.add(Step{Database: db.Name, Title: fmt.Sprintf("create extension %s in %s", e.Name, db.Name), SQL: createExtension(e.Name, e.Schema, e.Version)})
		}
	}
}
