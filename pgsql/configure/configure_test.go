package configure

import (
	"strings"
	"testing"

	"pigsty/assets"
	"pigsty/pgsql/inventory"
)

var intranet = []string{"10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12"}

func generate(t *testing.T, o Options) (Result, *inventory.Inventory) {
	t.Helper()
	tmpl, err := assets.Conf("meta")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Generate(tmpl, o)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Parse("pigsty.yml", res.Text, nil)
	if err != nil {
		t.Fatalf("generated inventory does not validate: %v\n%s", err, res.Text)
	}
	return res, inv
}

func TestGenerateLoopback(t *testing.T) {
	res, inv := generate(t, Options{IP: "127.0.0.1", PgVersion: 15, Conf: "tiny.yml", Intranet: intranet})
	i := inv.Cluster("pg-meta").Instances[0]
	p := i.Params
	if i.IP != "127.0.0.1" || p.AdminIP != "127.0.0.1" || p.PgVersion != 15 || p.PgConf != "tiny.yml" || p.NodeTune != "tiny" {
		t.Fatalf("ip %s admin %s version %d conf %s tune %s", i.IP, p.AdminIP, p.PgVersion, p.PgConf, p.NodeTune)
	}
	if got := strings.Join(p.NodeFirewallIntranet, ","); got != "10.0.0.0/8,192.168.0.0/16,172.16.0.0/12,127.0.0.1/32" {
		t.Fatalf("intranet %s", got)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "added 127.0.0.1/32") {
		t.Fatalf("notes %q", res.Notes)
	}
	if strings.Contains(string(res.Text), TemplateIP) {
		t.Fatal("template address left in the output")
	}
	if p.PgAdminPassword != "DBUser.DBA" {
		t.Fatalf("default password changed without -g: %s", p.PgAdminPassword)
	}
}

func TestGenerateIntranetHostAddsNothing(t *testing.T) {
	res, inv := generate(t, Options{IP: "10.1.2.3", Intranet: intranet})
	if len(res.Notes) != 0 || len(inv.Hosts[0].Params.NodeFirewallIntranet) != 3 {
		t.Fatalf("notes %q intranet %v", res.Notes, inv.Hosts[0].Params.NodeFirewallIntranet)
	}
}

func TestGeneratePasswords(t *testing.T) {
	tmpl, _ := assets.Conf("meta")
	defaults := []string{"DBUser.DBA", "DBUser.Monitor", "DBUser.Replicator", "Patroni.API", "Etcd.Root", "DBUser.Meta", "DBUser.Viewer"}
	for _, d := range defaults {
		if !strings.Contains(string(tmpl), d) {
			t.Fatalf("template lacks %s: the test would prove nothing", d)
		}
	}
	res, inv := generate(t, Options{IP: "10.1.2.3", Generate: true, Intranet: intranet})
	for _, d := range append(defaults, "haproxy_admin_password: pigsty") {
		if strings.Contains(string(res.Text), d) {
			t.Errorf("default secret %q left in the output", d)
		}
	}
	p := inv.Hosts[0].Params
	seen := map[string]bool{}
	for _, pw := range []string{p.PgAdminPassword, p.PgMonitorPassword, p.PgReplicationPassword, p.PatroniPassword, p.EtcdRootPassword, p.HaproxyAdminPassword, p.PgUsers[0].Password, p.PgUsers[1].Password} {
		if len(pw) != 24 || seen[pw] {
			t.Errorf("password %q is not a fresh 24-character one", pw)
		}
		seen[pw] = true
	}
	res2, _ := generate(t, Options{IP: "10.1.2.3", Generate: true, Intranet: intranet})
	if string(res2.Text) == string(res.Text) {
		t.Fatal("two runs generated the same passwords")
	}
}

func TestGenerateRejectsBadIP(t *testing.T) {
	if _, err := Generate([]byte("all: {}"), Options{IP: "localhost"}); err == nil {
		t.Fatal("accepted a host name")
	}
}
