package provision

import (
	"fmt"
	"strings"
	"testing"

	"pigsty/assets"
	"pigsty/internal/testkit"
	"pigsty/pgsql/inventory"
)

// metaInstance is pg-meta-1 of the shipped single-node template, on the
// PostgreSQL major Debian 12 has.
func metaInstance(t *testing.T) *inventory.Instance {
	t.Helper()
	data, err := assets.Conf("meta")
	if err != nil {
		t.Fatal(err)
	}
	return instance(t, "meta.yml", string(data))
}

func instance(t *testing.T, name, yml string) *inventory.Instance {
	t.Helper()
	inv, err := inventory.Parse(name, []byte(yml), []string{"pg_version=15"})
	if err != nil {
		t.Fatal(err)
	}
	return inv.Instances()[0]
}

// render writes a plan as one SQL script, each step headed by a comment.
func render(steps []Step, notes []string) string {
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "-- [%s] %s", s.Database, s.Title)
		if s.NoTx {
			b.WriteString(" (no transaction)")
		}
		if s.Always {
			b.WriteString(" (always)")
		}
		if s.Secret {
			b.WriteString(" (secret)")
		}
		b.WriteString("\n")
		if s.Unless != "" {
			fmt.Fprintf(&b, "-- unless: %s\n", s.Unless)
		}
		if s.Password != nil {
			fmt.Fprintf(&b, "-- unless the verifier of %s already holds it (%s)\n", s.Password.Role, s.Password.Method)
		}
		if s.Summary != "" {
			fmt.Fprintf(&b, "-- shown as: %s\n", s.Summary)
		}
		b.WriteString(s.SQL() + "\n")
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "-- note: %s\n", n)
	}
	return b.String()
}

func plan(t *testing.T, i *inventory.Instance, live Facts, opts Options) ([]Step, []string) {
	t.Helper()
	return Plan(i, live, opts)
}

func TestPlanMetaGolden(t *testing.T) {
	steps, notes := plan(t, metaInstance(t), Facts{}, Options{})
	testkit.Golden(t, "pg-meta-1", []byte(render(steps, notes)))
}

// features exercises every user and database field the plan renders, on
// a server without pg_repack and postgis.
const features = `all:
  children:
    infra: { hosts: { 10.10.10.11: { infra_seq: 1 } } }
    etcd: { hosts: { 10.10.10.11: { etcd_seq: 1 } } }
    pg-test:
      hosts: { 10.10.10.11: { pg_seq: 1, pg_role: primary } }
      vars:
        pg_cluster: pg-test
        pg_users:
          - { name: dbuser.app-1@corp, password: "it's\\secret", login: true, createdb: true, bypassrls: false, connlimit: 10, expire_in: 30, comment: "app's user",
              roles: [ dbrole_readwrite, { name: dbrole_admin, admin: true }, { name: dbrole_offline, state: absent }, { name: pg_monitor, admin: false, set: true } ],
              parameters: { search_path: 'app, "$user", public', work_mem: 64MB, statement_timeout: DEFAULT } }
          - { name: dbuser_hashed, password: "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0$2xFEG0S3Ni4Ai8a0bqoDwJi0B4ukfLjZDdQQ8Y5zkkw=:iUxcjq2mU6TVHKkyhhiwTQZGFuv2SAvyrPlhT8oOdTI=", expire_at: '2030-12-31', inherit: false }
          - { name: dbuser_old, state: absent }
        pg_databases:
          - { name: app.db, owner: dbuser.app-1@corp, template: template0, encoding: UTF8, locale: C, lc_collate: C, lc_ctype: C, strategy: file_copy,
              locale_provider: icu, icu_locale: en-US, connlimit: 50, is_template: false, revokeconn: true, comment: "app's db",
              parameters: { search_path: 'app,public', 'pg_trgm.similarity_threshold': 0.5 },
              schemas: [ app, { name: audit, owner: dbuser_hashed }, { name: gone, state: absent } ],
              extensions: [ { name: postgis, schema: public }, { name: pg_trgm, version: '1.6' }, { name: hstore, state: absent } ] }
          - { name: app_copy, template: app.db, tablespace: pg_default, revokeconn: false, baseline: app.sql }
          - { name: frozen, allowconn: false }
          - { name: obsolete, state: absent }
          - { name: rebuilt, state: recreate }
  vars:
    pg_version: 15
`

func TestPlanFeaturesGolden(t *testing.T) {
	available := map[string]bool{}
	for _, e := range []string{"pg_stat_statements", "pgstattuple", "pg_buffercache", "pageinspect", "pg_prewarm",
		"pg_visibility", "pg_freespacemap", "postgres_fdw", "file_fdw", "btree_gist", "btree_gin", "pg_trgm", "intagg", "intarray"} {
		available[e] = true
	}
	steps, notes := plan(t, instance(t, "features.yml", features), Facts{Extensions: available},
		Options{Baselines: map[string][]byte{"app.sql": []byte(appBaseline)}})
	testkit.Golden(t, "features", []byte(render(steps, notes)))
}

func TestPlanOrder(t *testing.T) {
	steps, notes := plan(t, metaInstance(t), Facts{}, Options{})
	if len(notes) != 0 {
		t.Errorf("notes on pg-meta: %q", notes)
	}
	var titles []string
	for _, s := range steps {
		titles = append(titles, s.Title)
	}
	order := []string{
		"create role dbrole_readonly", "create role dbuser_monitor", "set password of dbuser_monitor",
		"default privileges in template1", "monitor schema in template1",
		"default privileges in postgres", "monitor schema in postgres",
		"create role dbuser_meta", "set password of dbuser_meta", "create role dbuser_view",
		"create database meta", "configure database meta", "privileges in meta", "create schema pigsty in meta",
	}
	at := 0
	for n, title := range titles {
		if at < len(order) && title == order[at] {
			at++
		}
		if strings.Contains(title, "password") && !steps[n].Secret {
			t.Errorf("%s is not secret", title)
		}
	}
	if at != len(order) {
		t.Fatalf("%q not found in order in %q", order[at], titles)
	}
}

func TestPlanProvisionOff(t *testing.T) {
	data, _ := assets.Conf("meta")
	inv, err := inventory.Parse("meta.yml", data, []string{"pg_version=15", "pg_provision=false"})
	if err != nil {
		t.Fatal(err)
	}
	if steps, notes := plan(t, inv.Instances()[0], Facts{}, Options{}); len(steps) != 0 || len(notes) != 1 {
		t.Fatalf("pg_provision=false: %d steps, notes %q", len(steps), notes)
	}
}

// appBaseline is the baseline file of the features inventory.
const appBaseline = `-- the application's schema
CREATE SCHEMA IF NOT EXISTS app;
CREATE TABLE app.item (id bigint PRIMARY KEY, name text NOT NULL);
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$;
INSERT INTO app.item VALUES (1, 'it''s; here');
`

// day2 changes what features made, on a server where features was
// applied: every kind of change and removal a plan knows.
const day2 = `all:
  children:
    infra: { hosts: { 10.10.10.11: { infra_seq: 1 } } }
    etcd: { hosts: { 10.10.10.11: { etcd_seq: 1 } } }
    pg-test:
      hosts: { 10.10.10.11: { pg_seq: 1, pg_role: primary } }
      vars:
        pg_cluster: pg-test
        pg_users:
          - { name: dbuser.app-1@corp, connlimit: 20, roles: [ { name: dbrole_admin, state: absent }, { name: pg_monitor, set: false } ],
              parameters: { work_mem: DEFAULT } }
          - { name: dbuser_hashed, state: absent }
        pg_databases:
          - { name: app.db, owner: dbuser.app-1@corp, template: template1, encoding: SQL_ASCII, icu_locale: en-GB,
              schemas: [ { name: audit, state: absent } ], extensions: [ { name: pg_trgm, state: absent } ] }
          - { name: app_copy, state: absent }
          - { name: rebuilt, state: recreate, baseline: app.sql }
          - { name: frozen, allowconn: true }
  vars:
    pg_version: 15
`

// featuresServer is the server after features was applied.
func featuresServer() Facts {
	roles := map[string]bool{}
	for _, r := range []string{"postgres", "pg_monitor", "dbrole_readonly", "dbrole_offline", "dbrole_readwrite", "dbrole_admin",
		"replicator", "dbuser_dba", "dbuser_monitor", "dbuser.app-1@corp", "dbuser_hashed", "dbuser_old"} {
		roles[r] = true
	}
	libc := DatabaseFact{Owner: "postgres", Encoding: "UTF8", Collate: "C", Ctype: "C", LocaleProvider: "libc", AllowConn: true, Tablespace: "pg_default"}
	app := libc
	app.Owner, app.LocaleProvider, app.IcuLocale = "dbuser.app-1@corp", "icu", "en-US"
	frozen := libc
	frozen.AllowConn = false
	template0 := libc
	template0.AllowConn, template0.IsTemplate = false, true
	return Facts{Version: 15, Roles: roles, Databases: map[string]DatabaseFact{
		"postgres": libc, "template1": libc, "template0": template0, "app.db": app, "app_copy": libc, "frozen": frozen, "rebuilt": libc, "obsolete": libc,
	}}
}

func TestPlanDay2Golden(t *testing.T) {
	steps, notes := plan(t, instance(t, "day2.yml", day2), featuresServer(), Options{
		Recreate:  map[string]bool{"rebuilt": true},
		Baselines: map[string][]byte{"app.sql": []byte(appBaseline)},
		Previous:  instance(t, "features.yml", features),
	})
	testkit.Golden(t, "day2", []byte(render(steps, notes)))
}

// A recreate that was not confirmed keeps the database; a baseline the
// options do not carry is not run, and said so.
func TestPlanRecreateNeedsConfirmationAndBaselines(t *testing.T) {
	i := instance(t, "day2.yml", day2)
	steps, notes := plan(t, i, featuresServer(), Options{})
	for _, s := range steps {
		if strings.Contains(s.Title, "rebuilt") && s.Database == "postgres" && strings.HasPrefix(s.Title, "drop") {
			t.Errorf("unconfirmed recreate plans %q", s.Title)
		}
	}
	if !strings.Contains(strings.Join(notes, "\n"), "database rebuilt has state recreate, not confirmed") {
		t.Errorf("notes %q", notes)
	}
	steps, notes = Plan(i, featuresServer(), Options{Recreate: map[string]bool{"rebuilt": true}})
	if !strings.Contains(strings.Join(notes, "\n"), "the baseline file app.sql is not part of the desired state: not run") {
		t.Errorf("recreate without the baseline's text: notes %q", notes)
	}
	for _, s := range steps {
		if strings.HasPrefix(s.Title, "baseline") {
			t.Errorf("planned %q", s.Title)
		}
	}
}

func TestSplitSQL(t *testing.T) {
	got := splitSQL(appBaseline + "/* a; comment */ SELECT E'\\';'; SELECT $x$ ; $x$, \"a;b\"; -- trailing; comment\n")
	want := []string{
		"CREATE SCHEMA IF NOT EXISTS app;",
		"CREATE TABLE app.item (id bigint PRIMARY KEY, name text NOT NULL);",
		"CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$;",
		"INSERT INTO app.item VALUES (1, 'it''s; here');",
		"SELECT E'\\';';",
		"SELECT $x$ ; $x$, \"a;b\";",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("split:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(monitorStatements); n < 30 {
		t.Errorf("monitor.sql splits into %d statements", n)
	}
}
