package provision

import (
	"fmt"
	"strings"

	"pigsty/pgsql/inventory"
)

// user plans one role: created if missing, then brought to every attribute
// the inventory mentions; attributes it does not mention are left as they
// are. The password is a step of its own so it alone is secret.
func (b *planner) user(u inventory.User) {
	if u.Absent() {
		b.note("user %s has state absent: dropping users is a day-2 task, skipped", u.Name)
		return
	}
	name := ident(u.Name)
	var sql strings.Builder
	login := "LOGIN"
	if !u.CanLogin() {
		login = "NOLOGIN"
	}
	fmt.Fprintf(&sql, "DO %s;\n", dollar(fmt.Sprintf(`
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = %s) THEN
        CREATE ROLE %s %s;
    END IF;
END
`, literal(u.Name), name, login)))
	if attrs := roleAttributes(u); len(attrs) > 0 {
		fmt.Fprintf(&sql, "ALTER ROLE %s %s;\n", name, strings.Join(attrs, " "))
	}
	switch {
	case u.ExpireIn != nil:
		// the server's date, so that the plan stays a pure function
		fmt.Fprintf(&sql, "DO %s;\n", dollar(fmt.Sprintf(`
BEGIN
    EXECUTE format('ALTER ROLE %%I VALID UNTIL %%L', %s, (current_date + %d)::text);
END
`, literal(u.Name), *u.ExpireIn)))
	case u.ExpireAt != "":
		fmt.Fprintf(&sql, "ALTER ROLE %s VALID UNTIL %s;\n", name, literal(u.ExpireAt))
	}
	if u.Connlimit != nil {
		fmt.Fprintf(&sql, "ALTER ROLE %s CONNECTION LIMIT %d;\n", name, *u.Connlimit)
	}
	params := u.Parameters
	if u.Name == b.p.PgMonitorUsername && !hasKey(params, "search_path") {
		// the monitor user reads the monitor schema unqualified (Pigsty)
		params = withKey(params, "search_path", "monitor,public")
	}
	for _, k := range sortedKeys(params) {
		sql.WriteString(setting("ROLE "+name, k, params[k]))
	}
	comment := u.Comment
	if comment == "" {
		comment = "business user " + u.Name
	}
	fmt.Fprintf(&sql, "COMMENT ON ROLE %s IS %s;\n", name, literal(comment))
	for _, m := range u.Roles {
		b.membership(&sql, u.Name, m)
	}
	b.add(Step{Database: "postgres", Title: "create role " + u.Name, SQL: sql.String()})

	if u.Password != "" {
		var pw strings.Builder
		if b.p.PgPwdEnc != "" {
			fmt.Fprintf(&pw, "SET LOCAL password_encryption = %s;\n", literal(b.p.PgPwdEnc))
		}
		fmt.Fprintf(&pw, "ALTER ROLE %s PASSWORD %s;\n", name, literal(u.Password))
		b.add(Step{
			Database: "postgres", Title: "set password of " + u.Name, SQL: pw.String(), Secret: true,
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
// incremental: a role the inventory does not list is left granted.
func (b *planner) membership(sql *strings.Builder, user string, m inventory.Membership) {
	role, member := ident(m.Name), ident(user)
	if m.Revoked() {
		fmt.Fprintf(sql, "REVOKE %s FROM %s;\n", role, member)
		return
	}
	if b.p.PgVersion >= 16 {
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
		fmt.Fprintf(sql, "GRANT %s TO %s%s;\n", role, member, with)
		return
	}
	if m.Admin != nil && *m.Admin {
		fmt.Fprintf(sql, "GRANT %s TO %s WITH ADMIN OPTION;\n", role, member)
	} else {
		fmt.Fprintf(sql, "GRANT %s TO %s;\n", role, member)
	}
	if m.Admin != nil && !*m.Admin {
		fmt.Fprintf(sql, "REVOKE ADMIN OPTION FOR %s FROM %s;\n", role, member)
	}
	if m.Set != nil || m.Inherit != nil {
		fmt.Fprintf(sql, "-- set/inherit options of %s need PostgreSQL 16: skipped on %d\n", m.Name, b.p.PgVersion)
	}
}
