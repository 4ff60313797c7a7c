package install

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"pigsty/internal/testkit"
	"pigsty/node/facts"
	"pigsty/pgsql/pkgmap"
)

// These tests change the host: they install packages with apt, unpack
// Patroni under PatroniRoot and may drop an empty "main" cluster. They need
// root and the network to Debian's mirrors.

func requireRoot(t *testing.T) {
	if os.Getuid() != 0 || testing.Short() {
		t.Skip("needs root and a host that may be changed; skipped with -short")
	}
}

type lineLogger struct{ t *testing.T }

func (l lineLogger) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func runInstall(t *testing.T, pgVersion int, items ...string) (Report, error) {
	t.Helper()
	hostOS, err := facts.DetectOS()
	if err != nil {
		t.Fatal(err)
	}
	pkgs, skipped, err := pkgmap.Expand(items, pgVersion, hostOS)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	return Run(ctx, Options{Packages: pkgs, Skipped: skipped, Progress: lineLogger{t}})
}

// dpkgState is every installed package with its version.
func dpkgState(t *testing.T) string {
	out, err := exec.Command("/usr/bin/dpkg-query", "-W", "-f", "${Package} ${Version} ${Status}\n").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestIntegrationInstall(t *testing.T) {
	requireRoot(t)

	t.Log("first run")
	rep, err := runInstall(t, 15, "pgsql-main", "pgsql-common")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Patroni == nil || !strings.HasPrefix(rep.Patroni.Version, "4.0.") {
		t.Fatalf("patroni: %+v", rep.Patroni)
	}
	t.Logf("report: %+v patroni %+v", rep, *rep.Patroni)

	t.Log("second run")
	rep2, err := runInstall(t, 15, "pgsql-main", "pgsql-common")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep2.Installed) != 0 || len(rep2.Upgraded) != 0 {
		t.Errorf("second run installed %v, upgraded %v", rep2.Installed, rep2.Upgraded)
	}
	if len(rep2.Present) != len(rep.Present)+len(rep.Installed) {
		t.Errorf("second run: %d present, first run %d present + %d installed", len(rep2.Present), len(rep.Present), len(rep.Installed))
	}
	if rep2.MainCluster != "none" && !strings.HasPrefix(rep2.MainCluster, "kept") {
		t.Errorf("main cluster on the second run: %s", rep2.MainCluster)
	}

	// What pigsty will exec must work with the clean environment.
	pat, err := FindPatroni()
	if err != nil {
		t.Fatal(err)
	}
	path, argv, env := pat.CtlCommand("version")
	cmd := exec.Command(path, argv[1:]...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), pat.Version) {
		t.Errorf("patronictl version: %v: %s", err, out)
	}

	before := dpkgState(t)
	for _, tc := range []struct {
		pg    int
		items []string
		want  string
	}{
		{15, []string{"pgsql-main", "pgsql-common", "pgvector"}, "pgvector → postgresql-15-pgvector: not available from the configured sources"},
		{15, []string{"pgvector"}, "pgvector → postgresql-15-pgvector: not available from the configured sources"},
		// Debian 12 has PostgreSQL 15 only; its minor version moves on.
		{17, []string{"pgsql-main", "pgsql-common"}, "pg_version 17: alias pgsql-main → postgresql-17: no such package here; available instead: postgresql-15 ("},
	} {
		t.Logf("failing run: pg_version %d %v", tc.pg, tc.items)
		rep, err := runInstall(t, tc.pg, tc.items...)
		var pe *PreflightError
		if !errors.As(err, &pe) {
			t.Fatalf("want a preflight error, got %v", err)
		}
		t.Log(err)
		if !slices.ContainsFunc(pe.Problems, func(p string) bool { return strings.HasPrefix(p, tc.want) }) {
			t.Errorf("problems %q lack %q", pe.Problems, tc.want)
		}
		if len(rep.Installed) != 0 {
			t.Errorf("installed %v despite preflight failure", rep.Installed)
		}
	}
	if after := dpkgState(t); after != before {
		t.Error("failed preflights changed the installed packages")
	}
}

// TestIntegrationClusterEmptiness checks the test that decides whether a
// "main" cluster may be dropped, on a scratch cluster of its own.
func TestIntegrationClusterEmptiness(t *testing.T) {
	requireRoot(t)
	bin := "/usr/lib/postgresql/15/bin"
	if _, err := os.Stat(bin + "/initdb"); err != nil {
		t.Skip("postgresql-15 not installed")
	}
	pg := testkit.PostgresCredential(t)
	uid, gid := int(pg.Uid), int(pg.Gid)
	// Not t.TempDir: its parent is private to root, the cluster runs as postgres.
	dir, err := os.MkdirTemp("", "pigsty-scratch-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	asPostgres := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	const port = "54329"
	c := pgCluster{Version: 15, Cluster: "scratch", PGData: data, Port: port, SocketDir: dir, OwnerUID: uid, OwnerGID: gid}
	ctx := context.Background()
	check := func(running bool, want bool) {
		t.Helper()
		c.Running = 0
		if running {
			c.Running = 1
		}
		empty, why := clusterEmpty(ctx, c)
		t.Logf("running=%v empty=%v: %s", running, empty, why)
		if empty != want {
			t.Errorf("running=%v: empty = %v, want %v (%s)", running, empty, want, why)
		}
	}
	// -l: the postmaster must not inherit the pipe that CombinedOutput waits on.
	start := func() {
		asPostgres("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-o", "-p "+port+" -k "+dir+" -c listen_addresses=''", "start")
	}
	stop := func() { asPostgres("pg_ctl", "-D", data, "-w", "-m", "fast", "stop") }
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
			stop()
		}
	})

	asPostgres("initdb", "-D", data, "-A", "trust")
	check(false, true)
	start()
	check(true, true)
	stop()
	check(false, true) // a start and a clean stop create nothing

	start()
	asPostgres("psql", "-X", "-h", dir, "-p", port, "-d", "postgres", "-c", "CREATE VIEW v AS SELECT 1")
	check(true, false)
	stop()
	check(false, false) // a view has no file; NextOID still tells
}
