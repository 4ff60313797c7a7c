package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"pigsty/infra/etcd"
)

// connect opens a session through a port of the demo host.
func connect(ctx context.Context, user, password string, port int, db string, opts ...string) (*pgx.Conn, error) {
	url := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?connect_timeout=5&%s", user, password, port, db, strings.Join(opts, "&"))
	return pgx.Connect(ctx, url)
}

func exec1(ctx context.Context, user, password string, port int, db, sql string, opts ...string) error {
	c, err := connect(ctx, user, password, port, db, opts...)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, sql)
	return err
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// TestDemo brings pg-meta up from nothing with `pigsty demo`, checks it
// through real clients, kills each child and the agent, runs the demo
// again, and stops everything.
func TestDemo(t *testing.T) {
	h := newHost(t)
	ctx := context.Background()

	// The user's own HBA rule, as one would add it to pigsty.yml: the
	// viewer may not use the postgres database from this host.
	h.must("configure", "-i", "127.0.0.1")
	inv := filepath.Join(h.root, "pigsty.yml")
	text, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "title: 'allow intranet password access' ,order: 800 }\n"
	if !strings.Contains(string(text), anchor) {
		t.Fatalf("the meta template has no intranet rule to follow:\n%s", text)
	}
	text = []byte(strings.Replace(string(text), anchor, anchor+
		"          - { user: dbuser_view ,db: postgres ,addr: localhost ,auth: deny ,title: 'no viewer on postgres' ,order: 50 }\n", 1))
	if err := os.WriteFile(inv, text, 0o600); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	out := h.must("demo", "-i", "127.0.0.1", "--timeout", "2m")
	t.Logf("demo from scratch: %s\n%s", time.Since(start).Round(100*time.Millisecond), out)
	if !strings.Contains(out, "==> ready") {
		t.Fatalf("demo did not report ready:\n%s", out)
	}

	const meta, metaPw = "dbuser_meta", "DBUser.Meta"
	const view, viewPw = "dbuser_view", "DBUser.Viewer"
	const dba, dbaPw = "dbuser_dba", "DBUser.DBA"

	t.Run("access", func(t *testing.T) {
		// DDL as dbrole_admin, Pigsty's way: the default privileges are set
		// for that role, so what it creates is readable by dbrole_readonly.
		if err := exec1(ctx, meta, metaPw, 5433, "meta",
			"SET ROLE dbrole_admin; CREATE TABLE IF NOT EXISTS t_demo(id int, via text); RESET ROLE"); err != nil {
			t.Fatalf("dbuser_meta CREATE via 5433: %v", err)
		}
		if err := exec1(ctx, meta, metaPw, 5433, "meta", "CREATE TABLE t_own(id int); DROP TABLE t_own"); err != nil {
			t.Fatalf("dbuser_meta cannot CREATE in meta: %v", err)
		}
		for _, port := range []int{5433, 6432} {
			if err := exec1(ctx, meta, metaPw, port, "meta", fmt.Sprintf("INSERT INTO t_demo VALUES (1, '%d')", port)); err != nil {
				t.Errorf("dbuser_meta writes via %d: %v", port, err)
			}
		}
		c, err := connect(ctx, meta, metaPw, 5434, "meta")
		if err != nil {
			t.Fatalf("dbuser_meta reads via 5434: %v", err)
		}
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM t_demo").Scan(&n); err != nil || n < 2 {
			t.Errorf("read via 5434: %d rows, %v", n, err)
		}
		c.Close(ctx)
		for _, port := range []int{5436, 5432} {
			if err := exec1(ctx, dba, dbaPw, port, "meta", "SELECT 1", "sslmode=require"); err != nil {
				t.Errorf("dbuser_dba via %d: %v", port, err)
			}
		}
		if err := exec1(ctx, view, viewPw, 5433, "meta", "SELECT count(*) FROM t_demo"); err != nil {
			t.Errorf("dbuser_view SELECT: %v", err)
		}
		if err := exec1(ctx, view, viewPw, 5433, "meta", "INSERT INTO t_demo VALUES (2, 'view')"); sqlState(err) != "42501" {
			t.Errorf("dbuser_view INSERT: want permission denied (42501), got %v", err)
		}
		err = exec1(ctx, view, viewPw, 5432, "postgres", "SELECT 1", "sslmode=disable")
		if err == nil || !strings.Contains(err.Error(), "pg_hba.conf rejects connection") {
			t.Errorf("dbuser_view to postgres: want refused by pg_hba, got %v", err)
		}
		if err := exec1(ctx, view, viewPw, 5432, "meta", "SELECT 1", "sslmode=disable"); err != nil {
			t.Errorf("dbuser_view to meta: %v", err)
		}
		pgb, err := connect(ctx, dba, dbaPw, 6432, "pgbouncer", "default_query_exec_mode=simple_protocol")
		if err != nil {
			t.Fatalf("pgbouncer console: %v", err)
		}
		rows, err := pgb.Query(ctx, "SHOW POOLS")
		if err != nil {
			t.Fatalf("SHOW POOLS: %v", err)
		}
		var pools []string
		for rows.Next() {
			v, _ := rows.Values()
			pools = append(pools, fmt.Sprint(v[0]))
		}
		rows.Close()
		pgb.Close(ctx)
		if !strings.Contains(strings.Join(pools, " "), "meta") {
			t.Errorf("SHOW POOLS lists %v, no meta", pools)
		}
		if err := exec1(ctx, "dbuser_monitor", "DBUser.Monitor", 5432, "meta", "SELECT * FROM monitor.pg_session"); err != nil {
			t.Errorf("monitor.pg_session: %v", err)
		}
	})

	write := func() error { return exec1(ctx, meta, metaPw, 5433, "meta", "INSERT INTO t_demo VALUES (3, 'heal')") }
	for _, name := range []string{"patroni", "pgbouncer", "haproxy"} {
		t.Run("kill -9 "+name, func(t *testing.T) {
			pids := h.procs()[name]
			if len(pids) == 0 {
				t.Fatalf("no %s running: %v", name, h.procs())
			}
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			took := waitFor(t, 30*time.Second, name+" back and writes through 5433", func() error {
				now := h.procs()[name]
				if len(now) == 0 || now[0] == pids[0] {
					return fmt.Errorf("%s not restarted", name)
				}
				return write()
			})
			t.Logf("%s healed in %s", name, took.Round(10*time.Millisecond))
		})
	}

	t.Run("kill -9 agent", func(t *testing.T) {
		// the children the previous subtests killed are back and serving
		waitFor(t, 30*time.Second, "writes through 5433 settle", func() error {
			for range 3 {
				if err := write(); err != nil {
					return err
				}
			}
			return nil
		})
		before := h.procs()
		for _, pid := range before["agent"] {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		waitFor(t, 10*time.Second, "agent gone", func() error {
			if len(h.procs()["agent"]) > 0 {
				return errors.New("agent alive")
			}
			return nil
		})
		for i := 0; i < 10; i++ {
			if err := write(); err != nil {
				t.Fatalf("write through 5433 without the agent: %v", err)
			}
		}
		// a restarted agent adopts: the same children, no duplicates
		out := h.must("demo", "-i", "127.0.0.1", "--timeout", "2m")
		after := h.procs()
		for _, name := range []string{"etcd", "patroni", "pgbouncer", "haproxy"} {
			if fmt.Sprint(after[name]) != fmt.Sprint(before[name]) {
				t.Errorf("%s: pids %v before, %v after the agent restart\n%s", name, before[name], after[name], out)
			}
		}
		if n := len(after["agent"]); n != 1 {
			t.Errorf("%d agents", n)
		}
	})

	t.Run("demo again is a no-op", func(t *testing.T) {
		before := h.procs()
		out := h.must("demo", "-i", "127.0.0.1", "--timeout", "2m")
		for _, want := range []string{"using", "nothing to install", "runs already", "desired state unchanged", "==> ready"} {
			if !strings.Contains(out, want) {
				t.Errorf("second demo does not say %q:\n%s", want, out)
			}
		}
		// pgbackrest comes and goes with WAL archiving and backups.
		after := h.procs()
		for _, name := range []string{"agent", "etcd", "patroni", "postgres", "pgbouncer", "haproxy"} {
			if fmt.Sprint(after[name]) != fmt.Sprint(before[name]) {
				t.Errorf("%s changed: %v → %v", name, before[name], after[name])
			}
		}
	})

	t.Run("a new service reloads haproxy without dropping connections", func(t *testing.T) {
		held, err := connect(ctx, meta, metaPw, 5433, "meta")
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close(ctx)
		before := h.procs()["haproxy"]
		master := haproxyMaster(before)
		text, _ := os.ReadFile(inv)
		const anchor = "        pg_crontab:\n"
		text = []byte(strings.Replace(string(text), anchor,
			"        pg_services: [ { name: standby ,port: 5435 ,selector: \"[]\" ,backup: \"[? pg_role == `primary`]\" ,dest: default ,check: /sync } ]\n"+anchor, 1))
		if err := os.WriteFile(inv, text, 0o600); err != nil {
			t.Fatal(err)
		}
		out := h.must("demo", "-i", "127.0.0.1", "--timeout", "2m")
		if !strings.Contains(out, "desired state changed") {
			t.Errorf("demo did not store the change:\n%s", out)
		}
		waitFor(t, 20*time.Second, "service file of pg-meta-standby", func() error {
			_, err := os.Stat(filepath.Join(h.root, "etc/haproxy/conf.d/pg-meta-standby.cfg"))
			return err
		})
		waitFor(t, 20*time.Second, "port 5435 listening", func() error {
			c, err := net.DialTimeout("tcp", "127.0.0.1:5435", time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		if after := h.procs()["haproxy"]; master == 0 || haproxyMaster(after) != master {
			t.Errorf("haproxy master restarted (%v → %v), not reloaded", before, after)
		}
		var one int
		if err := held.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
			t.Errorf("a connection through 5433 did not survive the reload: %v", err)
		}
	})

	t.Run("auth changes and an etcd restart keep the leader", func(t *testing.T) {
		// A password set again retires the user's tokens: Patroni's lease
		// keepalive then fails in etcd 3.6's error shape, which Patroni 4.0
		// alone does not take for an invalid token. It must authenticate
		// again and keep its lock, not demote for good; likewise across
		// another user's creation and an etcd restart.
		root := etcd.Access{Endpoints: []string{"https://127.0.0.1:2379"}, CAFile: filepath.Join(h.root, "var/lib/pigsty/pki/ca.crt"), Username: "root", Password: "Etcd.Root"}
		if err := etcd.EnsureUser(ctx, root, etcd.Grant{User: "pg-other", Password: "pg-other", Prefixes: []string{"/pg/pg-other/"}}); err != nil {
			t.Fatal(err)
		}
		cli, err := root.Client(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Often enough that Patroni's next keepalive meets a retired token
		// whatever its other calls do first.
		for end := time.Now().Add(25 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
			if _, err := cli.UserChangePassword(ctx, "pg-meta", "pg-meta"); err != nil {
				cli.Close()
				t.Fatal(err)
			}
		}
		cli.Close()
		for _, pid := range h.procs()["etcd"] {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		// two loop_waits and then some: long enough for a leader that
		// cannot renew its lock to give up
		time.Sleep(25 * time.Second)
		waitFor(t, 30*time.Second, "pg-meta-1 leads and writes pass through 5433", func() error {
			if err := write(); err != nil {
				return err
			}
			code, err := patroniCheck(ctx, "/primary")
			if err != nil || code != 200 {
				return fmt.Errorf("/primary: %d %v", code, err)
			}
			return nil
		})
		log, _ := os.ReadFile(filepath.Join(h.root, "pg/log/patroni/patroni.log"))
		if strings.Contains(string(log), "demoted self") {
			t.Errorf("the leader demoted itself:\n%s", tail(string(log), 40))
		}
	})

	t.Run("status", func(t *testing.T) {
		out := h.must("status")
		for _, want := range []string{"pg-meta-1", "leader", "running", "patroni:ok", "pgbouncer:ok", "haproxy:ok", "yes (rev"} {
			if !strings.Contains(out, want) {
				t.Errorf("status lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("stop", func(t *testing.T) {
		h.must("stop")
		if left := h.procs(); len(left) > 0 {
			t.Fatalf("left running after stop: %v", left)
		}
	})
}

// haproxyMaster is the process of pids whose parent is not one of them.
func haproxyMaster(pids []int) int {
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		var state string
		var ppid int
		fmt.Sscan(string(stat[i+1:]), &state, &ppid)
		if !slices.Contains(pids, ppid) {
			return pid
		}
	}
	return 0
}

// patroniCheck asks the demo's Patroni for the status of a health endpoint.
func patroniCheck(ctx context.Context, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:8008"+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
