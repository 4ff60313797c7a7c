package patroni

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/tune"
)

// cascade is a three-member cluster with a cascade replica, every pg_listen
// placeholder, the REST API on TLS and passwords that YAML 1.1 misreads.
const cascade = `all:
  children:
    infra: { hosts: { 10.10.10.10: { infra_seq: 1 } } }
    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } } }
    pg-test:
      hosts:
        10.10.10.11: { pg_seq: 1, pg_role: primary }
        10.10.10.12: { pg_seq: 2, pg_role: replica }
        10.10.10.13: { pg_seq: 3, pg_role: replica, pg_upstream: 10.10.10.12 }
      vars:
        pg_cluster: pg-test
        pg_listen: '${ip},${lo},${vip}'
        pg_vip_enabled: true
        pg_vip_address: 10.10.10.3/24
        pg_vip_interface: eth1
        pg_etcd_password: Etcd.Secret
        patroni_password: '='
        pg_replication_password: '0640'
  vars:
    admin_ip: 10.10.10.10
    pg_version: 15
    patroni_ssl_enabled: true
`

func parseInline(t *testing.T, src string) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Parse("inline.yml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// rendered decodes a rendered file into a generic tree.
func rendered(t *testing.T, in Input) map[string]any {
	t.Helper()
	out, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	checkRendered(t, out)
	var doc map[string]any
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// at walks a path of mapping keys.
func at(doc map[string]any, path ...string) any {
	var v any = doc
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestCascadeReplicaFollowsItsUpstreamByName(t *testing.T) {
	inv := parseInline(t, cascade)
	doc := rendered(t, inputOf(t, instance(t, inv, "pg-test-3"), "/"))
	if got := at(doc, "tags", "replicatefrom"); got != "pg-test-2" {
		t.Errorf("replicatefrom = %v, want pg-test-2 (Patroni matches member names, not addresses)", got)
	}
	if got := at(doc, "bootstrap", "dcs", "standby_cluster"); got != nil {
		t.Errorf("a cascade replica is no standby leader: standby_cluster = %v", got)
	}
	doc = rendered(t, inputOf(t, instance(t, inv, "pg-test-2"), "/"))
	if got := at(doc, "tags", "replicatefrom"); got != nil {
		t.Errorf("pg-test-2 has no upstream, replicatefrom = %v", got)
	}
}

func TestListenPlaceholders(t *testing.T) {
	inv := parseInline(t, cascade)
	doc := rendered(t, inputOf(t, instance(t, inv, "pg-test-1"), "/"))
	if got, want := at(doc, "postgresql", "listen"), "10.10.10.11,127.0.0.1,10.10.10.3:5432"; got != want {
		t.Errorf("listen = %v, want %v", got, want)
	}

	i := instance(t, inv, "pg-test-1")
	i.Params.PgVipEnabled = false
	got, err := listenAddresses(i)
	if err != nil || got != "10.10.10.11,127.0.0.1:5432" {
		t.Errorf("without a VIP: listen = %q, %v; want ${vip} dropped", got, err)
	}
	i.Params.PgListen = "${vip}"
	if _, err := listenAddresses(i); err == nil {
		t.Error("a pg_listen of only ${vip} without a VIP gave no error")
	}
}

func TestRestAPIOnTLS(t *testing.T) {
	inv := parseInline(t, cascade)
	doc := rendered(t, inputOf(t, instance(t, inv, "pg-test-1"), "/"))
	want := map[string]any{
		"certfile": "/pg/cert/server.crt", "keyfile": "/pg/cert/server.key", "cafile": "/pg/cert/ca.crt", "verify_client": "none",
	}
	for k, v := range want {
		if got := at(doc, "restapi", k); got != v {
			t.Errorf("restapi.%s = %v, want %v", k, got, v)
		}
	}
	if got := at(doc, "ctl", "insecure"); got != false {
		t.Errorf("ctl.insecure = %v with TLS on", got)
	}
	if got := at(doc, "ctl", "cacert"); got != "/pg/cert/ca.crt" {
		t.Errorf("ctl.cacert = %v", got)
	}
}

func TestCredentials(t *testing.T) {
	inv := parseInline(t, cascade)
	i := instance(t, inv, "pg-test-1")
	if u, p := DCSCredentials(i); u != "pg-test" || p != "Etcd.Secret" {
		t.Errorf("DCSCredentials = %s/%s, want pg-test/Etcd.Secret", u, p)
	}
	if got := KeyPrefix(i); got != "/pg/pg-test/" {
		t.Errorf("KeyPrefix = %s", got)
	}
	doc := rendered(t, inputOf(t, i, "/"))
	// YAML 1.1 would read these as its "value" tag and an octal number.
	if got := at(doc, "restapi", "authentication", "password"); got != "=" {
		t.Errorf("patroni password = %#v", got)
	}
	if got := at(doc, "postgresql", "authentication", "replication", "password"); got != "0640" {
		t.Errorf("replication password = %#v", got)
	}
	if got := at(doc, "postgresql", "authentication", "superuser", "password"); got != nil {
		t.Errorf("superuser password = %#v, want none without pg_dbsu_password", got)
	}
}

func TestCitusIdentity(t *testing.T) {
	i := instance(t, parseConf(t, "citus"), "pg-citus0-0")
	if Scope(i) != "pg-citus" || KeyPrefix(i) != "/pg/pg-citus/" {
		t.Errorf("Scope %s, KeyPrefix %s; want the shard pg-citus", Scope(i), KeyPrefix(i))
	}
	if u, p := DCSCredentials(i); u != "pg-citus" || p != "pg-citus" {
		t.Errorf("DCSCredentials = %s/%s", u, p)
	}
}

// Under a root prefix (a host of the multi-host harness) every path of the
// file is under that root.
func TestEveryPathComesFromTheLayout(t *testing.T) {
	const root = "/srv/hosts/n1"
	i := instance(t, parseConf(t, "ha"), "pg-test-2")
	in := inputOf(t, i, root)
	out, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	checkRendered(t, out)
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	outside := map[string]bool{goldenBinDir: true, watchdogDevice: true}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && strings.HasPrefix(n.Value, "/") && n.Value != "/pg/" && !outside[n.Value] && !strings.HasPrefix(n.Value, root+"/") {
			t.Errorf("line %d: %s is not under the layout root", n.Line, n.Value)
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	if !strings.Contains(string(out), "unix_socket_directories: "+root+"/var/run/postgresql\n") {
		t.Error("unix_socket_directories is not the layout's socket directory")
	}
}

func TestRenderRefuses(t *testing.T) {
	i := instance(t, parseConf(t, "meta"), "pg-meta-1")
	for name, spoil := range map[string]func(*Input){
		"no instance":           func(in *Input) { in.Instance = nil },
		"no bin_dir":            func(in *Input) { in.BinDir = "" },
		"no etcd":               func(in *Input) { in.Etcd.Hosts = nil },
		"unknown protocol":      func(in *Input) { in.Etcd.Protocol = "grpc" },
		"https without CA":      func(in *Input) { in.Etcd.CACert = "" },
		"cert without key":      func(in *Input) { in.Etcd.Key = "" },
		"http with TLS files":   func(in *Input) { in.Etcd.Protocol = "http" },
		"password, no user":     func(in *Input) { in.Etcd.Username = "" },
		"ttl below 20":          func(in *Input) { in.Plan.TTL = 15 },
		"loop+2*retry over ttl": func(in *Input) { in.Plan.LoopWait, in.Plan.RetryTimeout, in.Plan.TTL = 10, 11, 30 },
	} {
		in := inputOf(t, i, "/")
		spoil(&in)
		if _, err := Render(in); err == nil {
			t.Errorf("%s: rendered without error", name)
		} else if !strings.Contains(err.Error(), "patroni config of") {
			t.Errorf("%s: error without context: %v", name, err)
		}
	}

	plain := inputOf(t, i, "/")
	plain.Etcd = Etcd{Hosts: []string{"127.0.0.1:2379"}, Protocol: "http"}
	doc := rendered(t, plain)
	for _, k := range []string{"cacert", "cert", "key", "username", "password"} {
		if v := at(doc, "etcd3", k); v != nil {
			t.Errorf("plain etcd without auth has etcd3.%s = %v", k, v)
		}
	}
}

func TestInitdbOptions(t *testing.T) {
	p := &inventory.Params{PgVersion: 18, PgEncoding: "UTF8", PgLocale: "C.UTF-8", PgLcCollate: "C", PgPwdEnc: "md5"}
	got := initdbOptions(p, tuneTraits(false))
	want := []any{"no-data-checksums", kv("encoding", "UTF8"), kv("locale-provider", "builtin"), kv("builtin-locale", "C.UTF-8"),
		kv("lc-collate", "C"), kv("auth-local", "peer"), kv("auth-host", "md5")}
	if mustJSON(got) != mustJSON(want) {
		t.Errorf("PG18 without checksums:\n got %v\nwant %v", got, want)
	}

	// crit forces checksums; a clean environment must still get UTF8.
	p = &inventory.Params{PgVersion: 15, PgChecksum: false}
	got = initdbOptions(p, tuneTraits(true))
	want = []any{"data-checksums", kv("encoding", "UTF8"), kv("locale", "C"), kv("auth-local", "peer"), kv("auth-host", "scram-sha-256")}
	if mustJSON(got) != mustJSON(want) {
		t.Errorf("PG15 crit:\n got %v\nwant %v", got, want)
	}
}

func tuneTraits(checksums bool) tune.TemplateTraits {
	return tune.TemplateTraits{DataChecksums: checksums, WatchdogMode: "off", PatroniLogFiles: 4}
}
