package provision

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"pigsty/pgsql/inventory"
)

// TestProvisionMeta provisions pg-meta-1 on a real PostgreSQL 15 twice,
// checks the second run changes nothing, then checks what users of the
// cluster rely on.
func TestProvisionMeta(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	admin, err := c.connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	i := metaInstance(t)
	if notes := provisionTwice(t, ctx, c, i, "template1", "postgres", "meta"); len(notes) != 0 {
		t.Errorf("notes: %q", notes)
	}
	t.Run("roles", func(t *testing.T) { checkRoles(t, ctx, admin, i.Users) })
	t.Run("extensions", func(t *testing.T) { checkExtensions(t, ctx, c, i.Params.PgDefaultExtensions) })
	t.Run("public schema", func(t *testing.T) { checkPublicSchema(t, ctx, c) })
	t.Run("default privileges", func(t *testing.T) { checkDefaultACL(t, ctx, c) })
	t.Run("business users", func(t *testing.T) { checkBusinessAccess(t, ctx, c) })
	t.Run("monitor", func(t *testing.T) { checkMonitor(t, ctx, c) })
	t.Run("verifiers", func(t *testing.T) { checkVerifiers(t, ctx, admin, i.Users) })
	t.Run("secrets", func(t *testing.T) { checkSecrets(t, ctx, c, i.Users) })
}

// provisionTwice plans an instance against the server's extensions and
// applies the plan twice: the second run must skip exactly the steps that
// check, and leave the catalog of the given databases as it was.
func provisionTwice(t *testing.T, ctx context.Context, c *cluster, i *inventory.Instance, dbs ...string) []string {
	t.Helper()
	available := map[string]bool{}
	for _, n := range query[string](t, ctx, c, "postgres", "SELECT name FROM pg_available_extensions") {
		available[n] = true
	}
	steps, notes := Plan(i, available)
	checked := 0 // steps that check whether they are done: create database, passwords
	for _, s := range steps {
		if s.Unless != "" || s.Password != nil {
			checked++
		}
	}
	apply := func(run int) map[error]int {
		counts := map[error]int{}
		start := time.Now()
		err := Apply(ctx, c.connect, steps, func(s Step, err error) { counts[err]++ })
		if err != nil {
			t.Fatalf("apply %d: %v\n%s", run, err, c.log())
		}
		t.Logf("apply %d: %d steps, %d run, %d already in place, in %v",
			run, len(steps), counts[nil], counts[ErrSkipped], time.Since(start).Round(time.Millisecond))
		return counts
	}
	if first := apply(1); first[ErrSkipped] != 0 {
		t.Errorf("first run skipped %d steps", first[ErrSkipped])
	}
	before := snapshot(t, ctx, c, dbs)
	if second := apply(2); second[ErrSkipped] != checked {
		t.Errorf("second run skipped %d steps, want the %d that check", second[ErrSkipped], checked)
	}
	if after := snapshot(t, ctx, c, dbs); after != before {
		t.Errorf("the second run changed the catalog:\n%s", diffLines(before, after))
	}
	return notes
}

// snapshot is what provisioning may change, as text: roles with their
// attributes, passwords, settings and memberships, databases, and in each
// provisioned database its schemas, extensions, default ACLs and the
// monitor schema's objects (with OIDs, so a drop and create shows).
func snapshot(t *testing.T, ctx context.Context, c *cluster, dbs []string) string {
	t.Helper()
	global := []string{
		`SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls,
		        rolconnlimit, rolvaliduntil::text, rolpassword, shobj_description(oid, 'pg_authid') FROM pg_authid ORDER BY 1`,
		`SELECT r.rolname, m.rolname, a.admin_option FROM pg_auth_members a
		 JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member ORDER BY 1, 2`,
		`SELECT coalesce(r.rolname, ''), coalesce(d.datname, ''), s.setconfig::text FROM pg_db_role_setting s
		 LEFT JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase ORDER BY 1, 2`,
		`SELECT oid, datname, pg_get_userbyid(datdba), encoding, datcollate, datctype, datistemplate, datallowconn,
		        datconnlimit, datacl::text, shobj_description(oid, 'pg_database') FROM pg_database ORDER BY 2`,
	}
	local := []string{
		`SELECT oid, nspname, pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace ORDER BY 2`,
		`SELECT oid, extname, extversion, extnamespace::regnamespace::text FROM pg_extension ORDER BY 2`,
		`SELECT pg_get_userbyid(defaclrole), defaclnamespace, defaclobjtype, defaclacl::text FROM pg_default_acl ORDER BY 1, 2, 3`,
		`SELECT oid, relname, relkind, relacl::text, obj_description(oid, 'pg_class') FROM pg_class
		 WHERE relnamespace = 'monitor'::regnamespace ORDER BY 2`,
		`SELECT oid, oid::regprocedure::text, proacl::text, md5(prosrc) FROM pg_proc
		 WHERE pronamespace = 'monitor'::regnamespace ORDER BY 2`,
		`SELECT oid::regprocedure::text, proacl::text FROM pg_proc WHERE proacl IS NOT NULL
		 AND pronamespace = 'pg_catalog'::regnamespace ORDER BY 1`,
	}
	var b strings.Builder
	dump := func(db string, queries []string) {
		conn, err := c.connect(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		for _, q := range queries {
			rows, _ := conn.Query(ctx, q)
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "%s: %v\n", db, vals)
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	dump("postgres", global)
	for _, db := range dbs {
		dump(db, local)
	}
	return b.String()
}

func diffLines(a, b string) string {
	in := map[string]bool{}
	for _, l := range strings.Split(a, "\n") {
		in[l] = true
	}
	var out []string
	for _, l := range strings.Split(b, "\n") {
		if !in[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// TestProvisionFeatures applies the plan of the features inventory (every
// user and database field) to a real PostgreSQL 15, twice.
func TestProvisionFeatures(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	notes := provisionTwice(t, ctx, c, instance(t, "features.yml", features), "template1", "postgres", "app.db", "app_copy")
	t.Logf("notes:\n%s", strings.Join(notes, "\n"))

	for sql, want := range map[string]string{
		`SELECT rolcanlogin || ' ' || rolcreatedb || ' ' || rolbypassrls || ' ' || rolconnlimit || ' ' || (rolvaliduntil::date - current_date)
		 || ' ' || array_to_string(rolconfig, ';') FROM pg_roles WHERE rolname = 'dbuser.app-1@corp'`: `true true false 10 30 search_path=app, "$user", public;work_mem=64MB`,
		`SELECT string_agg(r.rolname || ':' || a.admin_option, ',' ORDER BY r.rolname) FROM pg_auth_members a
		 JOIN pg_roles r ON r.oid = a.roleid WHERE a.member = (SELECT oid FROM pg_roles WHERE rolname = 'dbuser.app-1@corp')`: "dbrole_admin:true,dbrole_readwrite:false,pg_monitor:false",
		`SELECT rolinherit || ' ' || rolvaliduntil::date || ' ' || left(rolpassword, 14) FROM pg_authid WHERE rolname = 'dbuser_hashed'`: "false 2030-12-31 SCRAM-SHA-256$",
		`SELECT pg_get_userbyid(datdba) || ' ' || datlocprovider::text || ' ' || daticulocale || ' ' || datconnlimit || ' ' || datacl::text
		 FROM pg_database WHERE datname = 'app.db'`: `dbuser.app-1@corp i en-US 50 {"=T/\"dbuser.app-1@corp\"","\"dbuser.app-1@corp\"=CTc*/\"dbuser.app-1@corp\"",` +
			`"replicator=c/\"dbuser.app-1@corp\"","dbuser_monitor=c/\"dbuser.app-1@corp\"","dbuser_dba=c*/\"dbuser.app-1@corp\"","dbrole_admin=C/\"dbuser.app-1@corp\""}`,
		`SELECT datallowconn::text FROM pg_database WHERE datname = 'frozen'`:                                                                       "false",
		`SELECT array_to_string(setconfig, ';') FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = 'app.db')`: "pg_trgm.similarity_threshold=0.5;search_path=app, public",
	} {
		if got := query[string](t, ctx, c, "postgres", sql); len(got) != 1 || got[0] != want {
			t.Errorf("%s\n got %q\nwant %q", sql, got, want)
		}
	}
	// app_copy is a copy of app.db, schemas and all
	for _, db := range []string{"app.db", "app_copy"} {
		got := query[string](t, ctx, c, db, `SELECT string_agg(nspname || ':' || pg_get_userbyid(nspowner), ',' ORDER BY nspname)
			FROM pg_namespace WHERE nspname IN ('app', 'audit')`)
		if got[0] != "app:postgres,audit:dbuser_hashed" {
			t.Errorf("%s: schemas %q", db, got)
		}
	}
	conn, err := c.login(ctx, "dbuser.app-1@corp", `it's\secret`, "app.db")
	if err != nil {
		t.Fatalf("login with a password holding a quote and a backslash: %v", err)
	}
	conn.Close(ctx)
}
