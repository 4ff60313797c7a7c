package collector

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"pigsty/monitor/promtext"
)

func parseOne(t *testing.T, text string) *Branch {
	t.Helper()
	cfg, err := Parse([]File{{Name: "test.yml", Data: []byte(text)}}, DefaultTTLs)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Branches[0]
}

func render(t *testing.T, set *promtext.Set) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := set.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCollect turns rows into samples: labels from LABEL columns (a NULL
// label is absent), renames, scale, defaults for NULL, NaN without one,
// and the datname of the database unless a column gives it.
func TestCollect(t *testing.T) {
	b := parseOne(t, `
pg_table:
  query: SELECT ...
  metrics:
    - relname:     { usage: LABEL }
    - kind:        { usage: LABEL ,rename: relkind }
    - seq_scan:    { usage: COUNTER ,default: 0 ,description: sequential scans }
    - n_live_tup:  { usage: GAUGE }
    - vacuum_time: { usage: COUNTER ,scale: 1e-3 }
    - last_vacuum: { usage: GAUGE }
    - oid:         { usage: DISCARD }
`)
	vacuumed := time.Unix(1700000000, 500e6)
	res := Result{
		Columns: []string{"relname", "kind", "seq_scan", "n_live_tup", "vacuum_time", "last_vacuum", "oid", "extra"},
		Rows: [][]any{
			{"public.t1", "r", int64(3), float64(1000), int64(2500), vacuumed, int64(16384), "ignored"},
			{"public.\"q\"\n", nil, nil, nil, "12", true, nil, nil},
		},
	}
	set := &promtext.Set{}
	n, err := b.Collect(set, res, promtext.Label{Name: "datname", Value: "meta"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Errorf("%d samples, want 8", n)
	}
	got := render(t, set)
	want := `# HELP pg_table_seq_scan sequential scans
# TYPE pg_table_seq_scan untyped
pg_table_seq_scan{relname="public.t1",relkind="r",datname="meta"} 3
pg_table_seq_scan{relname="public.\"q\"\n",datname="meta"} 0
# HELP pg_table_n_live_tup 
# TYPE pg_table_n_live_tup gauge
pg_table_n_live_tup{relname="public.t1",relkind="r",datname="meta"} 1000
pg_table_n_live_tup{relname="public.\"q\"\n",datname="meta"} NaN
# HELP pg_table_vacuum_time 
# TYPE pg_table_vacuum_time untyped
pg_table_vacuum_time{relname="public.t1",relkind="r",datname="meta"} 2.5
pg_table_vacuum_time{relname="public.\"q\"\n",datname="meta"} 0.012
# HELP pg_table_last_vacuum 
# TYPE pg_table_last_vacuum gauge
pg_table_last_vacuum{relname="public.t1",relkind="r",datname="meta"} 1.7000000005e+09
pg_table_last_vacuum{relname="public.\"q\"\n",datname="meta"} 1
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	// a column that names the database wins over the connection's
	set = &promtext.Set{}
	withDB := parseOne(t, "pg_x:\n  query: SELECT\n  metrics:\n    - datname: { usage: LABEL }\n    - v: { usage: GAUGE }\n")
	if _, err := withDB.Collect(set, Result{Columns: []string{"datname", "v"}, Rows: [][]any{{"postgres", int64(1)}}},
		promtext.Label{Name: "datname", Value: "meta"}); err != nil {
		t.Fatal(err)
	}
	if got := render(t, set); !strings.Contains(got, `pg_x_v{datname="postgres"} 1`) {
		t.Errorf("got\n%s", got)
	}
}

func TestCollectErrors(t *testing.T) {
	b := parseOne(t, "pg_x:\n  query: SELECT\n  metrics:\n    - name: { usage: LABEL }\n    - v: { usage: GAUGE }\n")
	for _, tc := range []struct {
		res  Result
		want string
	}{
		{Result{Columns: []string{"name"}, Rows: [][]any{{"a"}}}, `pg_x: column "v" is not in the result (name)`},
		{Result{Columns: []string{"name", "v"}, Rows: [][]any{{"a", "many"}}}, `pg_x: column v: "many" is not a number`},
		{Result{Columns: []string{"name", "v"}, Rows: [][]any{{"a", []float64{1}}}}, `pg_x: column v: a []float64 is not a number`},
	} {
		if _, err := b.Collect(&promtext.Set{}, tc.res); err == nil || err.Error() != tc.want {
			t.Errorf("err %v, want %s", err, tc.want)
		}
	}
}

// TestHistogram reads an array of cumulative counts into buckets, with
// the total as the +Inf bucket and the count.
func TestHistogram(t *testing.T) {
	b := parseOne(t, `
pg_latency:
  query: SELECT
  metrics:
    - datname: { usage: LABEL }
    - seconds: { usage: HISTOGRAM ,bucket: [0.001, 0.01, 0.1] ,description: statement latency }
`)
	set := &promtext.Set{}
	res := Result{Columns: []string{"datname", "seconds"}, Rows: [][]any{{"meta", []float64{5, 8, 9, 10}}, {"x", nil}}}
	if _, err := b.Collect(set, res); err != nil {
		t.Fatal(err)
	}
	want := `# HELP pg_latency_seconds statement latency
# TYPE pg_latency_seconds histogram
pg_latency_seconds_bucket{datname="meta",le="0.001"} 5
pg_latency_seconds_bucket{datname="meta",le="0.01"} 8
pg_latency_seconds_bucket{datname="meta",le="0.1"} 9
pg_latency_seconds_bucket{datname="meta",le="+Inf"} 10
pg_latency_seconds_count{datname="meta"} 10
`
	if got := render(t, set); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := b.Collect(set, Result{Columns: res.Columns, Rows: [][]any{{"meta", []float64{1}}}}); err == nil {
		t.Error("an array of the wrong length is accepted")
	}
}

// TestFits plans by version range and tags.
func TestFits(t *testing.T) {
	cfg, err := Parse([]File{{Name: "t.yml", Data: []byte(`
cluster_13_16: { query: SELECT, min_version: 130000, max_version: 160000, tags: [cluster], metrics: [ v: {usage: GAUGE} ] }
replica:       { query: SELECT, tags: [cluster, replica], metrics: [ v: {usage: GAUGE} ] }
primary:       { query: SELECT, tags: [primary], metrics: [ v: {usage: GAUGE} ] }
meta_only:     { query: SELECT, tags: ["dbname:meta"], metrics: [ v: {usage: GAUGE} ] }
monitor_user:  { query: SELECT, tags: ["username:dbuser_monitor"], metrics: [ v: {usage: GAUGE} ] }
with_pgss:     { query: SELECT, tags: ["extension:pg_stat_statements"], metrics: [ v: {usage: GAUGE} ] }
with_monitor:  { query: SELECT, tags: ["schema:monitor"], metrics: [ v: {usage: GAUGE} ] }
not_rds:       { query: SELECT, tags: ["not:rds"], metrics: [ v: {usage: GAUGE} ] }
rds_only:      { query: SELECT, tags: [rds], metrics: [ v: {usage: GAUGE} ] }
skipped:       { query: SELECT, skip: true, metrics: [ v: {usage: GAUGE} ] }
bouncer:       { query: SHOW POOLS, tags: [pgbouncer], metrics: [ v: {usage: GAUGE} ] }
`)}}, DefaultTTLs)
	if err != nil {
		t.Fatal(err)
	}
	plan := func(f Facts) string {
		var keys []string
		for _, b := range cfg.Plan(f) {
			keys = append(keys, b.Key)
		}
		return strings.Join(keys, " ")
	}
	for _, tc := range []struct {
		name string
		f    Facts
		want string
	}{
		{"primary 15, own database", Facts{Version: 150000, Database: "postgres", Username: "dbuser_monitor", Cluster: true},
			"cluster_13_16 primary monitor_user not_rds"},
		{"replica 16, own database", Facts{Version: 160000, Recovery: true, Database: "postgres", Cluster: true}, "replica not_rds"},
		{"primary 15, meta with extensions", Facts{Version: 150000, Database: "meta",
			Extensions: map[string]bool{"pg_stat_statements": true}, Schemas: map[string]bool{"monitor": true}},
			"primary meta_only with_pgss with_monitor not_rds"},
		{"exporter tagged rds", Facts{Version: 150000, Database: "x", Tags: map[string]bool{"rds": true}}, "primary rds_only"},
		{"pgbouncer", Facts{Version: 11800, Database: "pgbouncer", Pgbouncer: true}, "bouncer"},
	} {
		if got := plan(tc.f); got != tc.want {
			t.Errorf("%s: plan %q, want %q", tc.name, got, tc.want)
		}
	}
	ok, why := cfg.Branch("cluster_13_16").Fits(Facts{Version: 160001, Cluster: true})
	if ok || why != "version 160001 not below max_version 160000" {
		t.Errorf("Fits: %v %q", ok, why)
	}
}
