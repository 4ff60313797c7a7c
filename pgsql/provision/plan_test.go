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
		b.WriteString(strings.TrimRight(s.SQL, "\n") + "\n\n")
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "-- note: %s\n", n)
	}
	return b.String()
}

func TestPlanMetaGolden(t *testing.T) {
	steps, notes := Plan(metaInstance(t), nil)
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
	steps, notes := Plan(instance(t, "features.yml", features), available)
	testkit.Golden(t, "features", []byte(render(steps, notes)))
}

func TestPlanOrder(t *testing.T) {
	steps, notes := Plan(metaInstance(t), nil)
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
	if steps, notes := Plan(inv.Instances()[0], nil); len(steps) != 0 || len(notes) != 1 {
		t.Fatalf("pg_provision=false: %d steps, notes %q", len(steps), notes)
	}
}
