package pgexporter

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"pigsty/monitor/collector"
	"pigsty/monitor/promtext"
	"pigsty/monitor/runner"
)

// factsTimeout bounds the query that opens every scrape of a server.
const factsTimeout = time.Second

// server is one database the exporter monitors: its connection, kept
// across scrapes, and the cache and statistics of its collectors.
type server struct {
	cfg       *pgx.ConnConfig
	cluster   bool // the exporter's own database: runs the cluster-level branches
	pgbouncer bool // pgbouncer's admin console
	conn      *pgx.Conn
	run       runner.Runner
	facts     collector.Facts
	dbs       []string // databases that accept connections (cluster server only)

	// statistics, for pg_exporter_server_scrape_*
	scrapes, errors int64
	total, last     time.Duration
	lastErr         string
}

func newServer(base *pgx.ConnConfig, database string, cluster, pgbouncer, noCache bool) *server {
	cfg := base.Copy()
	cfg.Database = database
	s := &server{cfg: cfg, cluster: cluster, pgbouncer: pgbouncer}
	s.run.Database, s.run.NoCache = database, noCache
	return s
}

// tune adapts a parsed URL to monitoring: a connect timeout, an
// application name, and queries that a timeout cancels on the server.
// pgbouncer's admin console speaks only the simple query protocol.
func tune(cfg *pgx.ConnConfig, connectTimeout time.Duration, pgbouncer bool) {
	if connectTimeout > 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "pg_exporter"
	}
	if pgbouncer {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		cfg.StatementCacheCapacity, cfg.DescriptionCacheCapacity = 0, 0
	}
	// A query past its timeout is cancelled on the server and the session
	// kept; only a server that ignores the cancel loses the connection.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: time.Second}
	}
}

func (s *server) connect(ctx context.Context) error {
	if s.conn != nil && !s.conn.IsClosed() {
		return nil
	}
	conn, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		return err
	}
	s.conn = conn
	return nil
}

func (s *server) close() {
	if s.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s.conn.Close(ctx)
		s.conn = nil
	}
}

// refresh connects if need be and reads the facts the plan needs.
func (s *server) refresh(ctx context.Context, tags map[string]bool) error {
	if err := s.connect(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, factsTimeout)
	defer cancel()
	f := collector.Facts{Cluster: s.cluster, Pgbouncer: s.pgbouncer, Tags: tags}
	var err error
	if s.pgbouncer {
		f.Database, f.Username = s.cfg.Database, s.cfg.User
		f.Version, err = s.pgbouncerVersion(ctx)
	} else {
		err = s.postgresFacts(ctx, &f)
	}
	if err != nil {
		if s.conn.IsClosed() || ctx.Err() != nil {
			s.close()
		}
		return err
	}
	s.facts = f
	return nil
}

func (s *server) postgresFacts(ctx context.Context, f *collector.Facts) error {
	const q = `SELECT current_setting('server_version_num')::int, pg_is_in_recovery(), current_database(), current_user,
		ARRAY(SELECT extname::text FROM pg_extension), ARRAY(SELECT nspname::text FROM pg_namespace),
		ARRAY(SELECT datname::text FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname)`
	var exts, nsps []string
	if err := s.conn.QueryRow(ctx, q).Scan(&f.Version, &f.Recovery, &f.Database, &f.Username, &exts, &nsps, &s.dbs); err != nil {
		return err
	}
	f.Extensions, f.Schemas = set(exts), set(nsps)
	return nil
}

// pgbouncerVersion reads SHOW VERSION ("PgBouncer 1.18.0") in the form
// of the collectors' min_version and max_version.
func (s *server) pgbouncerVersion(ctx context.Context) (int, error) {
	rows, err := s.conn.Query(ctx, "SHOW VERSION")
	if err != nil {
		return 0, err
	}
	var text string
	for rows.Next() {
		if v, err := rows.Values(); err == nil && len(v) > 0 {
			text = fmt.Sprint(v[0])
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	v, ok := PgbouncerVersion(text)
	if !ok {
		return 0, fmt.Errorf("SHOW VERSION: no version in %q", text)
	}
	return v, nil
}

// PgbouncerVersion turns pgbouncer's "PgBouncer 1.18.0" into 11800, the
// form pg_exporter gives pgbouncer versions in min_version and
// max_version.
func PgbouncerVersion(text string) (int, bool) {
	for _, word := range strings.Fields(text) {
		parts := strings.Split(word, ".")
		if len(parts) < 2 || len(parts) > 3 {
			continue
		}
		var n [3]int
		ok := true
		for i, p := range parts {
			v, err := strconv.Atoi(p)
			if err != nil || v < 0 || v > 99 {
				ok = false
				break
			}
			n[i] = v
		}
		if ok {
			return n[0]*10000 + n[1]*100 + n[2], true
		}
	}
	return 0, false
}

// scrape refreshes the server's facts and runs its planned collectors
// into out; up is false when the server could not be reached at all.
func (s *server) scrape(ctx context.Context, cfg *collector.Config, tags map[string]bool, out *promtext.Set) (up bool, err error) {
	start := time.Now()
	if err := s.refresh(ctx, tags); err != nil {
		s.account(start, err)
		return false, err
	}
	return true, s.collect(ctx, cfg, out, start)
}

// collect runs the planned collectors of a refreshed server into out;
// its scrape began at start.
func (s *server) collect(ctx context.Context, cfg *collector.Config, out *promtext.Set, start time.Time) error {
	// per-database branches say which database their rows are from,
	// whether this is the exporter's own or a discovered one
	var extra []promtext.Label
	if !s.pgbouncer {
		extra = []promtext.Label{{Name: "datname", Value: s.facts.Database}}
	}
	err := s.run.Run(ctx, runner.Conn{Conn: s.conn}, cfg.Plan(s.facts), out, extra...)
	if s.conn.IsClosed() {
		s.close()
	}
	s.account(start, err)
	return err
}

func (s *server) account(start time.Time, err error) {
	s.last = time.Since(start)
	s.total += s.last
	s.scrapes++
	if err != nil {
		s.errors++
	}
}

func (s *server) addStats(set *promtext.Set, ns string) {
	ls := []promtext.Label{{Name: "datname", Value: s.cfg.Database}}
	p := ns + "_exporter_server_scrape_"
	set.Add(p+"duration", "duration of the last scrape of the database, in seconds", promtext.Gauge, s.last.Seconds(), ls...)
	set.Add(p+"total_seconds", "time spent scraping the database, in seconds", promtext.Counter, s.total.Seconds(), ls...)
	set.Add(p+"total_count", "scrapes of the database", promtext.Counter, float64(s.scrapes), ls...)
	set.Add(p+"error_count", "scrapes of the database that failed", promtext.Counter, float64(s.errors), ls...)
	s.run.AddStats(set, ns)
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// withSSLMode adds sslmode=disable to a URL that sets none, as
// pg_exporter does: the default (prefer) would try TLS first on every
// connection.
func withSSLMode(dsn string) string {
	url := strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
	for _, sep := range []string{"?", "&", " ", ""} {
		if strings.Contains(dsn, sep+"sslmode=") && (sep != "" || strings.HasPrefix(dsn, "sslmode=")) {
			return dsn
		}
	}
	switch {
	case url && strings.Contains(dsn, "?"):
		return dsn + "&sslmode=disable"
	case url:
		return dsn + "?sslmode=disable"
	case dsn == "":
		return "sslmode=disable"
	}
	return dsn + " sslmode=disable"
}
