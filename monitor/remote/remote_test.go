package remote

import (
	"testing"
	"time"

	"pigsty/pgsql/inventory"
)

const inv = `
all:
  children:
    infra:
      hosts:
        10.10.10.10:
          infra_seq: 1
          pg_exporters:
            20001: { pg_cluster: pg-foo, pg_seq: 1, pg_host: 10.10.10.40 }
            20002: { pg_cluster: pg-foo, pg_seq: 2, pg_host: 10.10.10.41, pg_port: 1921, pg_monitor_username: mon, pg_monitor_password: 'p@ss:w/rd',
                     pg_exporter_auto_discovery: false, pg_exporter_include_database: 'a, b', pg_exporter_connect_timeout: 2000 }
        10.10.10.11:
          infra_seq: 2
          pg_exporters:
            20001: { pg_cluster: pg-bar, pg_seq: 1, pg_host: 10.10.10.50, pg_exporter_url: 'postgres://x:y@rds.example.com:5432/app' }
    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } } }
  vars:
    pg_version: 17
    pg_monitor_password: Global.Monitor
`

// Each entry of pg_exporters becomes an instance with the infra host's
// parameters where it sets none, and a DSN with the monitor user.
func TestDeclared(t *testing.T) {
	parsed, err := inventory.Parse("inv.yml", []byte(inv), nil)
	if err != nil {
		t.Fatal(err)
	}
	all := Declared(parsed)
	if len(all) != 3 {
		t.Fatalf("%d instances: %+v", len(all), all)
	}
	a, b, c := all[0], all[1], all[2]
	if a.Ins != "pg-foo-1" || a.Listen != "10.10.10.10:20001" || a.Infra != "10.10.10.10" ||
		a.URL != "postgres://dbuser_monitor:Global.Monitor@:5432/postgres?host=10.10.10.40&sslmode=disable" || a.Server != "10.10.10.40:5432" ||
		!a.AutoDiscovery || len(a.ExcludeDatabases) != 3 || a.ConnectTimeout != 200*time.Millisecond {
		t.Errorf("defaults: %+v", a)
	}
	if b.URL != "postgres://mon:p%40ss%3Aw%2Frd@:1921/postgres?host=10.10.10.41&sslmode=disable" || b.Server != "10.10.10.41:1921" || b.AutoDiscovery ||
		len(b.IncludeDatabases) != 2 || b.IncludeDatabases[1] != "b" || b.ConnectTimeout != 2*time.Second {
		t.Errorf("own settings: %+v", b)
	}
	if c.Ins != "pg-bar-1" || c.Listen != "10.10.10.11:20001" || c.URL != "postgres://x:y@rds.example.com:5432/app" {
		t.Errorf("pg_exporter_url: %+v", c)
	}
	if got := Select(all, "pg-foo"); len(got) != 2 {
		t.Errorf("select cluster: %v", got)
	}
	if got := Select(all, "pg-foo-2"); len(got) != 1 || got[0].Host != "10.10.10.41" {
		t.Errorf("select instance: %v", got)
	}
	ts := Targets(Monitored(all, map[string]bool{"pg-bar-1": true}))
	if len(ts) != 1 || ts[0].IP != "10.10.10.50" || ts[0].Addr != "10.10.10.11:20001" || ts[0].Cls != "pg-bar" {
		t.Errorf("targets: %+v", ts)
	}
}
