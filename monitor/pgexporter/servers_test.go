package pgexporter

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"pigsty/assets"
	"pigsty/internal/testkit"
	"pigsty/monitor/collector"
)

// The servers these tests monitor: PostgreSQL 15 from the distribution,
// a streaming replica of it, and pgbouncer in front of it, each run as the
// postgres user in a directory of the test with its unix socket there.

const pgBin = "/usr/lib/postgresql/15/bin"

const monitorUser, monitorPassword = "dbuser_monitor", "DBUser.Monitor"

type pgServer struct {
	dir  string // data directory's parent and socket directory
	port int
	cred *syscall.Credential
}

func (s *pgServer) data() string { return filepath.Join(s.dir, "data") }

// url is the exporter's URL for a database of the server, as the monitor
// user over the unix socket.
func (s *pgServer) url(db string) string {
	return URL(s.dir, s.port, monitorUser, monitorPassword, db, "sslmode=disable")
}

// conn is a superuser session on a database.
func (s *pgServer) conn(t *testing.T, db string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", s.dir, s.port, db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// exec runs statements in a session of its own, closed at once so that
// its statistics are flushed.
func (s *pgServer) exec(t *testing.T, db string, sqls ...string) {
	t.Helper()
	c := s.conn(t, db)
	defer c.Close(context.Background())
	for _, q := range sqls {
		if _, err := c.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// run runs a program as the postgres user.
func run(t *testing.T, cred *syscall.Credential, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func ownedDir(t *testing.T, cred *syscall.Credential, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func needServers(t *testing.T) *syscall.Credential {
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
	return testkit.PostgresCredential(t)
}

// startPrimary initializes and starts a primary with what Pigsty's
// monitoring needs: pg_stat_statements, the monitor user (pg_monitor,
// password over the socket) and the monitor schema, and a database meta
// with a table, an index, a sequence and a function.
func startPrimary(t *testing.T) *pgServer {
	cred := needServers(t)
	s := &pgServer{dir: ownedDir(t, cred, "pigsty-pgexporter-"), port: testkit.FreePort(t), cred: cred}
	run(t, cred, s.dir, filepath.Join(pgBin, "initdb"), "-D", s.data(), "-U", "postgres", "--encoding=UTF8", "--locale=C",
		"--auth-local=trust", "--no-sync")
	conf := fmt.Sprintf(`
port = %d
listen_addresses = ''
unix_socket_directories = '%s'
shared_preload_libraries = 'pg_stat_statements'
password_encryption = 'scram-sha-256'
wal_level = replica
max_wal_senders = 4
hot_standby = on
track_functions = all
fsync = off
`, s.port, s.dir)
	appendFile(t, filepath.Join(s.data(), "postgresql.conf"), conf)
	writeFile(t, filepath.Join(s.data(), "pg_hba.conf"), "local all postgres trust\nlocal replication postgres trust\nlocal all all scram-sha-256\n")
	s.start(t)
	s.exec(t, "postgres",
		"CREATE ROLE "+monitorUser+" LOGIN PASSWORD '"+monitorPassword+"' IN ROLE pg_monitor",
		"CREATE ROLE dbuser_meta LOGIN PASSWORD 'DBUser.Meta'",
		"CREATE EXTENSION pg_stat_statements",
		"CREATE DATABASE meta OWNER dbuser_meta")
	for _, db := range []string{"postgres", "meta"} {
		s.exec(t, db, assets.MonitorSQL)
	}
	s.exec(t, "meta",
		"CREATE TABLE t_meta(id int PRIMARY KEY, v text)",
		"INSERT INTO t_meta SELECT g, 'x' FROM generate_series(1, 1000) g",
		"CREATE SEQUENCE s_meta", "SELECT nextval('s_meta')",
		"CREATE FUNCTION f_meta() RETURNS int LANGUAGE plpgsql AS 'BEGIN RETURN 1; END'", "SELECT f_meta()",
		"ANALYZE t_meta",
		"SELECT count(*) FROM t_meta", "SELECT count(*) FROM t_meta", "SELECT count(*) FROM t_meta",
		"SELECT count(*) FROM t_meta", "SELECT count(*) FROM t_meta",
		"GRANT ALL ON ALL TABLES IN SCHEMA public TO dbuser_meta",
		"GRANT SELECT ON t_meta TO "+monitorUser)
	return s
}

func (s *pgServer) start(t *testing.T) {
	t.Helper()
	run(t, s.cred, s.dir, filepath.Join(pgBin, "pg_ctl"), "-D", s.data(), "-l", filepath.Join(s.dir, "postgres.log"), "-w", "-t", "60", "start")
	t.Cleanup(func() { s.stop(t) })
}

func (s *pgServer) stop(t *testing.T) {
	if _, err := os.Stat(filepath.Join(s.data(), "postmaster.pid")); err != nil {
		return
	}
	cmd := exec.Command(filepath.Join(pgBin, "pg_ctl"), "-D", s.data(), "-m", "immediate", "-w", "stop")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	cmd.Env = []string{"LC_ALL=C"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("pg_ctl stop: %v\n%s", err, out)
	}
}

// startReplica clones the primary with pg_basebackup and starts it as a
// streaming replica named by its application_name.
func (s *pgServer) startReplica(t *testing.T, name string) *pgServer {
	r := &pgServer{dir: ownedDir(t, s.cred, "pigsty-pgexporter-replica-"), port: testkit.FreePort(t), cred: s.cred}
	run(t, s.cred, r.dir, filepath.Join(pgBin, "pg_basebackup"), "-D", r.data(), "-h", s.dir, "-p", strconv.Itoa(s.port),
		"-U", "postgres", "-X", "stream", "-c", "fast", "-R", "-C", "-S", strings.ReplaceAll(name, "-", "_"), "--no-sync")
	// after what pg_basebackup -R wrote there, so that it wins
	appendFile(t, filepath.Join(r.data(), "postgresql.auto.conf"), fmt.Sprintf(`
port = %d
unix_socket_directories = '%s'
primary_conninfo = 'host=%s port=%d user=postgres application_name=%s'
`, r.port, r.dir, s.dir, s.port, name))
	r.start(t)
	return r
}

// pgbouncer runs pgbouncer in front of a server's meta database, with
// the monitor user in stats_users, as pigsty configures it.
type pgbouncer struct {
	dir  string
	port int
}

func startPgbouncer(t *testing.T, s *pgServer) *pgbouncer {
	b := &pgbouncer{dir: ownedDir(t, s.cred, "pigsty-pgbouncer-"), port: testkit.FreePort(t)}
	ini := fmt.Sprintf(`[databases]
meta = host=%s port=%d dbname=meta

[pgbouncer]
listen_addr =
listen_port = %d
unix_socket_dir = %s
auth_type = plain
auth_file = %s/userlist.txt
admin_users = postgres
stats_users = %s
pool_mode = transaction
default_pool_size = 5
logfile =
pidfile =
`, s.dir, s.port, b.port, b.dir, b.dir, monitorUser)
	writeFile(t, filepath.Join(b.dir, "pgbouncer.ini"), ini)
	writeFile(t, filepath.Join(b.dir, "userlist.txt"),
		fmt.Sprintf("%q %q\n\"dbuser_meta\" \"DBUser.Meta\"\n", monitorUser, monitorPassword))
	for _, f := range []string{"pgbouncer.ini", "userlist.txt"} {
		os.Chown(filepath.Join(b.dir, f), int(s.cred.Uid), int(s.cred.Gid))
	}
	testkit.Start(t, s.cred, "/usr/sbin/pgbouncer", []string{filepath.Join(b.dir, "pgbouncer.ini")}, "process up")
	return b
}

func (b *pgbouncer) url() string {
	return URL(b.dir, b.port, monitorUser, monitorPassword, "pgbouncer", "sslmode=disable")
}

// console is a session on the admin console as the monitor user.
func (b *pgbouncer) console(t *testing.T) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), b.url()+"&default_query_exec_mode=simple_protocol")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func builtinConfig(t *testing.T) *collector.Config {
	t.Helper()
	cfg, err := collector.Parse([]collector.File{{Name: "pg_exporter.yml", Data: assets.PgExporterConfig}}, collector.DefaultTTLs)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// scrape fetches /metrics of an exporter's handler and parses it.
func scrape(t *testing.T, e *Exporter) (testkit.Metrics, string) {
	t.Helper()
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s\n%s", resp.Status, body)
	}
	m, err := testkit.ParseMetrics(string(body))
	if err != nil {
		t.Fatal(err)
	}
	return m, string(body)
}

// status is the HTTP status of a path of the exporter.
func status(t *testing.T, e *Exporter, path string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	e.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
