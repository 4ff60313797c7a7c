package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pigsty/assets"
)

func mustParse(t *testing.T, name, text string, extra ...string) *Inventory {
	t.Helper()
	inv, err := Parse(name, []byte(text), extra)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return inv
}

// The inventory examples shipped in assets/conf are the seed's examples:
// each must validate as it is.
func TestExamplesValidate(t *testing.T) {
	for _, name := range assets.Confs() {
		t.Run(name, func(t *testing.T) {
			data, err := assets.Conf(name)
			if err != nil {
				t.Fatal(err)
			}
			inv := mustParse(t, name+".yml", string(data), "pg_version=15")
			if len(inv.Clusters) == 0 {
				t.Fatal("no clusters")
			}
			for _, w := range inv.Warnings {
				t.Logf("warning: %v", w)
			}
		})
	}
}

func TestExampleShapes(t *testing.T) {
	load := func(name string) *Inventory {
		data, _ := assets.Conf(name)
		return mustParse(t, name+".yml", string(data), "pg_version=15")
	}
	ha := load("ha")
	test := ha.Cluster("pg-test")
	if test == nil || len(test.Instances) != 3 || test.Primary().Name != "pg-test-1" {
		t.Fatalf("pg-test: %+v", test)
	}
	if r := test.Instances[2].Role; r != "offline" {
		t.Fatalf("pg-test-3 role %q", r)
	}
	if got := ha.EtcdIPs(); strings.Join(got, ",") != "10.10.10.10,10.10.10.11,10.10.10.12" {
		t.Fatalf("etcd ips %v", got)
	}
	standby := load("standby").Cluster("pg-test2")
	if standby.Primary().Params.PgUpstream != "10.10.10.11" {
		t.Fatalf("standby upstream %q", standby.Primary().Params.PgUpstream)
	}
	delayed := load("delayed").Cluster("pg-testdelay")
	if delayed.Primary().Params.PgDelay != "1d" {
		t.Fatalf("delay %q", delayed.Primary().Params.PgDelay)
	}
	citus := load("citus")
	if len(citus.Clusters) != 3 {
		t.Fatalf("citus clusters %d", len(citus.Clusters))
	}
	c1 := citus.Cluster("pg-citus1")
	if c1.Instances[0].Name != "pg-citus1-0" || c1.Instances[0].Params.PgGroup != 1 || c1.Instances[0].Params.PgShard != "pg-citus" {
		t.Fatalf("pg-citus1: %+v", c1.Instances[0])
	}
}

const precedence = `
all:
  vars:
    pg_version: 15
    pg_port: 5400
    pg_weight: 10
    pgbouncer_port: 6400
    admin_ip: 10.10.10.10
  children:
    infra: { hosts: { 10.10.10.10: { infra_seq: 1 } } }
    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } } }
    pg-test:
      vars:
        pg_cluster: pg-test
        pg_port: 5401
        pg_weight: 20
      hosts:
        10.10.10.11: { pg_seq: 1, pg_role: primary, pg_weight: 30 }
        10.10.10.12: { pg_seq: 2, pg_role: replica }
`

func TestPrecedence(t *testing.T) {
	inv := mustParse(t, "p.yml", precedence)
	p1 := inv.Host("10.10.10.11").Params
	p2 := inv.Host("10.10.10.12").Params
	cases := []struct {
		name      string
		got, want any
	}{
		{"default", p1.PatroniPort, 8008},
		{"all.vars", p1.PgbouncerPort, 6400},
		{"group vars over all.vars", p1.PgPort, 5401},
		{"host vars over group vars", p1.PgWeight, 30},
		{"group vars on the other host", p2.PgWeight, 20},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if src := inv.Host("10.10.10.11").Source("pg_weight"); src.Pos.Line != 18 || !strings.HasSuffix(src.Path, "hosts[10.10.10.11].pg_weight") {
		t.Errorf("source of pg_weight: %+v", src)
	}

	// extra vars win over everything, in all three of Pigsty's forms
	dir := t.TempDir()
	file := filepath.Join(dir, "extra.yml")
	if err := os.WriteFile(file, []byte("pg_port: 5403\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, form := range [][]string{{"pg_weight=40 pg_port=5403"}, {`{"pg_weight": 40, "pg_port": 5403}`}, {"pg_weight=40", "@" + file}} {
		inv := mustParse(t, "p.yml", precedence, form...)
		p := inv.Host("10.10.10.11").Params
		if p.PgWeight != 40 || p.PgPort != 5403 {
			t.Errorf("extra vars %q: weight %d port %d", form, p.PgWeight, p.PgPort)
		}
	}
	inv = mustParse(t, "p.yml", precedence, "pg_safeguard=true")
	if !inv.Host("10.10.10.12").Params.PgSafeguard {
		t.Error("-e pg_safeguard=true is not a boolean true")
	}
}

func TestEffectiveConfig(t *testing.T) {
	data, _ := assets.Conf("meta")
	inv := mustParse(t, "meta.yml", string(data), "pg_version=15")
	i := inv.Cluster("pg-meta").Instances[0]
	if i.Name != "pg-meta-1" || i.Labels["cls"] != "pg-meta" || i.Labels["ins"] != "pg-meta-1" || i.Labels["ip"] != "10.10.10.10" {
		t.Fatalf("identity %+v", i.Labels)
	}
	var names []string
	for _, u := range i.Users {
		names = append(names, u.Name)
		if u.Name == "replicator" && u.Password != "DBUser.Replicator" {
			t.Errorf("replicator password %q", u.Password)
		}
	}
	if got := strings.Join(names, ","); got != "dbrole_readonly,dbrole_offline,dbrole_readwrite,dbrole_admin,postgres,replicator,dbuser_dba,dbuser_monitor,dbuser_meta,dbuser_view" {
		t.Fatalf("users %s", got)
	}
	// HBA: aliases substituted, user rule (order 800) after the defaults
	if i.HBA[0].User != "postgres" || i.HBA[2].User != "replicator" || i.HBA[5].User != "dbuser_monitor" || i.HBA[7].User != "dbuser_dba" {
		t.Fatalf("hba users %+v", i.HBA[:8])
	}
	if last := i.HBA[len(i.HBA)-1]; last.Title != "allow intranet password access" {
		t.Fatalf("last hba rule %q", last.Title)
	}
	// services: the four defaults, dest resolved to pgbouncer/postgres
	want := map[string][2]int{"pg-meta-primary": {5433, 6432}, "pg-meta-replica": {5434, 6432}, "pg-meta-default": {5436, 5432}, "pg-meta-offline": {5438, 5432}}
	for _, s := range i.Services {
		w, ok := want[s.Name]
		if !ok || s.Port != w[0] || s.Dest != w[1] {
			t.Errorf("service %s port %d dest %d", s.Name, s.Port, s.Dest)
		}
	}
	// a single primary is a backup server of the replica service and not
	// in the offline service at all
	for _, s := range i.Services {
		switch s.Name {
		case "pg-meta-replica":
			if len(s.Servers) != 1 || !s.Servers[0].Backup {
				t.Errorf("replica servers %+v", s.Servers)
			}
		case "pg-meta-offline":
			if len(s.Servers) != 0 {
				t.Errorf("offline servers %+v", s.Servers)
			}
		}
	}
}

func TestServiceSelectors(t *testing.T) {
	data, _ := assets.Conf("ha")
	inv := mustParse(t, "ha.yml", string(data))
	i := inv.Cluster("pg-test").Instances[1]
	got := map[string]string{}
	for _, s := range i.Services {
		var parts []string
		for _, sv := range s.Servers {
			p := sv.Name
			if sv.Backup {
				p += "(backup)"
			}
			parts = append(parts, p)
		}
		got[s.Name] = strings.Join(parts, " ")
	}
	want := map[string]string{
		"pg-test-primary": "pg-test-1 pg-test-2 pg-test-3",
		"pg-test-replica": "pg-test-1(backup) pg-test-2 pg-test-3(backup)",
		"pg-test-default": "pg-test-1 pg-test-2 pg-test-3",
		"pg-test-offline": "pg-test-2(backup) pg-test-3",
		"pg-test-standby": "pg-test-1(backup) pg-test-2 pg-test-3",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
}
