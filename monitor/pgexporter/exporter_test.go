package pgexporter

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"pigsty/internal/testkit"
	"pigsty/monitor/collector"
)

// lint findings promtool reports on names kept for Pigsty's dashboards
// and rules
var keptNames = map[string]string{
	`^pgbouncer_pool_maxwait_us metric names should not contain abbreviated units$`: "pg_exporter's name for the microsecond part of maxwait",
}

// TestPrimaryReplica monitors a primary with a streaming replica, each
// with the shipped configuration as Pigsty runs it (auto-discovery, the
// default exclusions), and checks the values against SQL run at the
// same time.
func TestPrimaryReplica(t *testing.T) {
	p := startPrimary(t)
	r := p.startReplica(t, "pg-test-2")
	cfg := builtinConfig(t)
	ctx := context.Background()
	newExporter := func(s *pgServer, noCache bool) *Exporter {
		e, err := New(Options{URL: s.url("postgres"), Config: cfg, ConnectTimeout: 200 * time.Millisecond, AutoDiscovery: true,
			ExcludeDatabases: DefaultExcludeDatabases, DisableCache: noCache, Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
	// values are compared on an exporter without cache: with it, a value
	// may be as old as its collector's TTL
	pe, re, fresh := newExporter(p, false), newExporter(r, false), newExporter(p, true)

	t.Run("primary", func(t *testing.T) {
		// three sessions of the business user on meta, one idle in a transaction
		var held []*pgx.Conn
		for i := 0; i < 3; i++ {
			c, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=dbuser_meta password=DBUser.Meta dbname=meta", p.dir, p.port))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			held = append(held, c)
		}
		for i := 0; i < 5; i++ { // for pg_stat_statements, which keeps statements run more than 4 times
			if _, err := held[1].Exec(ctx, "SELECT count(*) FROM t_meta WHERE id > 10"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := held[0].Exec(ctx, "BEGIN; SELECT count(*) FROM t_meta"); err != nil {
			t.Fatal(err)
		}
		// numbackends is live in pg_stat_database; autovacuum comes and
		// goes, so the scrape and SQL run right after it must agree once
		admin := p.conn(t, "template1")
		var m testkit.Metrics
		var text string
		waitUntil(t, 15*time.Second, "pg_db_numbackends as SQL counts", func() error {
			m, text = scrape(t, fresh)
			for _, db := range []string{"postgres", "meta"} {
				var n float64
				admin.QueryRow(ctx, "SELECT numbackends FROM pg_stat_database WHERE datname = $1", db).Scan(&n)
				if got := m.One(t, "pg_db_numbackends", map[string]string{"datname": db}); got != n {
					return fmt.Errorf("pg_db_numbackends{datname=%q} %v, SQL says %v", db, got, n)
				}
			}
			return nil
		})
		if got := m.One(t, "pg_db_numbackends", map[string]string{"datname": "meta"}); got < 4 {
			t.Errorf("pg_db_numbackends{datname=meta} %v: 3 sessions and the exporter's are on meta", got)
		}
		if got := m.One(t, "pg_up", nil); got != 1 {
			t.Errorf("pg_up %v", got)
		}
		if got := m.One(t, "pg_in_recovery", nil); got != 0 {
			t.Errorf("pg_in_recovery %v", got)
		}
		var version int
		admin.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version)
		if got := m.One(t, "pg_version", nil); got != float64(version) {
			t.Errorf("pg_version %v, want %d", got, version)
		}
		if got := m.One(t, "pg_activity_count", map[string]string{"datname": "meta", "state": "idle in transaction"}); got != 1 {
			t.Errorf("idle in transaction on meta: %v, want 1", got)
		}
		var maxConn float64
		admin.QueryRow(ctx, "SELECT setting::float8 FROM pg_settings WHERE name = 'max_connections'").Scan(&maxConn)
		if got := m.One(t, "pg_setting_max_connections", nil); got != maxConn {
			t.Errorf("pg_setting_max_connections %v, want %v", got, maxConn)
		}
		var sharedBuffers float64
		admin.QueryRow(ctx, "SELECT pg_size_bytes(current_setting('shared_buffers'))::float8").Scan(&sharedBuffers)
		if got := m.One(t, "pg_setting_shared_buffers", nil); got != sharedBuffers {
			t.Errorf("pg_setting_shared_buffers %v, want %v bytes", got, sharedBuffers)
		}

		// the replica, through its walsender
		var appname, state string
		var replayDiff float64
		admin.QueryRow(ctx, "SELECT application_name, state, pg_current_wal_lsn() - replay_lsn FROM pg_stat_replication").Scan(&appname, &state, &replayDiff)
		if appname != "pg-test-2" || state != "streaming" {
			t.Fatalf("pg_stat_replication: %q %q", appname, state)
		}
		repl := m.Find("pg_repl_state", map[string]string{"appname": "pg-test-2", "usename": "postgres", "address": "localhost"})
		if len(repl) != 1 || repl[0].Value != 0 || repl[0].Labels["pid"] == "" {
			t.Errorf("pg_repl_state: %v, want one series, 0 (streaming)", repl)
		}
		if got := m.One(t, "pg_repl_replay_diff", map[string]string{"appname": "pg-test-2"}); got < 0 || got > 1<<20 {
			t.Errorf("pg_repl_replay_diff %v (SQL now: %v)", got, replayDiff)
		}
		if got := m.One(t, "pg_downstream_count", map[string]string{"state": "streaming"}); got != 1 {
			t.Errorf("pg_downstream_count{state=streaming} %v", got)
		}

		// per database, the discovered meta; postgres is excluded from
		// discovery but is the exporter's own
		var live float64
		p.conn(t, "meta").QueryRow(ctx, "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 't_meta'").Scan(&live)
		if got := m.One(t, "pg_table_n_live_tup", map[string]string{"datname": "meta", "relname": "public.t_meta"}); got != live {
			t.Errorf("pg_table_n_live_tup of t_meta %v, SQL says %v", got, live)
		}
		for _, name := range []string{"pg_index_idx_scan", "pg_seq_last_value", "pg_func_calls", "pg_table_size_bytes"} {
			if len(m.Find(name, map[string]string{"datname": "meta"})) == 0 {
				t.Errorf("no %s{datname=meta}", name)
			}
		}
		if len(m.Find("pg_exporter_server_scrape_duration", map[string]string{"datname": "template1"})) != 0 {
			t.Error("a template was monitored")
		}
		if q := m.Find("pg_query_calls", map[string]string{"datname": "meta"}); len(q) == 0 || q[0].Value < 5 {
			t.Errorf("pg_query_calls{datname=meta}: %v, want the statement dbuser_meta ran 5 times", q)
		}
		if got := m.One(t, "pg_slot_active", map[string]string{"slot_name": "pg_test_2", "slot_type": "physical"}); got != 1 {
			t.Errorf("pg_slot_active of the replica's slot: %v", got)
		}
		checkFamilies(t, m, []string{"pg_meta_info", "pg_setting_max_connections", "pg_size_bytes", "pg_archiver_finish_count",
			"pg_bgwriter_buffers_clean", "pg_checkpointer_timed", "pg_wal_bytes", "pg_wait_count", "pg_backend_count",
			"pg_xact_xmin", "pg_lock_count", "pg_sync_standby_enabled", "pg_db_age", "pg_lsn",
			"pg_exporter_scrape_total_count", "pg_exporter_query_cache_ttl", "pg_exporter_server_scrape_total_count"})
		if problems := testkit.Promtool(t, text, keptNames); len(problems) > 0 {
			t.Errorf("promtool check metrics:\n%s", strings.Join(problems, "\n"))
		}
		if status(t, fresh, "/primary") != 200 || status(t, fresh, "/replica") != 404 || status(t, fresh, "/health") != 200 {
			t.Error("role checks of the primary")
		}
		t.Logf("primary: %d series", len(m))
	})

	t.Run("replica", func(t *testing.T) {
		var m testkit.Metrics
		// pg_stat_wal_receiver shows the walreceiver once it streams
		waitUntil(t, 10*time.Second, "pg_recv on the replica", func() error {
			m, _ = scrape(t, re)
			if len(m.Find("pg_recv_state", nil)) != 1 {
				return fmt.Errorf("pg_recv_state: %v", m.Find("pg_recv_state", nil))
			}
			return nil
		})
		if got := m.One(t, "pg_in_recovery", nil); got != 1 {
			t.Errorf("pg_in_recovery %v", got)
		}
		if got := m.One(t, "pg_is_in_recovery", nil); got != 1 {
			t.Errorf("pg_is_in_recovery %v", got)
		}
		if got := m.Find("pg_recv_state", map[string]string{"sender_host": p.dir}); len(got) != 1 || got[0].Value != 0 {
			t.Errorf("pg_recv_state from %s: %v", p.dir, got)
		}
		if got := m.One(t, "pg_insert_lsn", nil); !math.IsNaN(got) {
			t.Errorf("pg_insert_lsn on a replica: %v, want NaN", got)
		}
		if len(m.Find("pg_db_confl_lock", map[string]string{"datname": "meta"})) != 1 {
			t.Error("no pg_db_confl_lock{datname=meta} on the replica")
		}
		if status(t, re, "/replica") != 200 || status(t, re, "/primary") != 404 {
			t.Error("role checks of the replica")
		}
	})

	t.Run("cache", func(t *testing.T) {
		m, _ := scrape(t, pe)
		hits := m.One(t, "pg_exporter_query_scrape_hit_count", map[string]string{"datname": "postgres", "query": "pg_size"})
		m, _ = scrape(t, pe)
		if again := m.One(t, "pg_exporter_query_scrape_hit_count", map[string]string{"datname": "postgres", "query": "pg_size"}); again != hits+1 {
			t.Errorf("pg_size (ttl 60 s) was not answered from its cache: hits %v then %v", hits, again)
		}
	})

	t.Run("include", func(t *testing.T) {
		e, err := New(Options{URL: p.url("postgres"), Config: cfg, AutoDiscovery: true, IncludeDatabases: []string{"template1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		m, _ := scrape(t, e)
		if len(m.Find("pg_table_n_live_tup", map[string]string{"datname": "meta"})) != 0 {
			t.Error("meta monitored though the include list does not name it")
		}
	})
}

func checkFamilies(t *testing.T, m testkit.Metrics, names []string) {
	t.Helper()
	have := m.Names()
	for _, n := range names {
		if have[n] == 0 {
			t.Errorf("no %s", n)
		}
	}
}

// TestSlowAndDown: a collector stuck on a lock is cut at its timeout while
// the scrape answers the rest at once; a server that is down answers
// pg_up 0 within the connect timeout, and up again when it is back.
func TestSlowAndDown(t *testing.T) {
	p := startPrimary(t)
	ctx := context.Background()
	slow, err := collector.Parse([]collector.File{{Name: "slow.yml", Data: []byte(`
pg_fast:
  name: pg_fast
  query: SELECT 1 AS ok
  tags: [ cluster ]
  metrics: [ ok: { usage: GAUGE } ]
pg_stuck:
  name: pg_stuck
  query: SELECT count(*) AS n FROM t_meta
  timeout: 0.2
  metrics: [ n: { usage: GAUGE } ]
`)}}, collector.DefaultTTLs)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{URL: p.url("meta"), Config: slow, ConnectTimeout: 200 * time.Millisecond, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	locker := p.conn(t, "meta")
	if _, err := locker.Exec(ctx, "BEGIN; LOCK TABLE t_meta IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m, _ := scrape(t, e)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a scrape with a stuck collector took %v", took)
	}
	if m.One(t, "pg_up", nil) != 1 || m.One(t, "pg_fast_ok", nil) != 1 || len(m.Find("pg_stuck_n", nil)) != 0 {
		t.Errorf("with pg_stuck blocked: %v", m)
	}
	if got := m.One(t, "pg_exporter_query_scrape_error_count", map[string]string{"query": "pg_stuck"}); got != 1 {
		t.Errorf("pg_stuck errors %v", got)
	}
	locker.Exec(ctx, "ROLLBACK")
	m, _ = scrape(t, e)
	if got := m.One(t, "pg_stuck_n", map[string]string{"datname": "meta"}); got != 1000 {
		t.Errorf("after the lock, on the same session: pg_stuck_n %v", got)
	}

	p.stop(t)
	start = time.Now()
	m, text := scrape(t, e)
	if took := time.Since(start); took > time.Second {
		t.Errorf("a scrape of a server that is down took %v", took)
	}
	if m.One(t, "pg_up", nil) != 0 || len(m.Find("pg_fast_ok", nil)) != 0 || m.One(t, "pg_exporter_up", nil) != 1 {
		t.Errorf("server down:\n%s", text)
	}
	if status(t, e, "/health") != 503 {
		t.Error("/health answers 200 while the server is down")
	}
	run(t, p.cred, p.dir, "/usr/lib/postgresql/15/bin/pg_ctl", "-D", p.data(), "-l", p.dir+"/postgres.log", "-w", "start")
	waitUntil(t, 10*time.Second, "pg_up back to 1", func() error {
		if m, _ := scrape(t, e); m.One(t, "pg_up", nil) != 1 {
			return fmt.Errorf("pg_up 0")
		}
		return nil
	})
}

// TestPgbouncer monitors pgbouncer's admin console as a stats user and
// checks the pools against SHOW POOLS run at the same time.
func TestPgbouncer(t *testing.T) {
	p := startPrimary(t)
	b := startPgbouncer(t, p)
	ctx := context.Background()
	e, err := New(Options{URL: b.url(), Config: builtinConfig(t), ConnectTimeout: 200 * time.Millisecond, AutoDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Namespace() != "pgbouncer" {
		t.Fatalf("namespace %q", e.Namespace())
	}

	// a client holding a transaction through the pool: one active client,
	// one active server connection
	client, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=dbuser_meta password=DBUser.Meta dbname=meta default_query_exec_mode=simple_protocol", b.dir, b.port))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(ctx)
	if _, err := client.Exec(ctx, "BEGIN; SELECT 1"); err != nil {
		t.Fatal(err)
	}

	m, text := scrape(t, e)
	if got := m.One(t, "pgbouncer_up", nil); got != 1 {
		t.Fatalf("pgbouncer_up %v\n%s", got, text)
	}
	if got := m.One(t, "pgbouncer_version", nil); got < 10800 {
		t.Errorf("pgbouncer_version %v", got)
	}
	rows, err := b.console(t).Query(ctx, "SHOW POOLS")
	if err != nil {
		t.Fatal(err)
	}
	pools := 0
	for rows.Next() {
		v, _ := rows.Values()
		cols := rows.FieldDescriptions()
		pool := map[string]any{}
		for i, c := range cols {
			pool[c.Name] = v[i]
		}
		if pool["database"] != "meta" {
			continue
		}
		pools++
		ls := map[string]string{"datname": "meta", "user": fmt.Sprint(pool["user"])}
		for col, metric := range map[string]string{"cl_active": "active_clients", "cl_waiting": "waiting_clients",
			"sv_active": "active_servers", "sv_idle": "idle_servers"} {
			if got := m.One(t, "pgbouncer_pool_"+metric, ls); fmt.Sprint(got) != fmt.Sprint(pool[col]) {
				t.Errorf("pgbouncer_pool_%s%v %v, SHOW POOLS %s %v", metric, ls, got, col, pool[col])
			}
		}
		if ls["user"] == "dbuser_meta" && m.One(t, "pgbouncer_pool_active_clients", ls) != 1 {
			t.Error("the client holding a transaction is not active")
		}
	}
	rows.Close()
	if pools == 0 {
		t.Fatal("SHOW POOLS lists no meta pool")
	}
	checkFamilies(t, m, []string{"pgbouncer_list_items", "pgbouncer_database_pool_size", "pgbouncer_stat_total_query_count",
		"pgbouncer_exporter_scrape_total_count", "pgbouncer_exporter_query_scrape_total_count"})
	if got := m.One(t, "pgbouncer_database_current_connections", map[string]string{"datname": "meta"}); got != 1 {
		t.Errorf("pgbouncer_database_current_connections{datname=meta} %v", got)
	}
	for name := range m.Names() {
		if !strings.HasPrefix(name, "pgbouncer_") {
			t.Errorf("%s in the pgbouncer exporter's output", name)
		}
	}
	if problems := testkit.Promtool(t, text, keptNames); len(problems) > 0 {
		t.Errorf("promtool check metrics:\n%s", strings.Join(problems, "\n"))
	}
}

func TestURL(t *testing.T) {
	got := URL("/var/run/postgresql", 5432, "dbuser_monitor", "p@ss:w/rd", "postgres", "sslmode=disable")
	want := "postgres://dbuser_monitor:p%40ss%3Aw%2Frd@:5432/postgres?host=%2Fvar%2Frun%2Fpostgresql&sslmode=disable"
	if got != want {
		t.Errorf("URL %s, want %s", got, want)
	}
	cfg, err := pgx.ParseConfig(got)
	if err != nil || cfg.Host != "/var/run/postgresql" || cfg.Port != 5432 || cfg.Password != "p@ss:w/rd" {
		t.Errorf("pgx reads %+v, %v", cfg, err)
	}
	if _, err := New(Options{URL: "postgres://u:secret@[::1", Config: &collector.Config{}}); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("a bad URL: %v", err)
	}
	for in, want := range map[string]int{"PgBouncer 1.18.0": 11800, "PgBouncer 1.24.1 libevent": 12401, "1.8": 10800, "no": 0} {
		if got, _ := PgbouncerVersion(in); got != want {
			t.Errorf("PgbouncerVersion(%q) = %d, want %d", in, got, want)
		}
	}
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
