// Package runner executes planned collector branches on one server
// connection, the way pg_exporter does: a result cache per branch for
// its TTL, a timeout per query so that one slow catalog never stalls a
// scrape, predicate queries, and statistics of every branch, which it
// exports as the exporter's self-metrics.
package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"pigsty/monitor/collector"
	"pigsty/monitor/promtext"
)

// Querier runs one statement and returns its rows; Conn is the one over
// a pgx connection.
type Querier interface {
	Query(ctx context.Context, sql string) (collector.Result, error)
}

// Stats is what happened to one branch so far.
type Stats struct {
	Total          int64         // executions requested (hits included)
	Errors         int64         // failed queries or predicates
	PredicateSkips int64         // runs a predicate answered false
	Hits           int64         // answers served from the cache
	Duration       time.Duration // of the last query that ran
	Metrics        int           // samples of the last answer
}

type predicate struct {
	ok bool
	at time.Time
}

type state struct {
	branch   *collector.Branch
	cached   *promtext.Set
	cachedAt time.Time
	preds    []predicate
	stats    Stats
}

func (st *state) inPlan(plan []*collector.Branch) bool {
	for _, b := range plan {
		if b == st.branch {
			return true
		}
	}
	return false
}

// Runner holds the cache and statistics of one server connection. It is
// not safe for concurrent use: an exporter scrapes a server at a time.
type Runner struct {
	// Database labels the self-metrics (datname) of this connection.
	Database string
	// NoCache runs every branch on every scrape, whatever its TTL.
	NoCache bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	states  map[string]*state
	planned []string
}

// FatalError is the failure of a branch marked fatal: the scrape fails.
type FatalError struct {
	Branch string
	Err    error
}

func (e *FatalError) Error() string { return fmt.Sprintf("fatal collector %s: %v", e.Branch, e.Err) }
func (e *FatalError) Unwrap() error { return e.Err }

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Run executes the plan on q in order and adds the samples to set, with
// extra labels (datname) on those of the branches that run in every
// database, not those tagged cluster. A failing branch
// is counted and skipped; a failing fatal branch stops the run and is
// returned as a *FatalError. The error of every other branch is joined
// into the returned error after the run, for the log.
func (r *Runner) Run(ctx context.Context, q Querier, plan []*collector.Branch, set *promtext.Set, extra ...promtext.Label) error {
	if r.states == nil {
		r.states = map[string]*state{}
	}
	r.planned = r.planned[:0]
	var errs []error
	for _, b := range plan {
		r.planned = append(r.planned, b.Key)
		st := r.states[b.Key]
		if st == nil || st.branch != b {
			// a new or reloaded branch starts afresh
			st = &state{branch: b, preds: make([]predicate, len(b.Predicates))}
			r.states[b.Key] = st
		}
		if err := r.branch(ctx, q, st, set, extra); err != nil {
			if b.Fatal {
				return &FatalError{Branch: b.Key, Err: err}
			}
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	for key, st := range r.states {
		if !st.inPlan(plan) {
			delete(r.states, key) // replanned away: a role change or a reload
		}
	}
	return errors.Join(errs...)
}

func (r *Runner) branch(ctx context.Context, q Querier, st *state, set *promtext.Set, extra []promtext.Label) error {
	b := st.branch
	st.stats.Total++
	now := r.now()
	if !r.NoCache && st.cached != nil && b.TTL > 0 && now.Sub(st.cachedAt) < b.TTL {
		st.stats.Hits++
		set.Merge(st.cached)
		return nil
	}
	for i, p := range b.Predicates {
		ok, err := r.predicate(ctx, q, b, p, &st.preds[i], now)
		if err != nil {
			st.stats.Errors++
			st.cached = nil
			return fmt.Errorf("%s: predicate %q: %w", b.Key, p.Name, err)
		}
		if !ok {
			st.stats.PredicateSkips++
			st.cached, st.stats.Metrics = nil, 0
			return nil
		}
	}
	start := time.Now()
	res, err := r.query(ctx, q, b, b.Query)
	st.stats.Duration = time.Since(start)
	if err != nil {
		st.stats.Errors++
		st.cached = nil
		return fmt.Errorf("%s: %w", b.Key, err)
	}
	if b.Cluster() {
		extra = nil
	}
	out := &promtext.Set{}
	n, err := b.Collect(out, res, extra...)
	if err != nil {
		st.stats.Errors++
		st.cached = nil
		return err
	}
	st.cached, st.cachedAt, st.stats.Metrics = out, now, n
	set.Merge(out)
	return nil
}

func (r *Runner) predicate(ctx context.Context, q Querier, b *collector.Branch, p collector.Predicate, cache *predicate, now time.Time) (bool, error) {
	if !r.NoCache && !cache.at.IsZero() && p.TTL > 0 && now.Sub(cache.at) < p.TTL {
		return cache.ok, nil
	}
	res, err := r.query(ctx, q, b, p.SQL)
	if err != nil {
		return false, err
	}
	ok := false
	switch {
	case len(res.Rows) == 0:
	case len(res.Rows) > 1 || len(res.Rows[0]) != 1:
		return false, fmt.Errorf("want one row with one boolean, got %d rows of %d columns", len(res.Rows), len(res.Columns))
	default:
		v, isBool := res.Rows[0][0].(bool)
		if !isBool && res.Rows[0][0] != nil {
			return false, fmt.Errorf("want a boolean, got %T", res.Rows[0][0])
		}
		ok = v
	}
	*cache = predicate{ok: ok, at: now}
	return ok, nil
}

func (r *Runner) query(ctx context.Context, q Querier, b *collector.Branch, sql string) (collector.Result, error) {
	if d := b.QueryTimeout(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	res, err := q.Query(ctx, sql)
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		return res, fmt.Errorf("timed out after %s: %w", b.QueryTimeout(), err)
	}
	return res, err
}

// Stats returns the statistics of a branch by key.
func (r *Runner) Stats(key string) (Stats, bool) {
	st, ok := r.states[key]
	if !ok {
		return Stats{}, false
	}
	return st.stats, true
}

// Planned lists the keys of the branches the last run had in its plan.
func (r *Runner) Planned() []string { return r.planned }

// AddStats adds the per-branch self-metrics of the last plan to set, as
// pg_exporter names them: <namespace>_exporter_query_*{datname,query}.
func (r *Runner) AddStats(set *promtext.Set, namespace string) {
	p := namespace + "_exporter_query_"
	for _, key := range r.planned {
		st := r.states[key]
		ls := []promtext.Label{{Name: "datname", Value: r.Database}, {Name: "query", Value: key}}
		set.Add(p+"cache_ttl", "time to live of the collector's result cache, in seconds", promtext.Gauge, st.branch.TTL.Seconds(), ls...)
		set.Add(p+"scrape_total_count", "how many times the collector ran or was answered from its cache", promtext.Counter, float64(st.stats.Total), ls...)
		set.Add(p+"scrape_error_count", "how many times the collector failed", promtext.Counter, float64(st.stats.Errors), ls...)
		set.Add(p+"scrape_predicate_skip_count", "how many times a predicate query skipped the collector", promtext.Counter, float64(st.stats.PredicateSkips), ls...)
		set.Add(p+"scrape_hit_count", "how many times the collector was answered from its cache", promtext.Counter, float64(st.stats.Hits), ls...)
		set.Add(p+"scrape_duration", "duration of the collector's last query, in seconds", promtext.Gauge, st.stats.Duration.Seconds(), ls...)
		set.Add(p+"scrape_metric_count", "samples in the collector's last answer", promtext.Gauge, float64(st.stats.Metrics), ls...)
	}
}
