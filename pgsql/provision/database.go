package provision

import (
	"fmt"
	"slices"
	"strings"

	"pigsty/pgsql/inventory"
)

// database plans one business database. A database that does not exist
// (or is being recreated) is created from its template and provisioned
// inside, and its baseline runs; one that exists is brought to the
// inventory's mutable fields, and its one-time fields are compared and
// reported when they differ. state: absent drops it; state: recreate drops
// and creates it again, but only when the change confirmed it.
func (b *planner) database(db inventory.Database) {
	if db.State == "absent" {
		b.dropDatabase(db.Name, false)
		return
	}
	fact, exists := b.live.Databases[db.Name]
	recreate := db.State == "recreate" && b.opts.Recreate[db.Name]
	if recreate && exists {
		b.dropDatabase(db.Name, true)
	}
	if exists && !recreate {
		b.existing(db, fact)
		return
	}
	if db.Template != "" && db.Template != "template0" && db.Template != "template1" {
		// CREATE DATABASE fails while anyone is connected to its template
		b.add(Step{Database: "postgres", Title: fmt.Sprintf("end the sessions on %s, the template of %s", db.Template, db.Name), Always: true,
			Disconnect: []string{db.Template},
			Statements: []string{fmt.Sprintf("SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity\nWHERE datname = %s AND pid <> pg_catalog.pg_backend_pid();",
				literal(db.Template))}})
	}
	var template []string
	if db.Template != "" {
		template = []string{db.Template}
	}
	b.add(Step{Database: "postgres", Title: "create database " + db.Name, NoTx: true, Always: true, Disconnect: template,
		Statements: []string{b.createDatabase(db)}})
	b.add(Step{Database: "postgres", Title: "configure database " + db.Name, Always: true, Statements: b.configureDatabase(db), roles: databaseRoles(db)})
	if db.Allowconn != nil && !*db.Allowconn {
		b.note("database %s does not allow connections: its schemas, extensions, privileges and baseline are not provisioned", db.Name)
		return
	}
	start := len(b.steps)
	if db.Template == "template0" {
		// a copy of template0 lacks what template1 was given: the default
		// privileges above all, without which dbrole_readonly reads nothing
		b.template(db.Name, true, db)
	}
	b.inside(db)
	if db.Baseline != "" {
		b.baseline(db)
	}
	for n := start; n < len(b.steps); n++ {
		b.steps[n].Always = true
	}
}

// existing plans a database that is there already.
func (b *planner) existing(db inventory.Database, fact DatabaseFact) {
	if db.State == "recreate" {
		b.note("database %s has state recreate, not confirmed for this change: it is kept as it is", db.Name)
	}
	b.oneTimeFields(db, fact)
	if db.Tablespace != "" && db.Tablespace != fact.Tablespace {
		b.add(Step{Database: "postgres", Title: fmt.Sprintf("move database %s to tablespace %s", db.Name, db.Tablespace), NoTx: true,
			Unless: fmt.Sprintf("SELECT EXISTS (SELECT FROM pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = %s AND t.spcname = %s)",
				literal(db.Name), literal(db.Tablespace)),
			Statements: []string{fmt.Sprintf("ALTER DATABASE %s SET TABLESPACE %s;", ident(db.Name), ident(db.Tablespace))}})
	}
	b.add(Step{Database: "postgres", Title: "configure database " + db.Name, Statements: b.configureDatabase(db), roles: databaseRoles(db)})
	connectable := fact.AllowConn
	if db.Allowconn != nil {
		connectable = *db.Allowconn
	}
	if !connectable {
		b.note("database %s does not allow connections: its schemas, extensions and privileges are not provisioned", db.Name)
		return
	}
	start := len(b.steps)
	if db.Template == "template0" {
		b.template(db.Name, true, db)
	}
	b.inside(db)
	if !fact.AllowConn {
		// connections are allowed by the configure step above: a dry run
		// cannot connect yet, so what follows runs whole
		for n := start; n < len(b.steps); n++ {
			b.steps[n].Always = true
		}
	}
}

// oneTimeFields reports the fields fixed when a database is created that
// the inventory now gives differently: the server's values for encoding
// and locales, the previous desired state for template and strategy,
// which the server does not record.
func (b *planner) oneTimeFields(db inventory.Database, f DatabaseFact) {
	differ := func(field, server, inventory string) {
		b.note("database %s: %s is %q on the server but %q in the inventory: it is fixed when the database is created and is not changed (state: recreate rebuilds the database)",
			db.Name, field, server, inventory)
	}
	if db.Encoding != "" && !sameEncoding(db.Encoding, f.Encoding) {
		differ("encoding", f.Encoding, db.Encoding)
	}
	if db.LocaleProvider != "" && db.LocaleProvider != f.LocaleProvider {
		differ("locale_provider", f.LocaleProvider, db.LocaleProvider)
	}
	collate, ctype := db.LcCollate, db.LcCtype
	if db.Locale != "" && (db.LocaleProvider == "" || db.LocaleProvider == "libc") {
		collate, ctype = cmpOr(collate, db.Locale), cmpOr(ctype, db.Locale)
	}
	if collate != "" && !sameLocale(collate, f.Collate) {
		differ("lc_collate", f.Collate, collate)
	}
	if ctype != "" && !sameLocale(ctype, f.Ctype) {
		differ("lc_ctype", f.Ctype, ctype)
	}
	if db.IcuLocale != "" && db.IcuLocale != f.IcuLocale {
		differ("icu_locale", f.IcuLocale, db.IcuLocale)
	}
	if b.opts.Previous == nil {
		return
	}
	for _, prev := range b.opts.Previous.Databases {
		if prev.Name != db.Name || prev.State == "absent" {
			continue
		}
		if prev.Template != db.Template {
			b.note("database %s: template changes from %q to %q: it is used only when the database is created (state: recreate rebuilds the database)",
				db.Name, cmpOr(prev.Template, "template1"), cmpOr(db.Template, "template1"))
		}
		if !strings.EqualFold(prev.Strategy, db.Strategy) {
			b.note("database %s: strategy changes from %s to %s: it is used only when the database is created",
				db.Name, strategyName(prev.Strategy), strategyName(db.Strategy))
		}
	}
}

func strategyName(s string) string {
	if s == "" {
		return "the default (WAL_LOG)"
	}
	return strings.ToUpper(s)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// databaseRoles are the roles a database's configuration names.
func databaseRoles(db inventory.Database) []string {
	var out []string
	if db.Owner != "" {
		out = append(out, db.Owner)
	}
	for _, s := range db.Schemas {
		if s.Owner != "" {
			out = append(out, s.Owner)
		}
	}
	return out
}

// dropDatabase plans DROP DATABASE … WITH (FORCE), which ends the
// sessions on it; a template is unmarked first, as PostgreSQL refuses to
// drop one. A database being recreated is dropped whatever the check
// says: the create that follows expects it gone.
func (b *planner) dropDatabase(name string, recreate bool) {
	b.add(Step{Database: "postgres", Title: "unmark template " + name,
		Unless:     fmt.Sprintf("SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = %s AND datistemplate)", literal(name)),
		Statements: []string{fmt.Sprintf("ALTER DATABASE %s IS_TEMPLATE false;", ident(name))}})
	drop := Step{Database: "postgres", Title: "drop database " + name, NoTx: true, Disconnect: []string{name},
		Statements: []string{fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE);", ident(name))}}
	if recreate {
		drop.Always = true
	} else {
		drop.Unless = "SELECT NOT (" + databaseExists(name) + ")"
	}
	b.add(drop)
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
		if b.version >= 15 {
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
		if b.version >= 16 {
			opt("ICU_RULES = %s", literal(db.IcuRules))
		} else {
			b.note("database %s: icu_rules needs PostgreSQL 16: skipped on %d", db.Name, b.version)
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
		return fmt.Sprintf("CREATE DATABASE %s;", ident(db.Name))
	}
	return fmt.Sprintf("CREATE DATABASE %s WITH\n    %s;", ident(db.Name), strings.Join(opts, "\n    "))
}

// configureDatabase brings a database to what the inventory says of it:
// owner, limits, parameters, comment and database ACL.
func (b *planner) configureDatabase(db inventory.Database) []string {
	name := ident(db.Name)
	var sql []string
	add := func(format string, args ...any) { sql = append(sql, fmt.Sprintf(format, args...)) }
	if db.Owner != "" {
		add("ALTER DATABASE %s OWNER TO %s;", name, ident(db.Owner))
	}
	if db.Connlimit != nil {
		add("ALTER DATABASE %s WITH CONNECTION LIMIT %d;", name, *db.Connlimit)
	}
	if db.IsTemplate != nil {
		add("ALTER DATABASE %s WITH IS_TEMPLATE %t;", name, *db.IsTemplate)
	}
	if db.Allowconn != nil {
		add("ALTER DATABASE %s WITH ALLOW_CONNECTIONS %t;", name, *db.Allowconn)
	}
	for _, k := range sortedKeys(db.Parameters) {
		sql = append(sql, setting("DATABASE "+name, k, db.Parameters[k]))
	}
	comment := db.Comment
	if comment == "" {
		comment = "business database " + db.Name
	}
	add("COMMENT ON DATABASE %s IS %s;", name, literal(comment))

	if db.Revokeconn != nil {
		if *db.Revokeconn {
			// only the system users and the owner may connect (seed §5.4)
			add("REVOKE CONNECT ON DATABASE %s FROM PUBLIC;", name)
			for _, u := range []string{b.p.PgReplicationUsername, b.p.PgMonitorUsername} {
				add("GRANT CONNECT ON DATABASE %s TO %s;", name, ident(u))
			}
			add("GRANT CONNECT ON DATABASE %s TO %s WITH GRANT OPTION;", name, ident(b.p.PgAdminUsername))
			if db.Owner != "" {
				add("GRANT CONNECT ON DATABASE %s TO %s WITH GRANT OPTION;", name, ident(db.Owner))
			}
		} else {
			add("GRANT CONNECT ON DATABASE %s TO PUBLIC;", name)
		}
	}
	if b.p.PgRevokePublic {
		add("REVOKE CREATE ON DATABASE %s FROM PUBLIC;", name)
	}
	add("GRANT CREATE ON DATABASE %s TO %s;", name, ident(adminRole))
	return sql
}

// inside plans what is done connected to the database itself: the public
// schema's privileges, the owner's default privileges, schemas and
// extensions, created or (state: absent) dropped with CASCADE.
func (b *planner) inside(db inventory.Database) {
	var acl []string
	if b.p.PgRevokePublic {
		acl = append(acl, "REVOKE CREATE ON SCHEMA public FROM PUBLIC;")
	}
	acl = append(acl, fmt.Sprintf("GRANT CREATE ON SCHEMA public TO %s;", ident(adminRole)))
	roles := []string{adminRole}
	if owner := db.Owner; owner != "" && !slices.Contains(b.privilegeOwners(), owner) {
		// objects the owner creates get the same privileges as the admins'
		acl = append(acl, defaultPrivileges(owner, b.p.PgDefaultPrivileges)...)
		roles = append(roles, owner)
		roles = append(roles, grantees(b.p.PgDefaultPrivileges)...)
	}
	b.add(Step{Database: db.Name, Title: "privileges in " + db.Name, Statements: acl, roles: roles})

	for _, s := range db.Schemas {
		if s.State == "absent" {
			b.add(Step{Database: db.Name, Title: fmt.Sprintf("drop schema %s in %s", s.Name, db.Name),
				Statements: []string{fmt.Sprintf("DROP SCHEMA IF EXISTS %s CASCADE;", ident(s.Name))}})
			continue
		}
		create := fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS %s;", ident(s.Name))
		sql := []string{create}
		var roles []string
		if s.Owner != "" {
			sql = []string{
				fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION %s;", ident(s.Name), ident(s.Owner)),
				fmt.Sprintf("ALTER SCHEMA %s OWNER TO %s;", ident(s.Name), ident(s.Owner)),
			}
			roles = []string{s.Owner}
		}
		b.add(Step{Database: db.Name, Title: fmt.Sprintf("create schema %s in %s", s.Name, db.Name), Statements: sql, roles: roles})
	}

	for _, e := range db.Extensions {
		switch {
		case e.State == "absent":
			b.add(Step{Database: db.Name, Title: fmt.Sprintf("drop extension %s in %s", e.Name, db.Name),
				Statements: []string{fmt.Sprintf("DROP EXTENSION IF EXISTS %s CASCADE;", ident(e.Name))}})
		case !b.installable(e.Name):
			b.note("extension %s of database %s is not available on this server: skipped", e.Name, db.Name)
		default:
			b.add(Step{Database: db.Name, Title: fmt.Sprintf("create extension %s in %s", e.Name, db.Name), Statements: createExtension(e.Name, e.Schema, e.Version)})
		}
	}
}

// baseline runs the database's baseline SQL file once, right after the
// database is created (or recreated), statement by statement as psql -f
// would, outside a transaction.
func (b *planner) baseline(db inventory.Database) {
	text, ok := b.opts.Baselines[db.Baseline]
	if !ok {
		// pigsty apply stores the baselines; an inventory stored otherwise
		// (an agent's start) may lack them
		b.note("database %s: the baseline file %s is not part of the desired state: not run (pigsty apply stores it)", db.Name, db.Baseline)
		return
	}
	statements := splitSQL(string(text))
	if len(statements) == 0 {
		b.note("database %s: the baseline file %s holds no statement", db.Name, db.Baseline)
		return
	}
	b.add(Step{Database: db.Name, Title: fmt.Sprintf("baseline %s in %s", db.Baseline, db.Name), NoTx: true, Always: true,
		Statements: statements, Summary: fmt.Sprintf(`\i %s -- %d statements`, db.Baseline, len(statements))})
}
