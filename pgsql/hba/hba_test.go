package hba

import (
	"strings"
	"testing"

	"pigsty/internal/testkit"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// haRules adds cluster rules to ha.yml that exercise ordering, role
// filters and the aliases the default rules do not use.
const haRules = `{
  "pg_hba_rules": [
    {"user": "${admin}", "db": "all", "addr": "cluster", "auth": "pwd", "role": "primary", "order": 50, "title": "admin from members, primary only"},
    {"user": "dbuser_etl", "db": "all", "addr": "cluster", "auth": "ssl", "role": "offline", "order": 50, "title": "etl from members over tls, offline only"},
    {"user": "all", "db": "all", "addr": "10.10.10.99", "auth": "deny", "order": 0, "title": "block one host"},
    {"user": "dbuser_cert", "db": "all", "addr": "world", "auth": "cert", "title": "client certificate from anywhere"},
    {"user": "+dbrole_readonly", "db": "test", "addr": "172.20.1.0/24", "auth": "ssl-md5"},
    {"title": "raw lines on replicas", "role": "replica", "rules": ["host all all 10.20.0.0/16 md5", "host all all 10.30.0.0/16 md5"]},
    {"user": "${monitor}", "db": "all", "addr": "admin", "auth": "sha", "role": "common", "order": 420, "title": "monitor from the admin node"}
  ],
  "pgb_hba_rules": [
    {"user": "test", "db": "test", "addr": "cluster", "auth": "pwd", "role": "primary", "order": 50, "title": "test from members, primary only"},
    {"user": "dbuser_etl", "db": "all", "addr": "cluster", "auth": "md5", "role": "offline", "order": 50, "title": "etl from members, offline only"},
    {"user": "all", "db": "all", "addr": "10.10.10.99/32", "auth": "deny", "order": 0, "title": "block one host"},
    {"user": "${dbsu}", "db": "all", "addr": "local", "auth": "os", "order": 120, "title": "dbsu everywhere over the socket"},
    {"user": "test", "db": "test", "addr": "world", "auth": "ssl"}
  ]
}`

var goldens = []struct {
	name, conf, ins string
	extra           []string
}{
	{"pg-meta-1", "meta", "pg-meta-1", []string{"admin_ip=10.10.10.10"}},
	{"pg-test-1", "ha", "pg-test-1", []string{haRules}},
	{"pg-test-3", "ha", "pg-test-3", []string{haRules}},
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		i := testkit.Instance(t, g.conf, g.ins, g.extra...)
		l := layout.New("/", i)
		for _, f := range []struct {
			suffix string
			render func(*inventory.Instance, layout.Layout) ([]byte, error)
		}{
			{"pg_hba.conf", RenderPostgres},
			{"pgb_hba.conf", RenderPgbouncer},
		} {
			t.Run(g.name+"/"+f.suffix, func(t *testing.T) {
				out, err := f.render(i, l)
				if err != nil {
					t.Fatal(err)
				}
				testkit.Golden(t, g.name+"."+f.suffix, out)
				again, _ := f.render(i, l)
				if string(again) != string(out) {
					t.Error("rendering twice gave different bytes")
				}
			})
		}
	}
}

// The rendered files must follow the root of the layout: hosts of the
// multi-host harness share one filesystem.
func TestPathsFollowRoot(t *testing.T) {
	i := testkit.Instance(t, "meta", "pg-meta-1")
	l := layout.New("/srv/host1", i)
	for _, render := range []func(*inventory.Instance, layout.Layout) ([]byte, error){RenderPostgres, RenderPgbouncer} {
		out, err := render(i, l)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"# local     : /srv/host1/var/run/postgresql", "# Path      :   /srv/host1/"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("missing %q in\n%s", want, out)
			}
		}
	}
}

func TestAliases(t *testing.T) {
	i := testkit.Instance(t, "ha", "pg-test-2", "pg_pwd_enc=md5")
	cases := []struct {
		rule inventory.HBARule
		pg   string // the records, one per line, fields separated by one space
		pgb  string
	}{
		{rule(`all`, `all`, `localhost`, `pwd`), "local all all md5\nhost all all 127.0.0.1/32 md5\nhost all all ::1/128 md5", ""},
		{rule(`all`, `all`, `localhost`, `ssl`), "local all all md5\nhost all all 127.0.0.1/32 md5\nhost all all ::1/128 md5", ""},
		{rule(`all`, `all`, `local`, `os`), "local all all ident", "local all all peer"},
		{rule(`all`, `all`, `local`, `ident`), "local all all ident", "local all all peer"},
		{rule(`all`, `all`, `local`, `peer`), "local all all peer", ""},
		{rule(`all`, `all`, `local`, `trust`), "local all all trust", ""},
		{rule(`a`, `b`, `10.1.2.3`, `sha`), "host b a 10.1.2.3/32 scram-sha-256", ""},
		{rule(`a`, `b`, `10.1.2.3/16`, `md5`), "host b a 10.1.0.0/16 md5", ""},
		{rule(`a`, `b`, `fd00::1`, `reject`), "host b a fd00::1/128 reject", ""},
		{rule(`a`, `all`, `intranet`, `ssl-sha`), "hostssl all a 10.0.0.0/8 scram-sha-256\nhostssl all a 192.168.0.0/16 scram-sha-256\nhostssl all a 172.16.0.0/12 scram-sha-256", ""},
		{rule(`a`, `all`, `all`, `deny`), "host all a 0.0.0.0/0 reject\nhost all a ::/0 reject", ""},
		{rule(`a`, `all`, `infra`, `cert`), "hostssl all a 10.10.10.10/32 cert", ""},
		{rule(`a`, `all`, `cluster`, `scram-sha-256`), "host all a 10.10.10.11/32 scram-sha-256\nhost all a 10.10.10.12/32 scram-sha-256\nhost all a 10.10.10.13/32 scram-sha-256", ""},
		{rule(`a`, `all`, `admin`, `ldap`), "host all a 10.10.10.10/32 ldap", "error"},
		{rule(`a`, `all`, `admin`, `password`), "host all a 10.10.10.10/32 password", ""},
	}
	for _, c := range cases {
		for _, d := range []dialect{postgres, pgbouncer} {
			want := c.pg
			if d.name == pgbouncer.name && c.pgb != "" {
				want = c.pgb
			}
			r := c.rule
			lines, err := d.lines(i, r)
			if want == "error" {
				if err == nil {
					t.Errorf("%s %+v: want an error, got %v", d.name, r, lines)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %+v: %v", d.name, r, err)
				continue
			}
			var got []string
			for _, l := range lines {
				got = append(got, strings.Join(strings.Fields(l.typ+" "+r.DB+" "+r.User+" "+l.addr+" "+l.method), " "))
			}
			if strings.Join(got, "\n") != want {
				t.Errorf("%s %s/%s/%s/%s:\n got %q\nwant %q", d.name, r.User, r.DB, r.Addr, r.Auth, got, want)
			}
		}
	}
}

func TestRefused(t *testing.T) {
	cases := []struct {
		name      string
		rule      inventory.HBARule
		pgbouncer bool
		want      string
	}{
		{"unknown address alias", rule(`all`, `all`, `everywhere`, `pwd`), false, `addr "everywhere"`},
		{"unknown auth alias", rule(`all`, `all`, `local`, `kerberos`), false, `auth "kerberos"`},
		{"peer over tcp", rule(`all`, `all`, `localhost`, `peer`), false, "peer works on the unix socket only"},
		{"os over tcp in pgbouncer", rule(`all`, `all`, `intra`, `os`), true, "peer works on the unix socket only"},
		{"cert on the socket", rule(`all`, `all`, `local`, `cert`), false, "needs a TLS connection"},
		{"cert on localhost", rule(`all`, `all`, `localhost`, `cert`), false, "needs a TLS connection"},
		{"group in pgbouncer", rule(`+dbrole_readonly`, `all`, `intra`, `pwd`), true, "no group membership"},
		{"replication in pgbouncer", rule(`all`, `replication`, `intra`, `pwd`), true, "no replication database"},
		{"method pgbouncer lacks", rule(`all`, `all`, `intra`, `gss`), true, `auth "gss"`},
		{"unknown role", func() inventory.HBARule { r := rule(`all`, `all`, `intra`, `pwd`); r.Role = "leader"; return r }(), false, `role "leader"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			i := testkit.Instance(t, "meta", "pg-meta-1")
			render := RenderPostgres
			if c.pgbouncer {
				i.PgbHBA = append(i.PgbHBA, c.rule)
				render = RenderPgbouncer
			} else {
				i.HBA = append(i.HBA, c.rule)
			}
			out, err := render(i, layout.New("/", i))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v\n%s", c.want, err, out)
			}
			if !strings.Contains(err.Error(), "pg-meta-1") {
				t.Errorf("the error does not name the instance: %v", err)
			}
		})
	}
}

// A disabled rule that could not be rendered is still an error: the role
// may change, and the file must be right then too.
func TestDisabledRulesAreChecked(t *testing.T) {
	i := testkit.Instance(t, "meta", "pg-meta-1")
	r := rule(`all`, `all`, `nowhere`, `pwd`)
	r.Role = "replica"
	i.HBA = append(i.HBA, r)
	if _, err := RenderPostgres(i, layout.New("/", i)); err == nil {
		t.Fatal("a disabled rule with a bad address rendered")
	}
}

func rule(user, db, addr, auth string) inventory.HBARule {
	return inventory.HBARule{User: user, DB: db, Addr: addr, Auth: auth, Role: "common"}
}
