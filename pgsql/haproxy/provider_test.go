package haproxy

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"pigsty/internal/testkit"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// delegated: pg-test hands its services to the infra group's HAProxy
// (pg_service_provider), which also serves a free-form haproxy_services
// entry of its node; pg-test's weights follow pg_weight.
const delegated = `all:
  children:
    infra: { hosts: { 10.10.10.10: { infra_seq: 1 } } }
    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } } }
    pg-meta:
      hosts: { 10.10.10.10: { pg_seq: 1, pg_role: primary } }
      vars:
        pg_cluster: pg-meta
        haproxy_services:
          - name: minio
            port: 9002
            balance: leastconn
            options: [ option httpchk, option http-keep-alive, http-check send meth OPTIONS uri /minio/health/live, http-check expect status 200 ]
            servers:
              - { name: minio-1 ,ip: 10.10.10.10 ,port: 9000 ,options: 'check port 9000' }
              - { name: minio-2 ,ip: 10.10.10.11 ,port: 9000 ,options: 'check port 9000', backup: true, weight: 50 }
    pg-test:
      hosts:
        10.10.10.11: { pg_seq: 1, pg_role: primary }
        10.10.10.12: { pg_seq: 2, pg_role: replica, pg_weight: 50 }
      vars:
        pg_cluster: pg-test
        pg_service_provider: infra
        pg_default_services:
          - { name: primary ,port: 10013 ,dest: postgres ,check: /primary ,selector: "[]" }
          - { name: replica ,port: 10014 ,dest: postgres ,check: /read-only ,selector: "[]", backup: "[? pg_role == ` + "`primary`" + ` ]" }
  vars: { pg_version: 15, admin_ip: 10.10.10.10 }
`

func renderDelegated(t *testing.T, ins, root string) Files {
	t.Helper()
	inv, err := inventory.Parse("delegated.yml", []byte(delegated), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range inv.Instances() {
		if i.Name != ins {
			continue
		}
		plan, err := i.Params.Plan()
		if err != nil {
			t.Fatal(err)
		}
		files, err := Render(i, layout.New(root, i), plan, Runtime{})
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	t.Fatalf("no %s", ins)
	return nil
}

// The provider's node serves its own cluster's services, the delegated
// cluster's and its haproxy_services; the delegating members serve none.
func TestServiceProviderGolden(t *testing.T) {
	files := renderDelegated(t, "pg-meta-1", "/")
	var names []string
	for path, f := range files {
		name := strings.TrimPrefix(path, "/etc/haproxy/")
		names = append(names, name)
		if strings.HasPrefix(name, "conf.d/pg-test-") || name == "conf.d/minio.cfg" {
			testkit.Golden(t, "delegated."+strings.ReplaceAll(name, "/", "."), f.Data)
		}
	}
	sort.Strings(names)
	testkit.Golden(t, "delegated.files", []byte(strings.Join(names, "\n")+"\n"))
	if own := renderDelegated(t, "pg-test-1", "/"); len(own) != 1 {
		t.Errorf("pg-test-1 renders %d files, want haproxy.cfg only", len(own))
	}
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skipf("%s is not installed", haproxyBin)
	}
	root := t.TempDir()
	for path, f := range renderDelegated(t, "pg-meta-1", root) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
	inv, _ := inventory.Parse("delegated.yml", []byte(delegated), nil)
	l := layout.New(root, inv.Instances()[0])
	writeState(t, l)
	out, err := exec.Command(haproxyBin, "-c", "-f", ConfigPath(l), "-f", ServicesDir(l)).CombinedOutput()
	if err != nil || strings.Contains(string(out), "ALERT") {
		t.Errorf("haproxy -c: %v\n%s", err, out)
	}
}
