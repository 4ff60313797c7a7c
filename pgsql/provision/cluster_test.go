package provision

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"pigsty/internal/testkit"
)

// pgBin is where Debian installs PostgreSQL 15.
const pgBin = "/usr/lib/postgresql/15/bin"

// cluster is a throwaway PostgreSQL instance owned by the postgres OS user,
// with its data, socket and log in one temporary directory.
type cluster struct {
	dir  string
	port int
	cred *syscall.Credential
}

// startCluster initdbs and starts a cluster, and registers its stop and
// removal, which also run when the test fails half-way.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("integration test: needs root to run PostgreSQL as the postgres user")
	}
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		t.Skipf("integration test: PostgreSQL 15 is not installed: %v", err)
	}
	cred := testkit.PostgresCredential(t)

	dir, err := os.MkdirTemp("", "pigsty-provision-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		t.Fatal(err)
	}
	c := &cluster{dir: dir, port: testkit.FreePort(t), cred: cred}
	data := c.data()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c.run(t, ctx, "initdb", "-D", data, "-U", "postgres", "--encoding=UTF8", "--locale=C", "--auth-local=trust", "--no-sync")
	c.write(t, filepath.Join(data, "postgresql.conf"), fmt.Sprintf(`
port = %d
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
shared_preload_libraries = 'pg_stat_statements'
password_encryption = 'scram-sha-256'
fsync = off
log_statement = 'all'
`, c.port, dir), true)
	c.write(t, filepath.Join(data, "pg_hba.conf"), "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n", false)

	t.Cleanup(func() { c.stop(t) })
	c.run(t, ctx, "pg_ctl", "-D", data, "-l", filepath.Join(dir, "postgres.log"), "-w", "-t", "60", "start")
	return c
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

// run runs a PostgreSQL program as the postgres user, by absolute path,
// with a clean environment. The postmaster stays in the test's process
// group, so an interrupted test takes it down too.
func (c *cluster) run(t *testing.T, ctx context.Context, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, filepath.Join(pgBin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s%s", name, err, out, c.log())
	}
}

func (c *cluster) write(t *testing.T, path, text string, appendTo bool) {
	t.Helper()
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendTo {
		flags = os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err == nil {
		_, err = f.WriteString(text)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Chown(path, int(c.cred.Uid), int(c.cred.Gid))
	}
	if err != nil {
		t.Fatal(err)
	}
}

// stop stops the postmaster; if pg_ctl cannot, it kills the postmaster
// named in its pid file, which this test started.
func (c *cluster) stop(t *testing.T) {
	pidFile := filepath.Join(c.data(), "postmaster.pid")
	if _, err := os.Stat(pidFile); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(pgBin, "pg_ctl"), "-D", c.data(), "-m", "immediate", "-w", "stop")
	cmd.Dir = c.dir
	cmd.Env = []string{"LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	t.Logf("pg_ctl stop: %v\n%s", err, out)
	text, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.SplitN(string(text), "\n", 2)[0]); err == nil && pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

func (c *cluster) log() string {
	text, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
	return string(text)
}

// connect opens a session as postgres over the unix socket.
func (c *cluster) connect(ctx context.Context, database string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=postgres sslmode=disable", c.dir, c.port))
	if err != nil {
		return nil, err
	}
	cfg.Database = database
	return pgx.ConnectConfig(ctx, cfg)
}

// login opens a session over TCP on loopback with a password, as a
// client would.
func (c *cluster) login(ctx context.Context, user, password, database string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d sslmode=disable", c.port))
	if err != nil {
		return nil, err
	}
	cfg.User, cfg.Password, cfg.Database = user, password, database
	return pgx.ConnectConfig(ctx, cfg)
}
