package install

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pigsty/pgsql/pkgmap"
)

func TestDisableMainCluster(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		changed bool
	}{
		{"", "# pigsty runs its own instances: no automatic cluster per installed major\ncreate_main_cluster = false\n", true},
		{"ssl = on\n#create_main_cluster = true\n", "ssl = on\n#create_main_cluster = true\n# pigsty runs its own instances: no automatic cluster per installed major\ncreate_main_cluster = false\n", true},
		{"ssl = on\ncreate_main_cluster = true\nlog_line_prefix = 'x'\n", "ssl = on\ncreate_main_cluster = false\nlog_line_prefix = 'x'\n", true},
		{"create_main_cluster = 'off'\n", "create_main_cluster = 'off'\n", false},
		{"ssl = on", "ssl = on\n# pigsty runs its own instances: no automatic cluster per installed major\ncreate_main_cluster = false\n", true},
	} {
		out, changed := disableMainCluster(tc.in)
		if out != tc.out || changed != tc.changed {
			t.Errorf("%q → %q %v, want %q %v", tc.in, out, changed, tc.out, tc.changed)
		}
	}
	path := filepath.Join(t.TempDir(), "postgresql-common", "createcluster.conf")
	if changed, err := ensureNoMainCluster(path); err != nil || !changed {
		t.Fatal(changed, err)
	}
	if changed, err := ensureNoMainCluster(path); err != nil || changed {
		t.Fatal("second write", changed, err)
	}
}

func TestParseControlData(t *testing.T) {
	state, next, err := parseControlData("pg_control version number:            1300\nDatabase cluster state:               shut down\nLatest checkpoint's NextOID:          13572\n")
	if err != nil || state != "shut down" || next != 13572 {
		t.Errorf("%q %d %v", state, next, err)
	}
	if _, _, err := parseControlData("garbage"); err == nil {
		t.Error("garbage accepted")
	}
}

// dataDir lays out the parts of a data directory the offline test reads.
func dataDir(t *testing.T, files ...string) string {
	t.Helper()
	d := t.TempDir()
	for _, dir := range []string{"global", "base/1", "base/4", "base/5", "pg_tblspc"} {
		if err := os.MkdirAll(filepath.Join(d, dir), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range append([]string{"global/1260", "base/5/1259", "base/5/13410_fsm", "base/1/pg_filenode.map"}, files...) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(d, f)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestUserFile(t *testing.T) {
	for _, tc := range []struct {
		extra []string
		want  string
	}{
		{nil, ""},
		{[]string{"base/5/16384"}, "relation file base/5/16384"},
		{[]string{"base/1/16390.1"}, "relation file base/1/16390.1"},
		{[]string{"base/16385/PG_VERSION"}, "a user database (base/16385)"},
		{[]string{"global/16400_vm"}, "relation file global/16400_vm"},
		{[]string{"pg_tblspc/16500"}, "a tablespace (pg_tblspc/16500)"},
	} {
		got, err := userFile(dataDir(t, tc.extra...))
		if err != nil || got != tc.want {
			t.Errorf("%v: %q %v, want %q", tc.extra, got, err, tc.want)
		}
	}
}

func writePatroni(t *testing.T, site, version string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(site, "patroni"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := "\"\"\"Patroni version.\"\"\"\n__version__ = '" + version + "'\n"
	if err := os.WriteFile(filepath.Join(site, "patroni", "version.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindPatroni(t *testing.T) {
	root, system := t.TempDir(), t.TempDir()
	if _, err := findPatroni(root, system); err != ErrNoPatroni {
		t.Errorf("nothing installed: %v", err)
	}
	writePatroni(t, system, "3.0.2")
	if _, err := findPatroni(root, system); err == nil || !strings.Contains(err.Error(), "3.0.2") {
		t.Errorf("old system patroni: %v", err)
	}
	writePatroni(t, filepath.Join(root, "4.0.6", distPackages), "4.0.6")
	writePatroni(t, filepath.Join(root, "4.0.7", distPackages), "4.0.7")
	writePatroni(t, filepath.Join(root, ".4.0.8.new", distPackages), "4.0.8")
	if err := os.WriteFile(filepath.Join(root, "4.0.7", sourceMarker), []byte("trixie\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := findPatroni(root, system)
	if err != nil || p.Version != "4.0.7" || p.Source != "trixie" || p.PythonPath != filepath.Join(root, "4.0.7", distPackages) {
		t.Errorf("%+v %v", p, err)
	}
	writePatroni(t, system, "4.0.2")
	if p, err := findPatroni(t.TempDir(), system); err != nil || p.PythonPath != "" || p.Version != "4.0.2" {
		t.Errorf("system patroni: %+v %v", p, err)
	}
}

func TestPatroniCommands(t *testing.T) {
	p := Patroni{Version: "4.0.7", Python: "/usr/bin/python3", PythonPath: "/opt/p"}
	path, argv, env := p.Command("/etc/patroni.yml")
	if path != "/usr/bin/python3" || !slices.Equal(argv, []string{"/usr/bin/python3", "-s", "-m", "patroni", "/etc/patroni.yml"}) {
		t.Errorf("%s %v", path, argv)
	}
	if !slices.Contains(env, "PYTHONPATH=/opt/p") || !slices.Contains(env, "PATH=/usr/bin:/bin") || len(env) != 4 {
		t.Errorf("env %v", env)
	}
	_, argv, _ = p.CtlCommand("list")
	if argv[1] != "-s" || argv[2] != "-c" || argv[len(argv)-1] != "list" {
		t.Errorf("ctl %v", argv)
	}
	if _, _, env := (Patroni{Python: "/usr/bin/python3"}).Command(); len(env) != 3 {
		t.Errorf("system patroni needs no PYTHONPATH: %v", env)
	}
}

func TestDenyServiceStarts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path, saved := filepath.Join(dir, "policy-rc.d"), filepath.Join(dir, "state", "saved")

	// No policy: ours for the duration, then none.
	restore, err := denyServiceStartsAt(ctx, path, saved)
	if err != nil || !policyDenies(ctx, path) {
		t.Fatal(err)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("policy left behind")
	}

	// A permissive policy: replaced, then put back.
	allow := "#!/bin/sh\nexit 0\n"
	if err := os.WriteFile(path, []byte(allow), 0o755); err != nil {
		t.Fatal(err)
	}
	restore, err = denyServiceStartsAt(ctx, path, saved)
	if err != nil || !policyDenies(ctx, path) {
		t.Fatal(err)
	}
	// An interrupted run is repaired by the next one.
	if _, err := denyServiceStartsAt(ctx, path, saved); err != nil {
		t.Fatal(err)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != allow {
		t.Fatalf("not restored: %q", b)
	}

	// A policy that already denies stays as it is.
	deny := "#!/bin/sh\n# site policy\nexit 101\n"
	if err := os.WriteFile(path, []byte(deny), 0o755); err != nil {
		t.Fatal(err)
	}
	restore, err = denyServiceStartsAt(ctx, path, saved)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != deny {
		t.Fatalf("replaced: %q", b)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
}

func TestSources(t *testing.T) {
	ts := parseTargets(fixture(t, "indextargets-bookworm.txt"))
	repos := map[string]pkgmap.Repo{}
	for _, r := range pkgmap.DefaultRepos() {
		repos[r.Name] = r.Resolve(bookworm)
	}
	for name, want := range map[string]bool{"base": true, "updates": true, "security": true, "pgdg": false, "patroni-trixie": false} {
		if got := configured(ts, repos[name]); got != want {
			t.Errorf("%s configured = %v", name, got)
		}
	}
	if !sameSite("https://apt.postgresql.org/pub/repos/apt/", "http://apt.postgresql.org/pub/repos/apt") {
		t.Error("scheme and slash should not matter")
	}
	got := deb822(repos["pgdg"], "amd64")
	want := "# pgdg (PGDG), written by pigsty from repo_upstream\nTypes: deb\nURIs: http://apt.postgresql.org/pub/repos/apt\nSuites: bookworm-pgdg\nComponents: main\nArchitectures: amd64\nSigned-By: /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc\n"
	if got != want {
		t.Errorf("deb822:\n%s", got)
	}
}
