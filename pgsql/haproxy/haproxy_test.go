package haproxy

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"pigsty/internal/testkit"
	"pigsty/pgsql/layout"
)

const haproxyBin = "/usr/sbin/haproxy"

// custom adds services the defaults do not exercise: one that selects no
// member, one with its own options, bind address, balance and dest port,
// and Patroni over TLS.
const custom = `{"patroni_ssl_enabled": true, "pg_weight": 50, "haproxy_admin_password": "it's $HOME #1",
  "pg_services": [
    {"name": "nobody", "port": 5440, "selector": "[? pg_role == ` + "`standby`" + ` ]", "check": "/replica"},
    {"name": "custom", "port": 5441, "ip": "10.10.10.12", "dest": "15432", "check": "/read-only", "balance": "leastconn",
     "maxconn": 100, "options": "inter 1s fall 2 rise 2 on-marked-down shutdown-sessions", "selector": "[? pg_role != ` + "`primary`" + ` ]"}
  ]}`

var goldens = []struct {
	name, conf, ins string
	extra           []string
	run             Runtime
}{
	{"pg-meta-1", "meta", "pg-meta-1", nil, Runtime{User: "haproxy", Group: "haproxy"}},
	{"pg-test-2", "ha", "pg-test-2", []string{"nodename=db-2"}, Runtime{User: "haproxy", Group: "haproxy"}},
	{"pg-test-2-custom", "ha", "pg-test-2", []string{custom, "pg_rto=fast"}, Runtime{FDLimit: 20000}},
	// pg-test-2 took over from pg-test-1: the replica service leads to
	// pg-test-1 and pg-test-3, with pg-test-2 its backup
	{"pg-test-2-leads", "ha", "pg-test-2", []string{"nodename=db-2"}, Runtime{User: "haproxy", Group: "haproxy", Leaders: map[string]string{"pg-test": "pg-test-2"}}},
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			files := render(t, g.conf, g.ins, "/", g.run, g.extra...)
			var names []string
			for path, f := range files {
				name := strings.TrimPrefix(path, "/etc/haproxy/")
				names = append(names, name)
				want := os.FileMode(0o644)
				if name == "haproxy.cfg" {
					want = 0o640
				}
				if f.Mode != want {
					t.Errorf("%s: mode %o, want %o", path, f.Mode, want)
				}
				testkit.Golden(t, g.name+"."+strings.ReplaceAll(name, "/", "."), f.Data)
			}
			sort.Strings(names)
			testkit.Golden(t, g.name+".files", []byte(strings.Join(names, "\n")+"\n"))
		})
	}
}

// HAProxy's own parser accepts every rendered configuration.
func TestHAProxyAccepts(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skipf("%s is not installed", haproxyBin)
	}
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			if g.run.User != "" {
				if _, err := user.Lookup(g.run.User); err != nil {
					g.run.User, g.run.Group = "", ""
				}
			}
			root := t.TempDir()
			files := render(t, g.conf, g.ins, root, g.run, g.extra...)
			for path, f := range files {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, f.Data, f.Mode); err != nil {
					t.Fatal(err)
				}
			}
			i := testkit.Instance(t, g.conf, g.ins, g.extra...)
			l := layout.New(root, i)
			if err := os.MkdirAll(ServicesDir(l), 0o755); err != nil {
				t.Fatal(err)
			}
			writeState(t, l)
			out, err := exec.Command(haproxyBin, "-c", "-f", ConfigPath(l), "-f", ServicesDir(l)).CombinedOutput()
			if err != nil || strings.Contains(string(out), "WARNING") || strings.Contains(string(out), "ALERT") {
				t.Errorf("haproxy -c: %v\n%s", err, out)
			}
		})
	}
}

func TestWholeTimes(t *testing.T) {
	for in, want := range map[string]string{
		"inter 1s fastinter 0.5s downinter 1s": "inter 1s fastinter 500ms downinter 1s",
		"fastinter 1.5s  slowstart 30s":        "fastinter 1500ms slowstart 30s",
		"fastinter .25s":                       "fastinter 250ms",
		"fastinter 2.000s maxconn 3000":        "fastinter 2000ms maxconn 3000",
		"fastinter 0.0005s":                    "",
	} {
		got, err := wholeTimes(in)
		if (want == "") != (err != nil) || got != want {
			t.Errorf("wholeTimes(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestMaxConn(t *testing.T) {
	for limit, want := range map[uint64]int{0: 65535, 1 << 20: 65535, 2*65535 + 1000: 65535, 20000: 9500, 3000: 1000, 2999: 0} {
		got, err := maxconn(limit)
		if got != want || (want == 0) != (err != nil) {
			t.Errorf("maxconn(%d) = %d, %v; want %d", limit, got, err, want)
		}
	}
}

func writeState(t *testing.T, l layout.Layout) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(StatePath(l)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(StatePath(l), []byte(InitialState), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRefused(t *testing.T) {
	for _, c := range []struct {
		name  string
		extra []string
		want  string
	}{
		{"password spanning lines", []string{`{"haproxy_admin_password": "a\nb"}`}, "haproxy_admin_password"},
		{"admin user with a space", []string{`{"haproxy_admin_username": "ad min"}`}, "haproxy_admin_username"},
		{"options spanning lines", []string{`{"pg_services": [{"name": "x", "port": 5440, "selector": "[]", "options": "inter 1s\nbackend evil"}]}`}, "span lines"},
	} {
		t.Run(c.name, func(t *testing.T) {
			i := testkit.Instance(t, "ha", "pg-test-2", c.extra...)
			plan, err := i.Params.Plan()
			if err != nil {
				t.Fatal(err)
			}
			_, err = Render(i, layout.New("/", i), plan, Runtime{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "pg-test-2") {
				t.Fatalf("want an error naming pg-test-2 and %q, got %v", c.want, err)
			}
		})
	}
}

func TestWord(t *testing.T) {
	for in, want := range map[string]string{
		"pigsty":       "pigsty",
		"DBUser.DBA":   "DBUser.DBA",
		"a b":          "'a b'",
		"$HOME":        "'$HOME'",
		"it's":         `'it'\''s'`,
		"":             "''",
		`back\slash"q`: `'back\slash"q'`,
	} {
		if got, err := word(in); err != nil || got != want {
			t.Errorf("word(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func render(t *testing.T, conf, ins, root string, run Runtime, extra ...string) Files {
	t.Helper()
	i := testkit.Instance(t, conf, ins, extra...)
	plan, err := i.Params.Plan()
	if err != nil {
		t.Fatal(err)
	}
	files, err := Render(i, layout.New(root, i), plan, run)
	if err != nil {
		t.Fatal(err)
	}
	return files
}
