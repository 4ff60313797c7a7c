package runner

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"pigsty/monitor/collector"
	"pigsty/monitor/promtext"
)

// script answers statements from a table, counts them, and blocks on the
// ones marked slow until their context ends, as a server stuck in a
// catalog does. The runner's own logic is under test here; the
// exporters' tests run it against PostgreSQL and pgbouncer.
type script struct {
	answers map[string]collector.Result
	fail    map[string]error
	slow    map[string]bool
	ran     []string
}

func (s *script) Query(ctx context.Context, sql string) (collector.Result, error) {
	s.ran = append(s.ran, sql)
	if s.slow[sql] {
		<-ctx.Done()
		return collector.Result{}, ctx.Err()
	}
	if err := s.fail[sql]; err != nil {
		return collector.Result{}, err
	}
	res, ok := s.answers[sql]
	if !ok {
		return res, errors.New("no answer for " + sql)
	}
	return res, nil
}

func (s *script) count(sql string) int {
	n := 0
	for _, r := range s.ran {
		if r == sql {
			n++
		}
	}
	return n
}

const config = `
pg_up_branch:
  name: pg_up
  query: SELECT up
  ttl: 10
  fatal: true
  metrics: [ up: { usage: GAUGE } ]
pg_slow:
  query: SELECT slow
  timeout: 0.05
  metrics: [ v: { usage: GAUGE } ]
pg_heartbeat:
  query: SELECT beat
  predicate_queries:
    - { name: table exists, predicate_query: SELECT exists, ttl: 60 }
  metrics: [ ts: { usage: GAUGE } ]
pg_nocache:
  query: SELECT nocache
  metrics: [ v: { usage: COUNTER } ]
`

func setup(t *testing.T) (*collector.Config, *script, *Runner, *time.Time) {
	t.Helper()
	cfg, err := collector.Parse([]collector.File{{Name: "t.yml", Data: []byte(config)}}, collector.DefaultTTLs)
	if err != nil {
		t.Fatal(err)
	}
	one := func(col string, v any) collector.Result {
		return collector.Result{Columns: []string{col}, Rows: [][]any{{v}}}
	}
	s := &script{
		answers: map[string]collector.Result{
			"SELECT up": one("up", int64(1)), "SELECT beat": one("ts", float64(1.5)), "SELECT exists": one("exists", true),
			"SELECT nocache": one("v", int64(7)),
		},
		fail: map[string]error{}, slow: map[string]bool{"SELECT slow": true},
	}
	now := time.Unix(1000, 0)
	r := &Runner{Database: "postgres", Now: func() time.Time { return now }}
	return cfg, s, r, &now
}

// TestCacheAndTimeout: a result is reused for its TTL, a branch without
// one runs every time, a slow query is cut at its timeout while the
// others still run, and the statistics say so.
func TestCacheAndTimeout(t *testing.T) {
	cfg, s, r, now := setup(t)
	plan := cfg.Plan(collector.Facts{})
	run := func() (*promtext.Set, error) {
		set := &promtext.Set{}
		return set, r.Run(context.Background(), s, plan, set)
	}

	start := time.Now()
	set, err := run()
	if took := time.Since(start); took > time.Second {
		t.Errorf("a run with a stuck query took %v", took)
	}
	if err == nil || !strings.Contains(err.Error(), "pg_slow: timed out after 50ms") {
		t.Errorf("err %v, want the slow branch's timeout", err)
	}
	for _, name := range []string{"pg_up_up", "pg_heartbeat_ts", "pg_nocache_v"} {
		if set.Get(name) == nil {
			t.Errorf("no %s: the timeout of another branch dropped it", name)
		}
	}

	*now = now.Add(5 * time.Second)
	if _, err := run(); err == nil {
		t.Error("second run: the slow branch did not fail")
	}
	if n := s.count("SELECT up"); n != 1 {
		t.Errorf("within its 10 s TTL pg_up ran %d times, want once", n)
	}
	if n := s.count("SELECT nocache"); n != 2 {
		t.Errorf("without TTL pg_nocache ran %d times, want twice", n)
	}
	*now = now.Add(6 * time.Second)
	run()
	if n := s.count("SELECT up"); n != 2 {
		t.Errorf("after its TTL pg_up ran %d times, want twice", n)
	}
	if n := s.count("SELECT exists"); n != 1 {
		t.Errorf("the predicate, trusted for 60 s, ran %d times", n)
	}

	st, _ := r.Stats("pg_up_branch")
	if st.Total != 3 || st.Hits != 1 || st.Errors != 0 || st.Metrics != 1 {
		t.Errorf("pg_up stats %+v", st)
	}
	st, _ = r.Stats("pg_slow")
	if st.Errors != 3 || st.Duration < 50*time.Millisecond {
		t.Errorf("pg_slow stats %+v", st)
	}

	stats := &promtext.Set{}
	r.AddStats(stats, "pg")
	var b bytes.Buffer
	stats.WriteTo(&b)
	for _, line := range []string{
		`pg_exporter_query_scrape_total_count{datname="postgres",query="pg_up_branch"} 3`,
		`pg_exporter_query_scrape_hit_count{datname="postgres",query="pg_up_branch"} 1`,
		`pg_exporter_query_scrape_error_count{datname="postgres",query="pg_slow"} 3`,
		`pg_exporter_query_cache_ttl{datname="postgres",query="pg_up_branch"} 10`,
	} {
		if !strings.Contains(b.String(), line+"\n") {
			t.Errorf("self-metrics lack %s:\n%s", line, b.String())
		}
	}
}

// TestPredicateAndFatal: a predicate answering false skips its branch, a
// failing fatal branch ends the run with a FatalError, and a branch
// planned away loses its cache and statistics.
func TestPredicateAndFatal(t *testing.T) {
	cfg, s, r, now := setup(t)
	s.answers["SELECT exists"] = collector.Result{Columns: []string{"exists"}, Rows: [][]any{{false}}}
	delete(s.slow, "SELECT slow")
	s.answers["SELECT slow"] = collector.Result{Columns: []string{"v"}, Rows: [][]any{{int64(1)}}}
	plan := cfg.Plan(collector.Facts{})
	set := &promtext.Set{}
	if err := r.Run(context.Background(), s, plan, set); err != nil {
		t.Fatal(err)
	}
	if set.Get("pg_heartbeat_ts") != nil || s.count("SELECT beat") != 0 {
		t.Error("the predicate said no, the branch ran")
	}
	if st, _ := r.Stats("pg_heartbeat"); st.PredicateSkips != 1 {
		t.Errorf("heartbeat stats %+v", st)
	}

	*now = now.Add(time.Minute)
	s.fail["SELECT up"] = errors.New("connection reset")
	err := r.Run(context.Background(), s, plan, &promtext.Set{})
	var fatal *FatalError
	if !errors.As(err, &fatal) || fatal.Branch != "pg_up_branch" {
		t.Fatalf("err %v, want a FatalError of pg_up_branch", err)
	}
	if s.count("SELECT slow") != 1 {
		t.Error("the run went on after the fatal branch failed")
	}

	r.Run(context.Background(), s, plan[1:2], &promtext.Set{})
	if _, ok := r.Stats("pg_heartbeat"); ok {
		t.Error("a branch planned away kept its state")
	}
	if got := strings.Join(r.Planned(), " "); got != "pg_slow" {
		t.Errorf("planned %q", got)
	}
}
