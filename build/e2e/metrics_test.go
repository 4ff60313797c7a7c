package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pigsty/assets"
	"pigsty/internal/testkit"
	"pigsty/monitor/alert"
	"pigsty/monitor/metrics"
)

// hook is the alert webhook of the test.
type hook struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "<status> <alertname> <ins>"
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m alert.Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("webhook: %v", err)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, a := range m.Alerts {
			h.seen = append(h.seen, a.Status+" "+a.Labels["alertname"]+" "+a.Labels["ins"])
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) got(want string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.seen {
		if s == want {
			return nil
		}
	}
	return fmt.Errorf("webhook got %v, not %q", h.seen, want)
}

// query asks the store on this host.
func query(expr string) ([]metrics.Sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return metrics.NewClient("http://127.0.0.1:8428").Query(ctx, expr, time.Now())
}

// alertState is the state of the named alert of an instance in the infra
// API, "inactive" when it has none.
func alertState(name, ins string) (string, error) {
	resp, err := http.Get("http://127.0.0.1:9060/api/v1/alerts")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Alerts []alert.APIAlert `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", err
	}
	for _, a := range body.Data.Alerts {
		if a.Labels["alertname"] == name && a.Labels["ins"] == ins {
			return a.State, nil
		}
	}
	return "inactive", nil
}

func waitAlert(t *testing.T, timeout time.Duration, name, ins, state string) time.Duration {
	t.Helper()
	return waitFor(t, timeout, name+" "+state, func() error {
		got, err := alertState(name, ins)
		if err == nil && got != state {
			err = fmt.Errorf("%s is %s", name, got)
		}
		return err
	})
}

// TestMetrics brings up the demo with a webhook and a remote instance
// declared, then checks the store's series of every job, PostgresDown and
// PgbouncerDown going pending, firing and resolved with the webhook told,
// and monitoring of a PostgreSQL pigsty does not manage.
func TestMetrics(t *testing.T) {
	h := newHost(t)
	hk := newHook(t)
	const rdsPort = 20001
	pgPort := testkit.FreePort(t)

	h.must("configure", "-i", "127.0.0.1")
	invPath := filepath.Join(h.root, "pigsty.yml")
	text, err := os.ReadFile(invPath)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "    infra: { hosts: { 127.0.0.1: { infra_seq: 1 } } }\n"
	if !strings.Contains(string(text), anchor) {
		t.Fatalf("the meta template has no infra group line to extend:\n%s", text)
	}
	text = []byte(strings.Replace(string(text), anchor, fmt.Sprintf(`    infra:
      hosts: { 127.0.0.1: { infra_seq: 1 } }
      vars:
        alert_webhook_url: %s/hook
        pg_exporters:
          %d: { pg_cluster: pg-rds, pg_seq: 1, pg_host: 127.0.0.1, pg_port: %d, pg_monitor_password: Rds.Monitor }
`, hk.URL, rdsPort, pgPort), 1))
	if err := os.WriteFile(invPath, text, 0o600); err != nil {
		t.Fatal(err)
	}
	// Pigsty's pgsql rules, with PostgresDown and PgbouncerDown pending
	// for 10 s instead of a minute and their group evaluated every 2 s: a
	// rule file of the infra host replaces the shipped one of its name.
	shipped, err := fs.ReadFile(assets.Rules, "rules/pgsql.yml")
	if err != nil {
		t.Fatal(err)
	}
	own := strings.Replace(string(shipped), "  - name: pgsql-alert\n", "  - name: pgsql-alert\n    interval: 2s\n", 1)
	for _, name := range []string{"PostgresDown", "PgbouncerDown"} {
		i := strings.Index(own, "alert: "+name+"\n")
		j := i + strings.Index(own[i:], "for: 1m")
		own = own[:j] + "for: 10s" + own[j+len("for: 1m"):]
	}
	rules := filepath.Join(h.root, "data/infra/rules")
	if err := os.MkdirAll(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rules, "pgsql.yml"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	out := h.must("demo", "-i", "127.0.0.1", "--timeout", "2m")
	if !strings.Contains(out, "==> ready") {
		t.Fatalf("demo did not report ready:\n%s", out)
	}
	ready := time.Now()
	t.Logf("demo ready in %s", ready.Sub(start).Round(100*time.Millisecond))

	t.Run("series of every job", func(t *testing.T) {
		took := waitFor(t, 60*time.Second, `pg_up{cls="pg-meta"} = 1`, func() error {
			res, err := query(`pg_up{cls="pg-meta"}`)
			if err == nil && (len(res) != 1 || res[0].Value != 1) {
				err = fmt.Errorf("pg_up: %v", res)
			}
			return err
		})
		t.Logf("pg_up visible %s after the demo was ready", took.Round(100*time.Millisecond))
		// A family each target exports, by job and port: every exporter's
		// series carry cls, ins and ip.
		for _, c := range []struct{ job, instance, metric string }{
			{"pgsql", "127.0.0.1:9630", "pg_up"},
			{"pgsql", "127.0.0.1:9631", "pgbouncer_up"},
			{"pgsql", "127.0.0.1:8008", "patroni_postgres_running"},
			{"node", "127.0.0.1:9100", "node_load1"},
			{"node", "127.0.0.1:9101", "haproxy_process_start_time_seconds"},
			{"etcd", "127.0.0.1:2379", "etcd_server_has_leader"},
			{"infra", "127.0.0.1:8428", "vm_rows"},
		} {
			expr := fmt.Sprintf(`%s{job=%q,instance=%q}`, c.metric, c.job, c.instance)
			waitFor(t, 30*time.Second, expr, func() error {
				res, err := query(expr)
				if err != nil {
					return err
				}
				if len(res) == 0 {
					return fmt.Errorf("no series")
				}
				for _, s := range res {
					if s.Labels["cls"] == "" || s.Labels["ins"] == "" || s.Labels["ip"] != "127.0.0.1" {
						return fmt.Errorf("series without cls/ins/ip: %v", s.Labels)
					}
				}
				return nil
			})
		}
		// No scraped series (they have an instance) lacks the identity
		// labels; cluster-level recordings have no ins, as Pigsty's.
		res, err := query(`count({instance!="", ins=""} or {instance!="", cls=""} or {instance!="", ip=""})`)
		if err != nil || len(res) != 0 {
			t.Errorf("series without cls, ins or ip: %v %v", res, err)
		}
		// The recording rules the alerts read are written back.
		waitFor(t, 60*time.Second, "recorded pg:db:age and patroni_up", func() error {
			for _, name := range []string{`pg:db:age{cls="pg-meta"}`, `patroni_up{ins="pg-meta-1"}`, `node:ins:cpu_usage{ins="pg-meta-1"}`} {
				if res, err := query(name); err != nil || len(res) == 0 {
					return fmt.Errorf("%s: %v %v", name, res, err)
				}
			}
			return nil
		})
		t0 := time.Now()
		for i := 0; i < 20; i++ {
			if _, err := query(`sum by (job) (up)`); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("query latency: %s per query of sum by (job) (up)", (time.Since(t0) / 20).Round(100*time.Microsecond))
		pid := metricsPid(h)
		t.Logf("metrics store (pid %d): %s", pid, rss(pid))
		for _, pid := range h.procs()["agent"] {
			t.Logf("infra agent (pid %d): %s", pid, rss(pid))
		}
	})

	t.Run("PostgresDown pending, firing, resolved", func(t *testing.T) {
		// Patroni in maintenance mode leaves a stopped postgres stopped.
		h.must("pg", "pause", "pg-meta")
		pidFile := filepath.Join(h.root, "pg/data/postmaster.pid")
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
		if err != nil {
			t.Fatal(err)
		}
		stopped := time.Now()
		if err := syscall.Kill(pid, syscall.SIGINT); err != nil { // fast shutdown
			t.Fatal(err)
		}
		pending := waitAlert(t, 60*time.Second, "PostgresDown", "pg-meta-1", "pending")
		firing := waitAlert(t, 60*time.Second, "PostgresDown", "pg-meta-1", "firing")
		waitFor(t, 20*time.Second, "firing posted", func() error { return hk.got("firing PostgresDown pg-meta-1") })
		t.Logf("PostgresDown pending %s after postgres stopped, firing %s later (for: 10s)", pending.Round(100*time.Millisecond), firing.Round(100*time.Millisecond))
		if firing < 8*time.Second {
			t.Errorf("fired %s after pending, before its 10 s", firing)
		}
		ls := h.must("alert", "ls")
		if !strings.Contains(ls, "PostgresDown") || !strings.Contains(ls, "firing") {
			t.Errorf("alert ls:\n%s", ls)
		}
		t.Logf("alert ls while postgres is down (%s):\n%s", time.Since(stopped).Round(time.Second), ls)
		h.must("pg", "resume", "pg-meta")
		resolved := waitAlert(t, 90*time.Second, "PostgresDown", "pg-meta-1", "inactive")
		waitFor(t, 20*time.Second, "resolved posted", func() error { return hk.got("resolved PostgresDown pg-meta-1") })
		t.Logf("resolved %s after resume", resolved.Round(100*time.Millisecond))
	})

	t.Run("PgbouncerDown firing and resolved", func(t *testing.T) {
		// A stopped (not killed) pgbouncer is not restarted: its exporter
		// reaches it no more and reports pgbouncer_up 0.
		pids := h.procs()["pgbouncer"]
		if len(pids) == 0 {
			t.Fatal("no pgbouncer")
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGSTOP)
		}
		defer func() {
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGCONT)
			}
		}()
		pending := waitAlert(t, 60*time.Second, "PgbouncerDown", "pg-meta-1", "pending")
		firing := waitAlert(t, 60*time.Second, "PgbouncerDown", "pg-meta-1", "firing")
		waitFor(t, 20*time.Second, "firing posted", func() error { return hk.got("firing PgbouncerDown pg-meta-1") })
		if firing < 8*time.Second || firing > 10*time.Second+2*time.Second+3*time.Second {
			t.Errorf("fired %s after pending: want its for (10 s) plus at most an evaluation interval (2 s)", firing)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGCONT)
		}
		resolved := waitAlert(t, 60*time.Second, "PgbouncerDown", "pg-meta-1", "inactive")
		waitFor(t, 20*time.Second, "resolved posted", func() error { return hk.got("resolved PgbouncerDown pg-meta-1") })
		t.Logf("PgbouncerDown pending %s after pgbouncer stopped, firing %s later, resolved %s after it went on", pending.Round(100*time.Millisecond),
			firing.Round(100*time.Millisecond), resolved.Round(100*time.Millisecond))
	})

	t.Run("remote instance: mon add, mon rm", func(t *testing.T) {
		startRemote(t, pgPort)
		out := h.must("mon", "add", "pg-rds")
		if !strings.Contains(out, "pg-rds-1: scraped, pg_up 1") {
			t.Errorf("mon add:\n%s", out)
		}
		for _, name := range []string{`pg_up{job="pgrds",ins="pg-rds-1",cls="pg-rds",ip="127.0.0.1"}`, `pg_db_numbackends{job="pgrds",ins="pg-rds-1"}`} {
			waitFor(t, 30*time.Second, name, func() error {
				res, err := query(name)
				if err == nil && len(res) == 0 {
					err = fmt.Errorf("no series")
				}
				return err
			})
		}
		ls := h.must("mon", "ls")
		if !strings.Contains(ls, "pg-rds-1") || !strings.Contains(ls, "true") {
			t.Errorf("mon ls:\n%s", ls)
		}
		out = h.must("mon", "rm", "pg-rds-1")
		if !strings.Contains(out, "pg-rds-1: target gone from the store") {
			t.Errorf("mon rm:\n%s", out)
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", rdsPort), time.Second); err == nil {
			c.Close()
			t.Errorf("the exporter still listens on %d", rdsPort)
		}
		if _, err := h.run("mon", "add", "pg-nowhere"); err == nil {
			t.Error("mon add of an undeclared instance succeeded")
		}
	})
}

// startRemote runs a plain PostgreSQL on port, as the dbsu, with the
// monitor user of the test's pg_exporters entry; it stops when the test
// ends.
func startRemote(t *testing.T, port int) {
	t.Helper()
	cred := testkit.PostgresCredential(t)
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		t.Fatal("no PostgreSQL server binary")
	}
	bin := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "pigsty-remote-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(bin+"/initdb", "-D", data, "-A", "trust", "-U", "postgres")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	testkit.Start(t, cred, bin+"/postgres", []string{"-D", data, "-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"},
		"database system is ready to accept connections")
	ctx := context.Background()
	for _, sql := range []string{"CREATE USER dbuser_monitor PASSWORD 'Rds.Monitor' IN ROLE pg_monitor", "CREATE DATABASE app"} {
		if err := exec1(ctx, "postgres", "", port, "postgres", sql); err != nil {
			t.Fatal(err)
		}
	}
}

func rss(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			return "RSS " + strings.Join(strings.Fields(strings.TrimPrefix(line, "VmRSS:")), " ")
		}
	}
	return "?"
}
