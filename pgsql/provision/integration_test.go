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
	if notes := provisionTwice(t, ctx, c, i, Options{}, "template1", "postgres", "meta"); len(notes) != 0 {
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

// provision plans an instance against the live server, dry-runs the plan,
// applies it, and checks the dry run reported exactly what the run
// executed. It returns the statements run and the plan's notes.
func provision(t *testing.T, ctx context.Context, c *cluster, i *inventory.Instance, opts Options) ([]string, []string) {
	t.Helper()
	conn, err := c.connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	facts, err := ReadFacts(ctx, conn)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	steps, notes := Plan(i, facts, opts)
	run := func(dryRun bool) []string {
		var ran []string
		start := time.Now()
		err := Apply(ctx, c.connect, steps, dryRun, func(o Outcome) {
			for _, st := range o.Step.Show(o.Ran) {
				ran = append(ran, fmt.Sprintf("[%s] %s", o.Step.Database, st))
			}
			if o.Step.Secret && len(o.Ran) > 0 {
				ran = append(ran, fmt.Sprintf("[%s] %s", o.Step.Database, o.Step.Title))
			}
		})
		if err != nil {
			t.Fatalf("apply (dry run %v): %v\n%s", dryRun, err, c.log())
		}
		t.Logf("dry run %v: %d steps, %d statements, in %v", dryRun, len(steps), len(ran), time.Since(start).Round(time.Millisecond))
		return ran
	}
	before := snapshot(t, ctx, c, []string{"postgres"})
	planned := run(true)
	if after := snapshot(t, ctx, c, []string{"postgres"}); after != before {
		t.Fatalf("the dry run changed the catalog:\n%s", diffLines(before, after))
	}
	ran := run(false)
	if strings.Join(planned, "\n") != strings.Join(ran, "\n") {
		t.Errorf("the dry run planned\n%s\nthe run executed\n%s", strings.Join(planned, "\n"), strings.Join(ran, "\n"))
	}
	return ran, notes
}

// provisionTwice provisions an instance twice: the second plan must run
// nothing and leave the catalog of the given databases as it was.
func provisionTwice(t *testing.T, ctx context.Context, c *cluster, i *inventory.Instance, opts Options, dbs ...string) []string {
	t.Helper()
	ran, notes := provision(t, ctx, c, i, opts)
	if len(ran) == 0 {
		t.Fatal("the first run ran nothing")
	}
	before := snapshot(t, ctx, c, dbs)
	if again, _ := provision(t, ctx, c, i, opts); len(again) != 0 {
		t.Errorf("the second run ran:\n%s", strings.Join(again, "\n"))
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
		 WHERE relnamespace = to_regnamespace('monitor') ORDER BY 2`,
		`SELECT oid, oid::regprocedure::text, proacl::text, md5(prosrc) FROM pg_proc
		 WHERE pronamespace = to_regnamespace('monitor') ORDER BY 2`,
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
	notes := provisionTwice(t, ctx, c, instance(t, "features.yml", features), Options{Baselines: map[string][]byte{"app.sql": []byte(appBaseline)}},
		"template1", "postgres", "app.db", "app_copy")
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
	if got := query[string](t, ctx, c, "app_copy", "SELECT name FROM app.item"); len(got) != 1 || got[0] != "it's; here" {
		t.Errorf("the baseline of app_copy: %q", got)
	}
	conn, err := c.login(ctx, "dbuser.app-1@corp", `it's\secret`, "app.db")
	if err != nil {
		t.Fatalf("login with a password holding a quote and a backslash: %v", err)
	}
	conn.Close(ctx)

	t.Run("day2", func(t *testing.T) { checkDay2(t, ctx, c) })
}

// checkDay2 applies day2 over features: a user dropped as pg-drop-role
// does, memberships revoked, parameters reset, a database dropped and one
// recreated with its baseline, schemas and extensions dropped, connections
// allowed again; then the same inventory without the confirmation to
// recreate runs nothing.
func checkDay2(t *testing.T, ctx context.Context, c *cluster) {
	hashed, err := c.connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{"CREATE TABLE public.hashed_owns (id int)", "ALTER TABLE public.hashed_owns OWNER TO dbuser_hashed",
		"CREATE TABLE public.rebuilt_marker (id int)"} {
		if _, err := hashed.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	hashed.Close(ctx)
	rebuiltOID := query[string](t, ctx, c, "postgres", "SELECT oid::text FROM pg_database WHERE datname = 'rebuilt'")
	opts := Options{Recreate: map[string]bool{"rebuilt": true}, Baselines: map[string][]byte{"app.sql": []byte(appBaseline)},
		Previous: instance(t, "features.yml", features)}
	i := instance(t, "day2.yml", day2)
	ran, notes := provision(t, ctx, c, i, opts)
	t.Logf("day 2 ran:\n%s\nnotes:\n%s", strings.Join(ran, "\n"), strings.Join(notes, "\n"))
	for _, want := range []string{`encoding is "UTF8" on the server but "SQL_ASCII"`, `icu_locale is "en-US" on the server but "en-GB"`, `template changes from "template0" to "template1"`} {
		if !strings.Contains(strings.Join(notes, "\n"), want) {
			t.Errorf("no note %q", want)
		}
	}
	for sql, want := range map[string]string{
		"SELECT count(*)::text FROM pg_roles WHERE rolname = 'dbuser_hashed'":                                             "0",
		"SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'hashed_owns'":                                    "postgres",
		"SELECT rolconnlimit || ' ' || array_to_string(rolconfig, ';') FROM pg_roles WHERE rolname = 'dbuser.app-1@corp'": `20 search_path=app, "$user", public`,
		`SELECT string_agg(r.rolname, ',' ORDER BY r.rolname) FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid
		 WHERE a.member = (SELECT oid FROM pg_roles WHERE rolname = 'dbuser.app-1@corp')`: "dbrole_readwrite,pg_monitor",
		"SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname IN ('app_copy', 'obsolete', 'rebuilt', 'frozen')": "frozen,rebuilt",
		"SELECT datallowconn::text FROM pg_database WHERE datname = 'frozen'":                                                              "true",
		"SELECT (oid::text <> '" + rebuiltOID[0] + "')::text FROM pg_database WHERE datname = 'rebuilt'":                                   "true",
	} {
		if got := query[string](t, ctx, c, "postgres", sql); len(got) != 1 || got[0] != want {
			t.Errorf("%s\n got %q\nwant %q", sql, got, want)
		}
	}
	if got := query[string](t, ctx, c, "app.db", "SELECT string_agg(nspname, ',') FROM pg_namespace WHERE nspname IN ('app', 'audit')"); got[0] != "app" {
		t.Errorf("app.db schemas %q", got)
	}
	if got := query[int64](t, ctx, c, "app.db", "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"); got[0] != 0 {
		t.Error("pg_trgm is still in app.db")
	}
	if got := query[string](t, ctx, c, "rebuilt", "SELECT name FROM app.item"); len(got) != 1 {
		t.Errorf("the baseline of the recreated database: %q", got)
	}
	if got := query[int64](t, ctx, c, "frozen", "SELECT count(*) FROM pg_namespace WHERE nspname = 'public'"); got[0] != 1 {
		t.Error("frozen is not reachable")
	}
	opts.Recreate = nil
	if again, _ := provision(t, ctx, c, i, opts); len(again) != 0 {
		t.Errorf("day 2 again ran:\n%s", strings.Join(again, "\n"))
	}
}
