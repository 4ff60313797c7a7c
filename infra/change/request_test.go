package change

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pigsty/pgsql/inventory"
)

const base = `all:
  children:
    infra: { hosts: { 10.10.10.10: { infra_seq: 1 } } }
    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } } }
    pg-meta:
      hosts: { 10.10.10.10: { pg_seq: 1, pg_role: primary } }
      vars:
        pg_cluster: pg-meta
        pg_users: [ { name: dbuser_app, password: App } ]
        pg_databases: [ { name: app, owner: dbuser_app } ]
  vars: { pg_version: 15 }
`

func parse(t *testing.T, text string) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Parse("pigsty.yml", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// A scoped change may touch its own objects only; anything else it would
// store is listed, by instance and section.
func TestOutOfScope(t *testing.T) {
	old := parse(t, base)
	user := parse(t, strings.Replace(base, "password: App }", "password: App, connlimit: 5 }", 1))
	both := parse(t, strings.Replace(strings.Replace(base, "password: App }", "password: App, connlimit: 5 }", 1),
		"owner: dbuser_app }", "owner: dbuser_app, connlimit: 3 }", 1))
	params := parse(t, strings.Replace(base, "pg_cluster: pg-meta", "pg_cluster: pg-meta\n        pg_parameters: { work_mem: 8MB }", 1))
	all := map[string]bool{"pg-meta-1": true}
	for _, c := range []struct {
		name string
		r    Request
		cur  *inventory.Inventory
		want string
	}{
		{"the named user", Request{Scope: Scope{Kind: "user", Cluster: "pg-meta", Names: []string{"dbuser_app"}}}, user, ""},
		{"another user", Request{Scope: Scope{Kind: "user", Cluster: "pg-meta", Names: []string{"dbuser_x"}}}, user, "pg-meta-1: user dbuser_app"},
		{"a database too", Request{Scope: Scope{Kind: "user", Cluster: "pg-meta", Names: []string{"dbuser_app"}}}, both, "pg-meta-1: database app"},
		{"parameters under hba", Request{Scope: Scope{Kind: "hba", Cluster: "pg-meta"}}, params, "pg-meta-1: parameters"},
		{"no scope", Request{}, both, ""},
	} {
		got := strings.Join(c.r.outOfScope(old, c.cur, all), "\n")
		if got != c.want {
			t.Errorf("%s: out of scope %q, want %q", c.name, got, c.want)
		}
	}
	if got := (Request{Limit: "pg-test"}).outOfScope(old, user, map[string]bool{}); len(got) != 1 {
		t.Errorf("a change outside -l: %q", got)
	}
}

// Baselines are read next to the inventory or in its files/ directory;
// a missing one names the database's line; recreate needs --yes.
func TestLoadBaselinesAndConfirmation(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "files"), 0o755)
	os.WriteFile(filepath.Join(dir, "files", "app.sql"), []byte("CREATE TABLE t ();"), 0o644)
	write := func(text string) string {
		path := filepath.Join(dir, "pigsty.yml")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	r := Request{File: write(strings.Replace(base, "owner: dbuser_app }", "owner: dbuser_app, baseline: app.sql, state: recreate }", 1))}
	inv, d, err := r.load()
	if err != nil || string(d.Files["app.sql"]) != "CREATE TABLE t ();" {
		t.Fatalf("load = %+v, %v", d, err)
	}
	all := map[string]bool{"pg-meta-1": true}
	if _, err := r.confirm(inv, all); err == nil || !strings.Contains(err.Error(), "pigsty.yml:10:") || !strings.Contains(err.Error(), "confirm with --yes") {
		t.Errorf("recreate without --yes: %v", err)
	}
	if c, err := r.confirm(inv, map[string]bool{}); err != nil || len(c) != 0 {
		t.Errorf("a recreate the change does not reach: %q %v", c, err)
	}
	r.Yes = true
	if c, err := r.confirm(inv, all); err != nil || strings.Join(c, ",") != "recreate pg-meta/app" {
		t.Errorf("confirmed %q, %v", c, err)
	}
	r.Scope = Scope{Kind: "user", Cluster: "pg-meta", Names: []string{"dbuser_app"}}
	if c, err := r.confirm(inv, all); err != nil || len(c) != 0 {
		t.Errorf("pgsql user --yes confirms %q, %v", c, err)
	}
	r.File = write(strings.Replace(base, "owner: dbuser_app }", "owner: dbuser_app, baseline: missing.sql }", 1))
	if _, _, err := r.load(); err == nil || !strings.Contains(err.Error(), "pigsty.yml:10:") || !strings.Contains(err.Error(), "baseline of database app") {
		t.Errorf("missing baseline: %v", err)
	}
}
