// Package collector is pg_exporter's collector configuration: branches
// of SQL whose result columns become metrics. It loads and validates the
// YAML (one file, or a directory merged in name order), plans which
// branches run on a server from its facts (version, role, database,
// extensions, tags), and turns a branch's result rows into metric
// families. Running the queries is the exporters' business.
package collector

import (
	"strings"
	"time"
)

// Usage is what a result column becomes.
type Usage uint8

const (
	Discard Usage = iota
	Label
	Gauge
	Counter
	Histogram
)

var usages = map[string]Usage{"DISCARD": Discard, "LABEL": Label, "GAUGE": Gauge, "COUNTER": Counter, "HISTOGRAM": Histogram}

func (u Usage) String() string {
	for s, v := range usages {
		if v == u {
			return s
		}
	}
	return "?"
}

// DefaultTimeout is a branch's query timeout when it sets none, as
// pg_exporter's: a monitoring query slower than this is itself a problem.
const DefaultTimeout = 100 * time.Millisecond

// Column is one result column of a branch.
type Column struct {
	Name        string // as the query returns it
	Usage       Usage
	Rename      string // the metric (or label) name instead of Name
	Description string
	Default     *float64  // the value of a NULL; without it a NULL is NaN
	Scale       float64   // a factor applied to the value; 0 means none
	Buckets     []float64 // HISTOGRAM: upper bounds of the buckets
	Pos         Pos
}

// Key is the column's label name or the suffix of its metric name.
func (c *Column) Key() string {
	if c.Rename != "" {
		return c.Rename
	}
	return c.Name
}

// Predicate is a query that decides whether the branch runs: it must
// return one row with one boolean.
type Predicate struct {
	Name string
	SQL  string
	TTL  time.Duration // how long its answer is trusted
}

// Branch is one collector definition: a query for one range of versions
// and roles. Several branches may share a Name (the metric prefix); the
// plan picks the one that fits the server.
type Branch struct {
	Key        string // the top-level key, unique in a configuration
	Name       string // metric prefix: metrics are <Name>_<column>
	Desc       string
	Query      string
	TTL        time.Duration // results are reused for this long
	Timeout    time.Duration // 0: DefaultTimeout; negative: none
	MinVersion int           // inclusive, server_version_num (pgbouncer: 11800 for 1.18.0); 0: any
	MaxVersion int           // exclusive; 0: any
	Fatal      bool          // a failure fails the scrape: pg_up is 0
	Skip       bool
	Tags       []string
	Predicates []Predicate
	Columns    []Column
	Pos        Pos
}

// QueryTimeout is the timeout the branch's queries run with; zero means
// none.
func (b *Branch) QueryTimeout() time.Duration {
	switch {
	case b.Timeout == 0:
		return DefaultTimeout
	case b.Timeout < 0:
		return 0
	}
	return b.Timeout
}

// HasTag reports whether the branch carries tag t.
func (b *Branch) HasTag(t string) bool {
	for _, x := range b.Tags {
		if x == t {
			return true
		}
	}
	return false
}

// Cluster reports whether the branch runs once per server rather than in
// every monitored database.
func (b *Branch) Cluster() bool { return b.HasTag("cluster") }

// Config is a loaded collector configuration.
type Config struct {
	Branches []*Branch // in the order of the files and of the keys in them
	// Fingerprint identifies the source text (and TTL tiers), so that a
	// caller can tell a changed file from an unchanged one.
	Fingerprint string
}

// Branch returns the branch with that key, or nil.
func (c *Config) Branch(key string) *Branch {
	for _, b := range c.Branches {
		if b.Key == key {
			return b
		}
	}
	return nil
}

// Names lists the metric prefixes of the configuration, in order.
func (c *Config) Names() []string {
	var out []string
	seen := map[string]bool{}
	for _, b := range c.Branches {
		if !seen[b.Name] {
			seen[b.Name] = true
			out = append(out, b.Name)
		}
	}
	return out
}

func isSpecialTag(t string) bool {
	switch t {
	case "cluster", "primary", "master", "replica", "standby", "pgbouncer":
		return true
	}
	for _, p := range []string{"dbname:", "username:", "extension:", "schema:", "not:"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}
