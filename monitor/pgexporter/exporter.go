// Package pgexporter is pigsty's pg_exporter: it runs the collectors of a
// pg_exporter configuration against one server given by a URL — the
// local PostgreSQL as the monitor user over the unix socket, a remote
// instance pigsty does not manage, or pgbouncer's admin console — and
// answers scrapes in Prometheus' text format with Pigsty's metric names.
// Each monitored database (the URL's, plus those auto-discovered) keeps
// one connection across scrapes; results are cached per collector for
// its TTL and every query has a timeout. When the server is down a scrape
// still answers, with pg_up (pgbouncer_up) 0.
package pgexporter

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"pigsty/monitor/collector"
	"pigsty/monitor/promtext"
	"pigsty/monitor/runner"
)

// Namespaces prefix the exporter's own metrics: pg_up, pg_exporter_*; or,
// on pgbouncer's admin console, pgbouncer_up, pgbouncer_exporter_*.
const (
	Namespace          = "pg"
	PgbouncerNamespace = "pgbouncer"
)

// pgbouncerDatabase is the admin console's database: an exporter whose URL
// names it monitors pgbouncer, as pg_exporter decides.
const pgbouncerDatabase = "pgbouncer"

// DefaultExcludeDatabases are the databases auto-discovery leaves out,
// pg_exporter_exclude_database's default.
var DefaultExcludeDatabases = []string{"template0", "template1", "postgres"}

// Options configure an exporter.
type Options struct {
	// URL is the server's DSN, a postgres:// URL or key=value pairs, e.g.
	// postgres://dbuser_monitor:pw@:5432/postgres?host=/var/run/postgresql
	// (see URL). sslmode=disable is added when it sets no sslmode. The
	// database pgbouncer means pgbouncer's admin console.
	URL string
	// Config is the collector configuration (LoadConfig).
	Config *collector.Config
	// ConnectTimeout bounds each connection attempt; 0 means pgx's.
	ConnectTimeout time.Duration
	// AutoDiscovery monitors every database that accepts connections,
	// besides the URL's, less ExcludeDatabases; IncludeDatabases, when
	// set, is the list to pick from instead. Not on pgbouncer.
	AutoDiscovery    bool
	IncludeDatabases []string
	ExcludeDatabases []string
	// Tags are the exporter's own tags, for branches tagged <tag> or
	// not:<tag>.
	Tags []string
	// DisableCache runs every collector on every scrape.
	DisableCache bool
	// DisableIntro leaves out the exporter's self-metrics
	// (pg_exporter_*); pg_up, pg_version and pg_in_recovery stay.
	DisableIntro bool
	// Version labels pg_exporter_build_info.
	Version string
	Log     *slog.Logger
}

// Exporter monitors one server, PostgreSQL or pgbouncer. It is safe for
// concurrent use; scrapes of one exporter run one at a time.
type Exporter struct {
	opt       Options
	base      *pgx.ConnConfig
	pgbouncer bool
	ns        string
	tags      map[string]bool
	log       *slog.Logger
	started   time.Time

	mu      sync.Mutex
	main    *server
	dbs     map[string]*server
	closed  bool
	role    string // primary, replica or down, as of checked
	checked time.Time
	scrapes int64
	errors  int64
	last    time.Duration
	lastAt  time.Time
}

// URL is the DSN Pigsty gives pg_exporter,
// postgres://user:password@:port/database?host=<host>&<params>: host is a
// socket directory or a host name, params pg_exporter_params
// ("sslmode=disable").
func URL(host string, port int, user, password, database, params string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: ":" + strconv.Itoa(port), Path: "/" + database}
	u.RawQuery = "host=" + url.QueryEscape(host)
	if params = strings.Trim(params, "?& "); params != "" {
		u.RawQuery += "&" + params
	}
	return u.String()
}

// New prepares an exporter; it connects on the first scrape.
func New(opt Options) (*Exporter, error) {
	if opt.Config == nil {
		return nil, errors.New("pg exporter: no collector config")
	}
	base, err := pgx.ParseConfig(withSSLMode(opt.URL))
	if err != nil {
		// the parser's message quotes the URL, password and all
		return nil, errors.New("pg exporter: invalid url: cannot parse it as a postgres:// URL or key=value pairs")
	}
	pgbouncer := base.Database == pgbouncerDatabase
	tune(base, opt.ConnectTimeout, pgbouncer)
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	e := &Exporter{opt: opt, base: base, pgbouncer: pgbouncer, ns: Namespace, tags: set(opt.Tags),
		started: time.Now(), dbs: map[string]*server{}, role: "down"}
	if pgbouncer {
		e.ns = PgbouncerNamespace
		e.opt.AutoDiscovery = false
	}
	e.log = opt.Log.With("exporter", e.ns, "database", base.Database)
	e.main = newServer(base, base.Database, true, pgbouncer, opt.DisableCache)
	return e, nil
}

// Close ends every connection; the exporter answers no scrape after it.
func (e *Exporter) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	e.main.close()
	for _, s := range e.dbs {
		s.close()
	}
	return nil
}

// Scrape collects every metric now.
func (e *Exporter) Scrape(ctx context.Context) *promtext.Set {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := time.Now()
	out := &promtext.Set{}
	up, err := e.scrape(ctx, out)
	e.checked = time.Now()
	e.role = "down"
	if up {
		e.role = "primary"
		if e.main.facts.Recovery {
			e.role = "replica"
		}
	}
	e.scrapes++
	if err != nil {
		e.errors++
	}
	e.last, e.lastAt = time.Since(start), time.Now()
	return e.finish(out, up)
}

func (e *Exporter) scrape(ctx context.Context, out *promtext.Set) (bool, error) {
	if e.closed {
		return false, errors.New("closed")
	}
	// The own database's facts first: they tell whether the server is up
	// and which databases there are. Its collectors then run alongside
	// those of the other databases, each database on its own session, so
	// a full scrape takes as long as its slowest database, not their sum.
	start := time.Now()
	if err := e.main.refresh(ctx, e.tags); err != nil {
		e.main.account(start, err)
		e.logOnce(e.main, "pg scrape failed: server down", err)
		return false, err
	}
	others := e.discover()
	mainSet := &promtext.Set{}
	sets := make([]*promtext.Set, len(others))
	var err error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		err = e.main.collect(ctx, e.opt.Config, mainSet, start)
	}()
	for i, s := range others {
		sets[i] = &promtext.Set{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.scrape(ctx, e.opt.Config, e.tags, sets[i])
			e.logOnce(s, "pg collectors failed", err)
		}()
	}
	wg.Wait()
	var fatal *runner.FatalError
	if errors.As(err, &fatal) {
		e.logOnce(e.main, "pg scrape failed: server down", err)
		return false, err
	}
	e.logOnce(e.main, "pg collectors failed", err)
	out.Merge(mainSet)
	for _, s := range sets {
		out.Merge(s)
	}
	return true, err
}

// discover reconciles the per-database servers with the databases the
// cluster server saw, and returns them in name order.
func (e *Exporter) discover() []*server {
	want := map[string]bool{}
	if e.opt.AutoDiscovery {
		for _, db := range e.main.dbs {
			if db == e.main.cfg.Database {
				continue
			}
			if len(e.opt.IncludeDatabases) > 0 {
				if slices.Contains(e.opt.IncludeDatabases, db) {
					want[db] = true
				}
			} else if !slices.Contains(e.opt.ExcludeDatabases, db) {
				want[db] = true
			}
		}
	}
	for db, s := range e.dbs {
		if !want[db] {
			s.close()
			delete(e.dbs, db)
		}
	}
	var out []*server
	for db := range want {
		if e.dbs[db] == nil {
			e.dbs[db] = newServer(e.base, db, false, false, e.opt.DisableCache)
		}
		out = append(out, e.dbs[db])
	}
	slices.SortFunc(out, func(a, b *server) int { return compare(a.cfg.Database, b.cfg.Database) })
	return out
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// logOnce logs a server's failure when it differs from its last one, so
// that a failure repeated every scrape is logged once.
func (e *Exporter) logOnce(s *server, msg string, err error) {
	text := ""
	if err != nil {
		text = err.Error()
	}
	if text == s.lastErr {
		return
	}
	s.lastErr = text
	if err == nil {
		e.log.Info("pg collectors recovered", "datname", s.cfg.Database)
		return
	}
	e.log.Warn(msg, "datname", s.cfg.Database, "err", err)
}

// Namespace is the prefix of the exporter's own metrics: pg, or pgbouncer.
func (e *Exporter) Namespace() string { return e.ns }

// finish adds the exporter's built-in metrics and self-metrics.
func (e *Exporter) finish(out *promtext.Set, up bool) *promtext.Set {
	ns := e.ns
	res := &promtext.Set{}
	res.Add(ns+"_up", "last scrape was able to connect to the server: 1 for yes, 0 for no", promtext.Gauge, b2f(up))
	if up {
		res.Add(ns+"_version", "server version number", promtext.Gauge, float64(e.main.facts.Version))
		if !e.pgbouncer {
			res.Add(ns+"_in_recovery", "server is in recovery mode: 1 for yes, 0 for no", promtext.Gauge, b2f(e.main.facts.Recovery))
		}
		res.Merge(out)
	}
	if e.opt.DisableIntro {
		return res
	}
	p := ns + "_exporter_"
	res.Add(p+"build_info", "pigsty's exporter, labelled with its version", promtext.Gauge, 1,
		promtext.Label{Name: "version", Value: e.opt.Version}, promtext.Label{Name: "goversion", Value: runtime.Version()},
		promtext.Label{Name: "goos", Value: runtime.GOOS}, promtext.Label{Name: "goarch", Value: runtime.GOARCH})
	res.Add(p+"up", "always 1 while the exporter answers", promtext.Gauge, 1)
	res.Add(p+"uptime", "seconds since the exporter started", promtext.Gauge, time.Since(e.started).Seconds())
	res.Add(p+"scrape_total_count", "scrapes of the server", promtext.Counter, float64(e.scrapes))
	res.Add(p+"scrape_error_count", "scrapes that failed or had a collector fail", promtext.Counter, float64(e.errors))
	res.Add(p+"scrape_duration", "duration of the last scrape, in seconds", promtext.Gauge, e.last.Seconds())
	res.Add(p+"last_scrape_time", "unix time of the last scrape", promtext.Gauge, float64(e.lastAt.UnixNano())/1e9)
	e.main.addStats(res, ns)
	for _, s := range e.discovered() {
		s.addStats(res, ns)
	}
	return res
}

func (e *Exporter) discovered() []*server {
	out := make([]*server, 0, len(e.dbs))
	for _, s := range e.dbs {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *server) int { return compare(a.cfg.Database, b.cfg.Database) })
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
