package patroni

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"pigsty/internal/testkit"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/pkgmap"
	"pigsty/pgsql/tune"
)

// Fixed host facts for every golden: a 4-core, 16 GiB, 200 GiB Debian 12 node.
var (
	goldenOS   = pkgmap.OS{Family: "deb", ID: "debian", Major: 12, Codename: "bookworm", Arch: "x86_64"}
	goldenSpec = tune.Spec{CPU: 4, MemMB: 16384, DiskBytes: 200 << 30}
)

const goldenBinDir = "/usr/lib/postgresql/15/bin"

func parseConf(t *testing.T, name string, extra ...string) *inventory.Inventory {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "assets", "conf", name+".yml"))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Parse(name+".yml", data, append([]string{"pg_version=15"}, extra...))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return inv
}

func instance(t *testing.T, inv *inventory.Inventory, ins string) *inventory.Instance {
	t.Helper()
	for _, i := range inv.Instances() {
		if i.Name == ins {
			return i
		}
	}
	t.Fatalf("no instance %s", ins)
	return nil
}

// inputOf is the Input the agent would build for i on the golden host,
// with the layout under root.
func inputOf(t *testing.T, i *inventory.Instance, root string) Input {
	t.Helper()
	tuning, err := i.Params.Tune(goldenSpec, goldenOS)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := i.Params.Plan()
	if err != nil {
		t.Fatal(err)
	}
	traits, err := i.Params.Traits()
	if err != nil {
		t.Fatal(err)
	}
	l := layout.New(root, i)
	var hosts []string
	for _, ip := range i.Inventory().EtcdIPs() {
		hosts = append(hosts, ip+":2379")
	}
	user, pass := DCSCredentials(i)
	return Input{
		Instance: i, Layout: l, Tuning: tuning, Plan: plan, Traits: traits, Spec: goldenSpec, BinDir: goldenBinDir,
		Etcd: Etcd{
			Hosts: hosts, Protocol: "https", Username: user, Password: pass,
			CACert: filepath.Join(l.Cert(), "ca.crt"), Cert: filepath.Join(l.Cert(), "server.crt"), Key: filepath.Join(l.Cert(), "server.key"),
		},
	}
}

var goldens = []struct {
	name, conf, ins string
	extra           []string
}{
	{"meta-pg-meta-1", "meta", "pg-meta-1", nil},
	{"ha-pg-test-1", "ha", "pg-test-1", nil},
	{"ha-pg-test-2", "ha", "pg-test-2", nil},
	{"standby-pg-test2-1", "standby", "pg-test2-1", nil},
	{"delayed-pg-testdelay-1", "delayed", "pg-testdelay-1", nil},
	{"crit-pg-test-1", "ha", "pg-test-1", []string{"pg_conf=crit.yml"}},
	{"citus-pg-citus1-0", "citus", "pg-citus1-0", nil},
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			in := inputOf(t, instance(t, parseConf(t, g.conf, g.extra...), g.ins), "/")
			got, err := Render(in)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", g.name+".yml")
			if testkit.Updating() {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file; diff it with -update and git diff", g.name)
			}
			checkRendered(t, got)
		})
	}
}

// checkRendered holds for every rendered file: it is YAML, Patroni's timing
// invariant holds, and the DCS carries no host paths.
func checkRendered(t *testing.T, out []byte) {
	t.Helper()
	var doc struct {
		Bootstrap struct {
			DCS struct {
				TTL          int `yaml:"ttl"`
				LoopWait     int `yaml:"loop_wait"`
				RetryTimeout int `yaml:"retry_timeout"`
				PostgreSQL   struct {
					Parameters map[string]string `yaml:"parameters"`
				} `yaml:"postgresql"`
			} `yaml:"dcs"`
		} `yaml:"bootstrap"`
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, out)
	}
	d := doc.Bootstrap.DCS
	if d.TTL == 0 || d.LoopWait+2*d.RetryTimeout > d.TTL {
		t.Errorf("loop_wait %d + 2 × retry_timeout %d > ttl %d", d.LoopWait, d.RetryTimeout, d.TTL)
	}
	if len(d.PostgreSQL.Parameters) < 50 {
		t.Errorf("only %d DCS parameters", len(d.PostgreSQL.Parameters))
	}
	for k, v := range d.PostgreSQL.Parameters {
		if strings.HasPrefix(v, "/") {
			t.Errorf("DCS parameter %s = %s is a host path; it belongs in the local parameters", k, v)
		}
	}
	checkPyYAML(t, out)
}

// pyLoad prints the document as PyYAML (Patroni's reader) sees it, as JSON.
const pyLoad = `import json, sys, yaml
print(json.dumps(yaml.safe_load(open(sys.argv[1])), sort_keys=True, default=str))`

// checkPyYAML compares what Patroni's YAML library reads with what was
// meant: a string the YAML 1.1 reader takes for a bool, a number or a date
// would change the configuration silently. Skipped without python3-yaml.
func checkPyYAML(t *testing.T, out []byte) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import yaml").Run(); err != nil {
		t.Log("no python3 with PyYAML; skipping the YAML 1.1 check")
		return
	}
	f := filepath.Join(t.TempDir(), "patroni.yml")
	if err := os.WriteFile(f, out, 0o600); err != nil {
		t.Fatal(err)
	}
	py, err := exec.Command("/usr/bin/python3", "-c", pyLoad, f).Output()
	if err != nil {
		t.Fatalf("PyYAML cannot read the file: %v", err)
	}
	var meant any
	if err := yaml.Unmarshal(out, &meant); err != nil {
		t.Fatal(err)
	}
	var read any
	if err := json.Unmarshal(py, &read); err != nil {
		t.Fatal(err)
	}
	if x, y := mustJSON(read), mustJSON(meant); x != y {
		t.Errorf("PyYAML reads the file differently:\npython: %s\ngo:     %s", x, y)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
