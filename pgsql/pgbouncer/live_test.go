package pgbouncer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pigsty/internal/testkit"
	"pigsty/pgsql/hba"
	"pigsty/pgsql/layout"
)

const (
	pgbouncerBin = "/usr/sbin/pgbouncer"
	psqlBin      = "/usr/lib/postgresql/15/bin/psql"
)

// TestLive renders pg-meta-1's files into a temporary root, starts
// pgbouncer 1.18 on them as the dbsu, and logs in to its admin console,
// which needs no PostgreSQL: by password over TCP (proving userlist.txt,
// the verifiers and pgb_hba.conf) and as the dbsu by peer over the socket,
// never by password.
func TestLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run pgbouncer as postgres")
	}
	for _, bin := range []string{pgbouncerBin, psqlBin} {
		if _, err := os.Stat(bin); err != nil {
			t.Skipf("%s is not installed", bin)
		}
	}
	cred := testkit.PostgresCredential(t)
	root, err := os.MkdirTemp("", "pigsty-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	port := testkit.FreePort(t)
	i := testkit.Instance(t, "meta", "pg-meta-1", metaPools, "pg_listen=${lo}", fmt.Sprintf("pgbouncer_port=%d", port))
	l := layout.New(root, i)
	files, err := Render(i, l, secrets())
	if err != nil {
		t.Fatal(err)
	}
	pgbHBA, err := hba.RenderPgbouncer(i, l)
	if err != nil {
		t.Fatal(err)
	}
	files[hba.PgbouncerPath(l)] = File{pgbHBA, 0o640}
	for _, dir := range []string{l.Socket(), l.Run(), l.Pgbouncer()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for path, f := range files {
		if err := os.WriteFile(path, f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
	chownTree(t, root, cred)

	p := testkit.Start(t, cred, pgbouncerBin, []string{ConfigPath(l)}, "process up")
	for _, bad := range []string{"WARNING", "ERROR", "FATAL"} {
		if strings.Contains(p.String(), bad) {
			t.Errorf("pgbouncer complained:\n%s", p.String())
		}
	}

	tcp := func(user, password string) string {
		return fmt.Sprintf("host=127.0.0.1 port=%d dbname=pgbouncer user=%s password='%s' sslmode=disable connect_timeout=5", port, user, password)
	}
	out, err := psql(nil, tcp("dbuser_dba", "DBUser.DBA"), "SHOW USERS")
	if err != nil {
		t.Fatalf("admin login by password: %v\n%s\npgbouncer:\n%s", err, out, p.String())
	}
	if !strings.Contains(out, "dbuser_app|statement") {
		t.Errorf("SHOW USERS lacks dbuser_app's pool mode from useropts.txt:\n%s", out)
	}
	for _, login := range [][2]string{{"dbuser_dba", "wrong"}, {"postgres", ""}, {"postgres", "x"}} {
		if out, err := psql(nil, tcp(login[0], login[1]), "SHOW USERS"); err == nil {
			t.Errorf("%s logged in by password %q:\n%s", login[0], login[1], out)
		}
	}
	sock := fmt.Sprintf("host=%s port=%d dbname=pgbouncer user=postgres connect_timeout=5", l.Socket(), port)
	out, err = psql(cred, sock, "SHOW DATABASES")
	if err != nil {
		t.Fatalf("dbsu login by peer: %v\n%s\npgbouncer:\n%s", err, out, p.String())
	}
	for _, want := range []string{"meta|" + l.Socket() + "|5432|meta||64|0|32|", "pool|" + l.Socket() + "|5432|pool||16|2|4|session|40|"} {
		if !strings.Contains(out, want) {
			t.Errorf("SHOW DATABASES lacks %q:\n%s", want, out)
		}
	}
	out, err = psql(cred, sock, "SHOW CONFIG")
	if err != nil || !strings.Contains(out, "server_login_retry|1|") {
		t.Errorf("server_login_retry is not 1 (%v):\n%s", err, out)
	}
}

// psql runs one admin console command, with a hard timeout: a console
// login can hang where connect_timeout does not reach.
func psql(cred *syscall.Credential, conninfo, command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, psqlBin, "-X", "-w", "-A", "-t", "-d", conninfo, "-c", command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func chownTree(t *testing.T, root string, cred *syscall.Credential) {
	t.Helper()
	err := filepath.Walk(root, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(path, int(cred.Uid), int(cred.Gid))
	})
	if err != nil {
		t.Fatal(err)
	}
}
