package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"

	"pigsty/internal/testkit"
)

// promtool's lint findings on names kept for Pigsty's dashboards and
// rules: node_exporter's camelCase families and pg_exporter's maxwait_us.
var keptNames = map[string]string{
	`^node_(memory|netstat)_\w+ metric names should be written in 'snake_case' not 'camelCase'$`: "node_exporter's names",
	`^pgbouncer_pool_maxwait_us metric names should not contain abbreviated units$`:              "pg_exporter's name",
}

// scrapeExporter fetches an exporter of the demo host.
func scrapeExporter(t *testing.T, port int) (testkit.Metrics, string, time.Duration) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
	if err != nil {
		t.Fatalf("scrape :%d: %v", port, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape :%d: %s %v", port, resp.Status, err)
	}
	m, err := testkit.ParseMetrics(string(body))
	if err != nil {
		t.Fatalf("scrape :%d: %v", port, err)
	}
	return m, string(body), took
}

// labelSet is the sorted label names of a metric's first sample.
func labelSet(t *testing.T, m testkit.Metrics, name string) string {
	t.Helper()
	found := m.Find(name, nil)
	if len(found) == 0 {
		t.Errorf("no %s", name)
		return ""
	}
	var names []string
	for k := range found[0].Labels {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func lint(t *testing.T, what, text string) {
	t.Helper()
	if problems := testkit.Promtool(t, text, keptNames); len(problems) > 0 {
		t.Errorf("promtool check metrics on the %s exporter:\n%s", what, strings.Join(problems, "\n"))
	}
}

// TestExporters brings up the demo and scrapes the three exporters the
// agent runs: names, label sets and values against SQL and the kernel at
// the same time, Prometheus' linter on each, and the collector
// configuration replaced on disk and restored.
func TestExporters(t *testing.T) {
	h := newHost(t)
	ctx := context.Background()
	h.must("demo", "-i", "127.0.0.1", "--timeout", "2m")
	waitFor(t, 30*time.Second, "pg_up 1 on 9630", func() error {
		if m, _, _ := scrapeExporter(t, 9630); m.One(t, "pg_up", nil) != 1 {
			return fmt.Errorf("pg_up 0")
		}
		return nil
	})
	const meta, metaPw = "dbuser_meta", "DBUser.Meta"
	const dba, dbaPw = "dbuser_dba", "DBUser.DBA"

	t.Run("pg", func(t *testing.T) {
		var held []*pgx.Conn
		for i := 0; i < 3; i++ {
			c, err := connect(ctx, meta, metaPw, 5432, "meta", "sslmode=disable")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			held = append(held, c)
		}
		admin, err := connect(ctx, dba, dbaPw, 5432, "postgres", "sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		if _, err := held[0].Exec(ctx, "SET ROLE dbrole_admin; CREATE TABLE IF NOT EXISTS t_exporters(id int); RESET ROLE"); err != nil {
			t.Fatal(err)
		}
		// values are cached for their collector's TTL (10 s for pg_db):
		// the scrape catches up with SQL within one
		var m testkit.Metrics
		var text string
		waitFor(t, 30*time.Second, "pg_db_numbackends as SQL counts", func() error {
			m, text, _ = scrapeExporter(t, 9630)
			for _, db := range []string{"postgres", "meta"} {
				var n float64
				admin.QueryRow(ctx, "SELECT numbackends FROM pg_stat_database WHERE datname = $1", db).Scan(&n)
				if got := m.Find("pg_db_numbackends", map[string]string{"datname": db}); len(got) != 1 || got[0].Value != n {
					return fmt.Errorf("pg_db_numbackends{datname=%q} %v, SQL says %v", db, got, n)
				}
			}
			if len(m.Find("pg_table_n_live_tup", map[string]string{"datname": "meta", "relname": "public.t_exporters"})) != 1 {
				return fmt.Errorf("no pg_table_n_live_tup of meta's t_exporters")
			}
			return nil
		})
		if got := m.One(t, "pg_db_numbackends", map[string]string{"datname": "meta"}); got < 4 {
			t.Errorf("pg_db_numbackends{datname=meta} %v: the test holds 3 sessions and the exporter one", got)
		}
		var version float64
		admin.QueryRow(ctx, "SELECT current_setting('server_version_num')::float8").Scan(&version)
		if got := m.One(t, "pg_version", nil); got != version {
			t.Errorf("pg_version %v, want %v", got, version)
		}
		if got := m.One(t, "pg_in_recovery", nil); got != 0 {
			t.Errorf("pg_in_recovery %v on the primary", got)
		}
		var maxConn float64
		admin.QueryRow(ctx, "SELECT setting::float8 FROM pg_settings WHERE name = 'max_connections'").Scan(&maxConn)
		if got := m.One(t, "pg_setting_max_connections", nil); got != maxConn {
			t.Errorf("pg_setting_max_connections %v, SQL %v", got, maxConn)
		}
		for name, want := range map[string]string{
			"pg_up": "", "pg_db_numbackends": "datname", "pg_activity_count": "datname,state",
			"pg_lock_count": "datname,mode", "pg_setting_max_connections": "", "pg_downstream_count": "state",
			"pg_table_n_live_tup": "datname,relname", "pg_exporter_query_scrape_total_count": "datname,query",
		} {
			if got := labelSet(t, m, name); got != want {
				t.Errorf("%s labels {%s}, want {%s}", name, got, want)
			}
		}
		// families the rules read, and one of each kind of collector
		have := m.Names()
		for _, name := range []string{"pg_uptime", "pg_db_age", "pg_db_conn_limit", "pg_db_active_time", "pg_meta_info",
			"pg_size_bytes", "pg_wal_bytes", "pg_bgwriter_buffers_clean", "pg_checkpointer_timed", "pg_xact_xmin",
			"pg_wait_count", "pg_backend_count", "pg_archiver_finish_count", "pg_exporter_scrape_duration"} {
			if have[name] == 0 {
				t.Errorf("no %s", name)
			}
		}
		for name := range have {
			if !strings.HasPrefix(name, "pg_") {
				t.Errorf("%s on the pg exporter", name)
			}
		}
		lint(t, "pg", text)
	})

	t.Run("pgbouncer", func(t *testing.T) {
		// a client holding a transaction through the pool
		client, err := connect(ctx, meta, metaPw, 6432, "meta", "sslmode=disable", "default_query_exec_mode=simple_protocol")
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close(ctx)
		if _, err := client.Exec(ctx, "BEGIN; SELECT 1"); err != nil {
			t.Fatal(err)
		}
		defer client.Exec(ctx, "ROLLBACK")
		console, err := connect(ctx, dba, dbaPw, 6432, "pgbouncer", "sslmode=disable", "default_query_exec_mode=simple_protocol")
		if err != nil {
			t.Fatal(err)
		}
		defer console.Close(ctx)
		columns := map[string]string{"cl_active": "active_clients", "cl_waiting": "waiting_clients",
			"sv_active": "active_servers", "sv_idle": "idle_servers", "sv_used": "used_servers"}
		var m testkit.Metrics
		var text string
		waitFor(t, 30*time.Second, "pgbouncer_pool_* as SHOW POOLS says", func() error {
			m, text, _ = scrapeExporter(t, 9631)
			rows, err := console.Query(ctx, "SHOW POOLS")
			if err != nil {
				return err
			}
			defer rows.Close()
			pools := 0
			for rows.Next() {
				v, _ := rows.Values()
				pool := map[string]string{}
				for i, f := range rows.FieldDescriptions() {
					pool[f.Name] = fmt.Sprint(v[i])
				}
				if pool["database"] != "meta" {
					continue
				}
				pools++
				ls := map[string]string{"datname": "meta", "user": pool["user"]}
				for col, metric := range columns {
					got := m.Find("pgbouncer_pool_"+metric, ls)
					if len(got) != 1 || strconv.FormatFloat(got[0].Value, 'f', -1, 64) != pool[col] {
						return fmt.Errorf("pgbouncer_pool_%s%v %v, SHOW POOLS %s %s", metric, ls, got, col, pool[col])
					}
				}
			}
			if pools == 0 {
				return fmt.Errorf("SHOW POOLS has no meta pool")
			}
			return nil
		})
		if got := m.One(t, "pgbouncer_pool_active_clients", map[string]string{"datname": "meta", "user": meta}); got < 1 {
			t.Errorf("the client in a transaction is not an active client: %v", got)
		}
		if got := m.One(t, "pgbouncer_up", nil); got != 1 {
			t.Errorf("pgbouncer_up %v", got)
		}
		for name, want := range map[string]string{
			"pgbouncer_pool_active_clients": "datname,pool_mode,user", "pgbouncer_list_items": "list",
			"pgbouncer_stat_total_query_count": "datname", "pgbouncer_database_pool_size": "datname,host,port,real_datname",
		} {
			if got := labelSet(t, m, name); got != want && !(name == "pgbouncer_database_pool_size" && got == "datname,port,real_datname") {
				t.Errorf("%s labels {%s}, want {%s}", name, got, want)
			}
		}
		lint(t, "pgbouncer", text)
	})

	t.Run("node", func(t *testing.T) {
		m, text, _ := scrapeExporter(t, 9100)
		var st unix.Statfs_t
		if err := unix.Statfs("/", &st); err != nil {
			t.Fatal(err)
		}
		root := map[string]string{"mountpoint": "/"}
		if got := m.One(t, "node_filesystem_size_bytes", root); got != float64(st.Blocks)*float64(st.Bsize) {
			t.Errorf("node_filesystem_size_bytes of / %v, statfs %v", got, float64(st.Blocks)*float64(st.Bsize))
		}
		if got := m.One(t, "node_filesystem_avail_bytes", root); got <= 0 || got > float64(st.Blocks)*float64(st.Bsize) {
			t.Errorf("node_filesystem_avail_bytes of / %v", got)
		}
		meminfo, _ := os.ReadFile("/proc/meminfo")
		var total float64
		fmt.Sscanf(strings.SplitN(string(meminfo), "\n", 2)[0], "MemTotal: %f kB", &total)
		if got := m.One(t, "node_memory_MemTotal_bytes", nil); got != total*1024 {
			t.Errorf("node_memory_MemTotal_bytes %v, /proc/meminfo %v kB", got, total)
		}
		if got := m.One(t, "node_time_seconds", nil); got < float64(time.Now().Unix()-5) || got > float64(time.Now().Unix()+5) {
			t.Errorf("node_time_seconds %v, now %d", got, time.Now().Unix())
		}
		if m.One(t, "node_load1", nil) < 0 || len(m.Find("node_network_receive_bytes_total", map[string]string{"device": "lo"})) != 1 {
			t.Error("load or loopback traffic")
		}
		for name, want := range map[string]string{"node_cpu_seconds_total": "cpu,mode", "node_filesystem_avail_bytes": "device,fstype,mountpoint",
			"node_network_receive_bytes_total": "device", "node_memory_MemAvailable_bytes": ""} {
			if got := labelSet(t, m, name); got != want {
				t.Errorf("%s labels {%s}, want {%s}", name, got, want)
			}
		}
		for _, s := range m.Find("node_scrape_collector_success", nil) {
			if s.Value != 1 {
				t.Errorf("node collector %s failed", s.Labels["collector"])
			}
		}
		t.Logf("agent RSS (process_resident_memory_bytes): %.1f MiB", m.One(t, "process_resident_memory_bytes", nil)/(1<<20))
		lint(t, "node", text)
	})

	t.Run("identity labels", func(t *testing.T) {
		// cls, ins and ip are the store's target labels, not the exporters'
		for _, port := range []int{9630, 9631, 9100} {
			m, _, _ := scrapeExporter(t, port)
			for _, s := range m {
				for _, l := range []string{"cls", "ins", "ip", "job", "instance"} {
					if _, ok := s.Labels[l]; ok {
						t.Fatalf(":%d: %s has %s", port, s.Name, l)
					}
				}
			}
		}
	})

	t.Run("scrape figures", func(t *testing.T) {
		for _, port := range []int{9630, 9631, 9100} {
			var took []time.Duration
			var series int
			for i := 0; i < 5; i++ {
				m, _, d := scrapeExporter(t, port)
				took, series = append(took, d), len(m)
			}
			sort.Slice(took, func(a, b int) bool { return took[a] < took[b] })
			t.Logf(":%d: %d series, scrape median %s (max %s, TTL cache on)", port, series,
				took[len(took)/2].Round(100*time.Microsecond), took[len(took)-1].Round(100*time.Microsecond))
		}
	})

	t.Run("config on disk", func(t *testing.T) {
		path := filepath.Join(h.root, "etc/pg_exporter.yml")
		custom := `pg_custom:
  name: pg_custom
  query: SELECT 42 AS answer
  tags: [ cluster ]
  metrics:
    - answer: { usage: GAUGE ,description: the answer }
`
		if err := os.WriteFile(path, []byte(custom), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		took := waitFor(t, 40*time.Second, "the pg exporter on /etc/pg_exporter.yml", func() error {
			m, _, _ := scrapeExporter(t, 9630)
			if len(m.Find("pg_custom_answer", nil)) != 1 || len(m.Find("pg_db_numbackends", nil)) != 0 {
				return fmt.Errorf("not yet: %d series", len(m))
			}
			return nil
		})
		t.Logf("the file took effect after %s", took.Round(100*time.Millisecond))
		if m, _, _ := scrapeExporter(t, 9631); m.One(t, "pgbouncer_up", nil) != 1 || len(m.Find("pgbouncer_pool_active_clients", nil)) != 0 {
			t.Error("the pgbouncer exporter does not run the file's configuration, which has no pgbouncer collector")
		}

		// a broken file is reported in the status and changes nothing
		if err := os.WriteFile(path, []byte(strings.Replace(custom, "GAUGE", "GAGUE", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 40*time.Second, "the broken file in the status", func() error {
			var rows []struct {
				Phase string `json:"phase"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(h.must("status", "--json")), &rows); err != nil {
				return err
			}
			for _, r := range rows {
				if r.Phase == "exporters" && strings.Contains(r.Error, path+":6:") && strings.Contains(r.Error, `unknown usage "GAGUE"`) {
					return nil
				}
			}
			return fmt.Errorf("status %+v", rows)
		})
		if m, _, _ := scrapeExporter(t, 9630); len(m.Find("pg_custom_answer", nil)) != 1 {
			t.Error("the broken file replaced the running configuration")
		}

		os.Remove(path)
		waitFor(t, 40*time.Second, "the built-in configuration back", func() error {
			m, _, _ := scrapeExporter(t, 9630)
			if len(m.Find("pg_db_numbackends", nil)) == 0 {
				return fmt.Errorf("not yet")
			}
			return nil
		})
	})
}
