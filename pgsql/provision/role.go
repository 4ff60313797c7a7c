package provision

import (
	"fmt"
	"slices"
	"strings"

	"pigsty/pgsql/inventory"
)

// user plans one role: created if missing, then brought to every attribute
// the inventory mentions; attributes it does not mention are left as they
// are, memberships are only added unless one says state: absent. The
// password is a step of its own so it alone is secret. A user with state
// absent is dropped.
func (b *planner) user(u inventory.User) {
	if u.Absent() {
		b.dropRole(u.Name)
		return
	}
	name := ident(u.Name)
	var sql []string
	add := func(format string, args ...any) { sql = append(sql, fmt.Sprintf(format, args...)) }
	login := "LOGIN"
	if !u.CanLogin() {
		login = "NOLOGIN"
	}
	add("DO %s;", dollar(fmt.Sprintf(`
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = %s) THEN
        CREATE ROLE %s %s;
    END IF;
END
`, literal(u.Name), name, login)))
	if attrs := roleAttributes(u); len(attrs) > 0 {
		add("ALTER ROLE %s %s;", name, strings.Join(attrs, " "))
	}
	switch {
	case u.ExpireIn != nil:
		// the server's date, so that the plan stays a pure function
		add("DO %s;", dollar(fmt.Sprintf(`
BEGIN
    EXECUTE format('ALTER ROLE %%I VALID UNTIL %%L', %s, (current_date + %d)::text);
END
`, literal(u.Name), *u.ExpireIn)))
	case u.ExpireAt != "":
		add("ALTER ROLE %s VALID UNTIL %s;", name, literal(u.ExpireAt))
	}
	if u.Connlimit != nil {
		add("ALTER ROLE %s CONNECTION LIMIT %d;", name, *u.Connlimit)
	}
	params := u.Parameters
	if u.Name == b.p.PgMonitorUsername && !hasKey(params, "search_path") {
		// the monitor user reads the monitor schema unqualified (Pigsty)
		params = withKey(params, "search_path", "monitor,public")
	}
	for _, k := range sortedKeys(params) {
		sql = append(sql, setting("ROLE "+name, k, params[k]))
	}
	comment := u.Comment
	if comment == "" {
		comment = "business user " + u.Name
	}
	add("COMMENT ON ROLE %s IS %s;", name, literal(comment))
	roles := []string{u.Name}
	for _, m := range u.Roles {
		sql = append(sql, b.membership(u.Name, m)...)
		roles = append(roles, m.Name)
	}
	b.add(Step{Database: "postgres", Title: "create role " + u.Name, Statements: sql, roles: roles})

	if u.Password != "" {
		var pw []string
		if b.p.PgPwdEnc != "" {
			pw = append(pw, fmt.Sprintf("SET LOCAL password_encryption = %s;", literal(b.p.PgPwdEnc)))
		}
		pw = append(pw, fmt.Sprintf("ALTER ROLE %s PASSWORD %s;", name, literal(u.Password)))
		b.add(Step{
			Database: "postgres", Title: "set password of " + u.Name, Statements: pw, Secret: true,
			Password: &Password{Role: u.Name, Password: u.Password, Method: b.p.PgPwdEnc},
		})
	}
}

func roleAttributes(u inventory.User) []string {
	var out []string
	for _, a := range []struct {
		v       *bool
		yes, no string
	}{
		{u.Login, "LOGIN", "NOLOGIN"},
		{u.Superuser, "SUPERUSER", "NOSUPERUSER"},
		{u.Createdb, "CREATEDB", "NOCREATEDB"},
		{u.Createrole, "CREATEROLE", "NOCREATEROLE"},
		{u.Inherit, "INHERIT", "NOINHERIT"},
		{u.Replication, "REPLICATION", "NOREPLICATION"},
		{u.Bypassrls, "BYPASSRLS", "NOBYPASSRLS"},
	} {
		switch {
		case a.v == nil:
		case *a.v:
			out = append(out, a.yes)
		default:
			out = append(out, a.no)
		}
	}
	return out
}

// membership grants (or, asked to, revokes) one role. Memberships are
// incremental: a role the inventory does not list is left granted. The
// set and inherit options exist from PostgreSQL 16 on; older servers get
// the grant without them, and a note says so.
func (b *planner) membership(user string, m inventory.Membership) []string {
	role, member := ident(m.Name), ident(user)
	if m.Revoked() {
		// a role that is already gone has no member to revoke
		return []string{fmt.Sprintf("DO %s;", dollar(fmt.Sprintf(`
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_auth_members a JOIN pg_catalog.pg_roles r ON r.oid = a.roleid
               JOIN pg_catalog.pg_roles m ON m.oid = a.member WHERE r.rolname = %s AND m.rolname = %s) THEN
        REVOKE %s FROM %s;
    END IF;
END
`, literal(m.Name), literal(user), role, member)))}
	}
	if b.version >= 16 {
		var opts []string
		for _, o := range []struct {
			name string
			v    *bool
		}{{"ADMIN", m.Admin}, {"INHERIT", m.Inherit}, {"SET", m.Set}} {
			if o.v != nil {
				opts = append(opts, fmt.Sprintf("%s %t", o.name, *o.v))
			}
		}
		with := ""
		if len(opts) > 0 {
			with = " WITH " + strings.Join(opts, ", ")
		}
		return []string{fmt.Sprintf("GRANT %s TO %s%s;", role, member, with)}
	}
	var out []string
	if m.Admin != nil && *m.Admin {
		out = append(out, fmt.Sprintf("GRANT %s TO %s WITH ADMIN OPTION;", role, member))
	} else {
		out = append(out, fmt.Sprintf("GRANT %s TO %s;", role, member))
	}
	if m.Admin != nil && !*m.Admin {
		out = append(out, fmt.Sprintf("REVOKE ADMIN OPTION FOR %s FROM %s;", role, member))
	}
	if m.Set != nil || m.Inherit != nil {
		b.note("user %s: the set/inherit options of role %s need PostgreSQL 16: skipped on %d", user, m.Name, b.version)
	}
	return out
}

// dropRole plans pg-drop-role: log in no more, end the role's sessions,
// hand what it owns in every database to the dbsu and drop its privileges
// there, revoke its memberships, drop it. Each step reports what it did
// as notices; each is skipped once the role is gone.
func (b *planner) dropRole(name string) {
	successor := b.p.PgDbsu
	gone := roleGone(name)
	role, lit := ident(name), literal(name)
	b.add(Step{Database: "postgres", Title: "disable login of " + name, Unless: gone, Statements: []string{
		"ALTER ROLE " + role + " NOLOGIN;"}})
	b.add(Step{Database: "postgres", Title: "end the sessions of " + name, Unless: gone, Statements: []string{
		"DO " + dollar(`
DECLARE
    n int;
BEGIN
    SELECT count(pg_catalog.pg_terminate_backend(pid)) INTO n FROM pg_catalog.pg_stat_activity WHERE usename = `+lit+`;
    RAISE NOTICE 'terminated % sessions of %', n, `+lit+`;
END
`) + ";"}})
	var dbs []string
	for db, f := range b.live.Databases {
		switch {
		case db == "template0":
		case !f.AllowConn:
			b.note("user %s: database %s does not allow connections: objects of %s there are not reassigned, and drop role fails if there are any", name, db, name)
		default:
			dbs = append(dbs, db)
		}
	}
	slices.Sort(dbs)
	for _, db := range dbs {
		b.add(Step{Database: db, Title: fmt.Sprintf("reassign what %s owns in %s to %s", name, db, successor), Unless: gone, Statements: []string{
			"DO " + dollar(`
DECLARE
    n int;
BEGIN
    SELECT count(*) INTO n FROM pg_catalog.pg_shdepend
    WHERE refclassid = 'pg_catalog.pg_authid'::regclass AND refobjid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = `+lit+`) AND deptype IN ('o', 'a')
      AND dbid IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()));
    REASSIGN OWNED BY `+role+` TO `+ident(successor)+`;
    DROP OWNED BY `+role+`;
    RAISE NOTICE 'reassigned what % owns in % to %, dropped its privileges there (% dependencies)', `+lit+`, current_database(), `+literal(successor)+`, n;
END
`) + ";"}})
	}
	b.add(Step{Database: "postgres", Title: "drop role " + name, Unless: gone, Statements: []string{
		"DO " + dollar(`
DECLARE
    m record;
BEGIN
    FOR m IN SELECT a.roleid::regrole AS role, a.member::regrole AS member, a.grantor::regrole AS grantor
             FROM pg_catalog.pg_auth_members a, pg_catalog.pg_roles r
             WHERE r.rolname = `+lit+` AND (a.member = r.oid OR a.roleid = r.oid) LOOP
        EXECUTE format('REVOKE %s FROM %s GRANTED BY %s', m.role, m.member, m.grantor);
        RAISE NOTICE 'revoked % from %', m.role, m.member;
    END LOOP;
END
`) + ";",
		"DROP ROLE " + role + ";",
	}})
}
