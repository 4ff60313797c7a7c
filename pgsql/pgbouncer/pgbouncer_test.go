package pgbouncer

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"pigsty/internal/testkit"
	"pigsty/pgsql/layout"
)

// metaPools replaces meta.yml's databases and users with ones that use
// every pool field, and the cases pgbouncer must leave out.
const metaPools = `{
  "pg_databases": [
    {"name": "meta", "comment": "pigsty meta database", "schemas": ["pigsty"]},
    {"name": "pool", "owner": "dbuser_meta", "pool_auth_user": "dbuser_meta", "pool_mode": "session",
     "pool_size": 16, "pool_size_min": 2, "pool_reserve": 4, "pool_connlimit": 40},
    {"name": "legacy", "pool_size_reserve": 8, "pool_max_db_conn": -1},
    {"name": "direct", "pgbouncer": false},
    {"name": "dropped", "state": "absent"}
  ],
  "pg_users": [
    {"name": "dbuser_meta", "password": "DBUser.Meta", "pgbouncer": true, "roles": ["dbrole_admin"]},
    {"name": "dbuser_view", "password": "DBUser.Viewer", "pgbouncer": true, "roles": ["dbrole_readonly"]},
    {"name": "dbuser_app", "password": "App.Pass", "pgbouncer": true, "pool_mode": "statement", "pool_connlimit": 32},
    {"name": "dbuser_batch", "password": "Batch.Pass", "pgbouncer": true, "pool_connlimit": -1},
    {"name": "dbuser_direct", "password": "Direct.Pass", "pool_mode": "session"},
    {"name": "dbuser_gone", "state": "absent", "pgbouncer": true, "pool_mode": "session"}
  ]
}`

// testAccess turns on what meta.yml leaves off: auth_query, TLS, the
// listen placeholders and a pg_port other than 5432.
const testAccess = `{"pgbouncer_auth_query": true, "pgbouncer_sslmode": "require", "pg_listen": "${ip},${lo},${vip},${ip}",
  "pg_port": 15432, "pgbouncer_poolmode": "session", "pgbouncer_ignore_param": ["extra_float_digits"]}`

// secrets are what the agent would read from pg_authid: every user
// exists except dbuser_batch.
func secrets() map[string]string {
	out := map[string]string{}
	for user, pw := range map[string]string{
		"postgres": "", "dbuser_dba": "DBUser.DBA", "dbuser_monitor": "DBUser.Monitor",
		"dbuser_meta": "DBUser.Meta", "dbuser_view": "DBUser.Viewer", "dbuser_app": "App.Pass",
		"dbuser_direct": "Direct.Pass", "dbuser_gone": "Gone.Pass", "test": "test",
	} {
		out[user] = verifier(user, pw)
	}
	return out
}

func TestGolden(t *testing.T) {
	for _, g := range []struct {
		name, conf, ins string
		extra           []string
	}{
		{"pg-meta-1", "meta", "pg-meta-1", []string{metaPools}},
		{"pg-test-3", "ha", "pg-test-3", []string{testAccess}},
	} {
		t.Run(g.name, func(t *testing.T) {
			i := testkit.Instance(t, g.conf, g.ins, g.extra...)
			l := layout.New("/", i)
			files, err := Render(i, l, secrets())
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]fs.FileMode{
				"/etc/pgbouncer/pgbouncer.ini": 0o640, "/etc/pgbouncer/database.txt": 0o640,
				"/etc/pgbouncer/useropts.txt": 0o640, "/etc/pgbouncer/userlist.txt": 0o600,
			}
			if len(files) != len(want) {
				t.Errorf("rendered %d files, want %d", len(files), len(want))
			}
			for path, mode := range want {
				f, ok := files[path]
				if !ok {
					t.Errorf("%s not rendered", path)
					continue
				}
				if f.Mode != mode {
					t.Errorf("%s: mode %o, want %o", path, f.Mode, mode)
				}
				testkit.Golden(t, g.name+"."+filepath.Base(path), f.Data)
			}
		})
	}
}

func TestUserList(t *testing.T) {
	i := testkit.Instance(t, "meta", "pg-meta-1", metaPools)
	s := secrets()
	s["dbuser_view"] = `odd"secret`
	list, err := userList(i, s)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ln := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		name, _, _ := strings.Cut(ln, " ")
		names = append(names, strings.Trim(name, `"`))
	}
	// dbuser_batch has no verifier yet, dbuser_gone is to be dropped,
	// dbuser_direct does not use the pool.
	want := []string{"dbuser_app", "dbuser_dba", "dbuser_meta", "dbuser_monitor", "dbuser_view", "postgres"}
	if strings.Join(names, " ") != strings.Join(want, " ") || !sort.StringsAreSorted(names) {
		t.Errorf("userlist names %v, want %v", names, want)
	}
	if !strings.Contains(string(list), `"postgres" ""`+"\n") {
		t.Errorf("the dbsu is not listed with an empty secret, whatever pg_authid holds:\n%s", list)
	}
	if !strings.Contains(string(list), `"dbuser_view" "odd""secret"`) {
		t.Errorf("a quote in a secret is not doubled:\n%s", list)
	}
	s["dbuser_app"] = "SCRAM\nsecret-value"
	if _, err := userList(i, s); err == nil || strings.Contains(err.Error(), "secret-value") {
		t.Errorf("a verifier spanning lines: want an error that does not show it, got %v", err)
	}
}

func TestListenAddr(t *testing.T) {
	for _, c := range []struct {
		listen string
		vip    bool
		want   string // "" means an error
	}{
		{"0.0.0.0", false, "0.0.0.0"},
		{"*", false, "*"},
		{"${ip},${lo}", false, "10.10.10.12,127.0.0.1"},
		{"${ip}, ${vip}", true, "10.10.10.12,10.10.10.3"},
		{"${ip},${vip}", false, "10.10.10.12"},
		{"${lo},127.0.0.1", false, "127.0.0.1"},
		{"${vip}", false, ""},
		{"${ip},${host}", false, ""},
	} {
		i := testkit.Instance(t, "ha", "pg-test-2")
		i.Params.PgListen, i.Params.PgVipEnabled = c.listen, c.vip
		got, err := listenAddr(i)
		if c.want == "" {
			if err == nil {
				t.Errorf("pg_listen %q: want an error, got %q", c.listen, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("pg_listen %q vip %v: got %q, %v; want %q", c.listen, c.vip, got, err, c.want)
		}
	}
}

func TestRefusesNegativePoolSize(t *testing.T) {
	i := testkit.Instance(t, "meta", "pg-meta-1")
	n := -1
	i.Databases[0].PoolSize = &n
	if _, err := Render(i, layout.New("/", i), nil); err == nil || !strings.Contains(err.Error(), "pg-meta-1") {
		t.Fatalf("want an error naming the instance, got %v", err)
	}
}

// Every path in the files follows the layout's root: hosts of the
// multi-host harness share one filesystem.
func TestPathsFollowRoot(t *testing.T) {
	i := testkit.Instance(t, "meta", "pg-meta-1")
	files, err := Render(i, layout.New("/srv/h1", i), nil)
	if err != nil {
		t.Fatal(err)
	}
	for path, f := range files {
		if !strings.HasPrefix(path, "/srv/h1/") {
			t.Errorf("file %s outside the root", path)
		}
		for _, ln := range strings.Split(string(f.Data), "\n") {
			for _, field := range strings.FieldsFunc(ln, func(r rune) bool { return r == ' ' || r == '=' }) {
				if strings.HasPrefix(field, "host=") || (strings.HasPrefix(field, "/") && !strings.HasPrefix(field, "/srv/h1/")) {
					t.Errorf("%s: path %s outside the root in %q", path, field, ln)
				}
			}
		}
	}
}
