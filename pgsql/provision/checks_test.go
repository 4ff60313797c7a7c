package provision

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"pigsty/pgsql/inventory"
)

// checkRoles: every role exists with the attributes, comment and
// memberships the inventory gives it.
func checkRoles(t *testing.T, ctx context.Context, conn *pgx.Conn, users []inventory.User) {
	for _, u := range users {
		var login, super, repl bool
		var comment string
		err := conn.QueryRow(ctx, `SELECT rolcanlogin, rolsuper, rolreplication, coalesce(shobj_description(oid, 'pg_authid'), '')
			FROM pg_roles WHERE rolname = $1`, u.Name).Scan(&login, &super, &repl, &comment)
		if err != nil {
			t.Errorf("role %s: %v", u.Name, err)
			continue
		}
		if login != u.CanLogin() || (u.Superuser != nil && super != *u.Superuser) || (u.Replication != nil && repl != *u.Replication) {
			t.Errorf("role %s: login %v superuser %v replication %v", u.Name, login, super, repl)
		}
		if u.Comment != "" && comment != u.Comment {
			t.Errorf("role %s: comment %q", u.Name, comment)
		}
		for _, m := range u.Roles {
			var member bool
			err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_auth_members a
				JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
				WHERE r.rolname = $1 AND m.rolname = $2)`, m.Name, u.Name).Scan(&member)
			if err != nil || member == m.Revoked() {
				t.Errorf("role %s: member of %s = %v (%v)", u.Name, m.Name, member, err)
			}
		}
	}
}

// checkExtensions: the default extensions are in template1, postgres and
// the business database that copied template1.
func checkExtensions(t *testing.T, ctx context.Context, c *cluster, want []inventory.Extension) {
	for _, db := range []string{"template1", "postgres", "meta"} {
		have := strings.Join(query[string](t, ctx, c, db, "SELECT extname FROM pg_extension"), " ")
		for _, e := range want {
			if !strings.Contains(" "+have+" ", " "+e.Name+" ") {
				t.Errorf("%s: extension %s missing (have %s)", db, e.Name, have)
			}
		}
		t.Logf("%s: %d extensions", db, len(strings.Fields(have)))
	}
}

// checkPublicSchema: PUBLIC cannot create in the public schema.
func checkPublicSchema(t *testing.T, ctx context.Context, c *cluster) {
	for _, db := range []string{"template1", "postgres", "meta"} {
		n := query[int64](t, ctx, c, db, `SELECT count(*) FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
			WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE'`)
		if n[0] != 0 {
			t.Errorf("%s: PUBLIC may create in schema public", db)
		}
	}
}

// checkDefaultACL: each of pg_default_privileges holds for the objects of
// the dbsu, the admin user and dbrole_admin, in meta (copied from
// template1) and postgres.
func checkDefaultACL(t *testing.T, ctx context.Context, c *cluster) {
	i := metaInstance(t)
	objtype := map[string]string{"TABLES": "r", "SEQUENCES": "S", "FUNCTIONS": "f", "SCHEMAS": "n", "TYPES": "T"}
	for _, db := range []string{"postgres", "meta"} {
		have := map[string]bool{}
		for _, row := range query[string](t, ctx, c, db, `SELECT pg_get_userbyid(d.defaclrole) || ' ' || d.defaclobjtype::text || ' ' ||
				coalesce(pg_get_userbyid(nullif(a.grantee, 0)), 'PUBLIC') || ' ' || a.privilege_type
			FROM pg_default_acl d, aclexplode(d.defaclacl) a WHERE d.defaclnamespace = 0`) {
			have[row] = true
		}
		for _, owner := range []string{"postgres", "dbuser_dba", "dbrole_admin"} {
			for _, p := range i.Params.PgDefaultPrivileges {
				f := strings.Fields(p) // GRANT <priv> ON <objects> TO <role>
				key := strings.Join([]string{owner, objtype[f[3]], f[5], f[1]}, " ")
				if !have[key] {
					t.Errorf("%s: default privilege %q for role %s missing", db, p, owner)
				}
			}
		}
		if db == "meta" {
			t.Logf("\\ddp of postgres in meta:\n%s", strings.Join(query[string](t, ctx, c, db,
				`SELECT defaclobjtype::text || ' ' || defaclacl::text FROM pg_default_acl WHERE defaclrole = 'postgres'::regrole ORDER BY 1`), "\n"))
		}
	}
}

// checkBusinessAccess: dbuser_meta logs in with its password and creates
// a table as dbrole_admin (Pigsty's way for business admins); the default
// privileges let dbuser_view read it but not write it.
func checkBusinessAccess(t *testing.T, ctx context.Context, c *cluster) {
	if _, err := c.login(ctx, "dbuser_meta", "wrong", "meta"); !hasCode(err, "28P01") {
		t.Fatalf("a wrong password: %v", err)
	}
	owner, err := c.login(ctx, "dbuser_meta", "DBUser.Meta", "meta")
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	for _, sql := range []string{
		"SET ROLE dbrole_admin",
		"CREATE TABLE public.probe (id int PRIMARY KEY, v text)",
		"INSERT INTO public.probe SELECT g, md5(g::text) FROM generate_series(1, 10000) g",
		"ANALYZE public.probe",
		"RESET ROLE",
	} {
		if _, err := owner.Exec(ctx, sql); err != nil {
			t.Fatalf("dbuser_meta: %s: %v", sql, err)
		}
	}
	viewer, err := c.login(ctx, "dbuser_view", "DBUser.Viewer", "meta")
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close(ctx)
	var n int
	if err := viewer.QueryRow(ctx, "SELECT count(*) FROM public.probe").Scan(&n); err != nil || n != 10000 {
		t.Errorf("dbuser_view reads %d rows: %v", n, err)
	}
	if _, err := viewer.Exec(ctx, "INSERT INTO public.probe VALUES (0, 'x')"); !hasCode(err, "42501") {
		t.Errorf("dbuser_view inserts: %v", err)
	}
	if _, err := viewer.Exec(ctx, "CREATE TABLE public.nope (id int)"); !hasCode(err, "42501") {
		t.Errorf("dbuser_view creates a table in public: %v", err)
	}
}

// checkMonitor: the monitor schema answers the monitor user, and only it.
func checkMonitor(t *testing.T, ctx context.Context, c *cluster) {
	viewer, err := c.login(ctx, "dbuser_view", "DBUser.Viewer", "meta")
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close(ctx)
	if _, err := viewer.Exec(ctx, "SELECT * FROM monitor.pg_session"); !hasCode(err, "42501") {
		t.Errorf("dbuser_view reads monitor.pg_session: %v", err)
	}
	mon, err := c.login(ctx, "dbuser_monitor", "DBUser.Monitor", "meta")
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close(ctx)

	sessions := map[string]int64{}
	rows, _ := mon.Query(ctx, "SELECT datname, numbackends FROM monitor.pg_session")
	for rows.Next() {
		var db string
		var n int64
		if err := rows.Scan(&db, &n); err != nil {
			t.Fatal(err)
		}
		sessions[db] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("monitor.pg_session: %v", err)
	}
	if sessions["meta"] < 1 || sessions["all"] < sessions["meta"] {
		t.Errorf("monitor.pg_session: %v", sessions)
	}
	t.Logf("monitor.pg_session: %v", sessions)

	for _, q := range []string{
		"SELECT count(*) FROM monitor.pg_table_bloat",
		"SELECT count(*) FROM monitor.pg_index_bloat",
		"SELECT count(*) FROM monitor.pg_bloat",
		"SELECT count(*) FROM monitor.pg_table_bloat_human",
		"SELECT count(*) FROM monitor.pg_index_bloat_human",
		"SELECT count(*) FROM monitor.pg_seq_scan",
		"SELECT count(*) FROM monitor.pg_shmem()",
		"SELECT count(*) FROM monitor.beating()",
		"SELECT count(*) FROM monitor.pg_stat_statements",
	} {
		var n int64
		if err := mon.QueryRow(ctx, q).Scan(&n); err != nil || n == 0 {
			t.Errorf("%s: %d rows, %v", q, n, err)
		}
	}
	var ratio float64
	var size int64
	if err := mon.QueryRow(ctx, "SELECT ratio, size FROM monitor.pg_table_bloat WHERE relname = 'probe'").Scan(&ratio, &size); err != nil || ratio < 0 || ratio > 0.2 || size == 0 {
		t.Errorf("table bloat of a fresh table: ratio %v size %d: %v", ratio, size, err)
	}
	t.Logf("probe: table bloat %.3f of %d bytes", ratio, size)
	if err := mon.QueryRow(ctx, "SELECT ratio, size FROM monitor.pg_index_bloat WHERE relname = 'probe_pkey'").Scan(&ratio, &size); err != nil || ratio < 0 || ratio > 0.3 || size == 0 {
		t.Errorf("index bloat of a fresh index: ratio %v size %d: %v", ratio, size, err)
	}
	t.Logf("probe_pkey: index bloat %.3f of %d bytes", ratio, size)
	var status string
	if err := mon.QueryRow(ctx, "SELECT status FROM monitor.beating()").Scan(&status); err != nil || status != "leading" {
		t.Errorf("monitor.beating(): %q %v", status, err)
	}
	if _, err := mon.Exec(ctx, "SELECT * FROM monitor.pgbouncer_auth('dbuser_meta')"); !hasCode(err, "42501") {
		t.Errorf("dbuser_monitor calls pgbouncer_auth: %v", err)
	}
	dbsu, err := c.connect(ctx, "meta")
	if err != nil {
		t.Fatal(err)
	}
	defer dbsu.Close(ctx)
	var verifier string
	if err := dbsu.QueryRow(ctx, "SELECT password FROM monitor.pgbouncer_auth('dbuser_meta')").Scan(&verifier); err != nil || !strings.HasPrefix(verifier, scramPrefix) {
		t.Errorf("pgbouncer_auth(dbuser_meta): %q %v", verifier, err)
	}
	if err := dbsu.QueryRow(ctx, "SELECT password FROM monitor.pgbouncer_auth('dbuser_dba')").Scan(&verifier); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("pgbouncer_auth returns a superuser: %v", err)
	}
}

// checkVerifiers: Verifiers reads what the server stored, and the plan's
// password check recognizes it.
func checkVerifiers(t *testing.T, ctx context.Context, conn *pgx.Conn, users []inventory.User) {
	var names []string
	passwords := map[string]string{}
	for _, u := range users {
		names = append(names, u.Name)
		if u.Password != "" {
			passwords[u.Name] = u.Password
		}
	}
	got, err := Verifiers(ctx, conn, append(names, "nobody"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(passwords) {
		t.Errorf("verifiers of %d users, want %d: %v", len(got), len(passwords), got)
	}
	for name, pw := range passwords {
		p := &Password{Role: name, Password: pw, Method: "scram-sha-256"}
		if !p.matches(got[name]) {
			t.Errorf("verifier of %s (%q) does not match its password", name, got[name])
		}
	}
}

func query[T any](t *testing.T, ctx context.Context, c *cluster, db, sql string) []T {
	t.Helper()
	conn, err := c.connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, sql)
	out, err := pgx.CollectRows(rows, pgx.RowTo[T])
	if err != nil {
		t.Fatalf("%s: %s: %v", db, sql, err)
	}
	return out
}

func hasCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// checkSecrets: no password reached the server log (the test cluster logs
// every statement) or pg_stat_statements.
func checkSecrets(t *testing.T, ctx context.Context, c *cluster, users []inventory.User) {
	log := c.log()
	if !strings.Contains(log, "CREATE DATABASE") {
		t.Fatal("the server log does not show statements")
	}
	for _, u := range users {
		if u.Password == "" {
			continue
		}
		if strings.Contains(log, u.Password) {
			t.Errorf("the server log shows the password of %s", u.Name)
		}
		n := query[int64](t, ctx, c, "postgres", "SELECT count(*) FROM monitor.pg_stat_statements WHERE strpos(query, '"+u.Password+"') > 0")
		if n[0] != 0 {
			t.Errorf("pg_stat_statements shows the password of %s", u.Name)
		}
	}
}
