package promtext

import (
	"bytes"
	"math"
	"os/exec"
	"strings"
	"testing"
)

func sample(set *Set) {
	set.Add("pg_up", "server up", Gauge, 1)
	set.Add("pg_db_xact_commit", "transactions committed", Counter, 42, Label{"datname", "meta"})
	set.Add("pg_activity_count", "backends", Gauge, 3, Label{"datname", "meta"}, Label{"state", "idle in transaction"})
	set.Add("node_cpu_seconds_total", "cpu time\nper mode \\ cpu", Counter, 12.5, Label{"cpu", "0"}, Label{"mode", "user"})
	set.Add("pg_db_xact_commit", "ignored: the family exists", Gauge, 7, Label{"datname", `we"ird\db` + "\n"})
	set.Add("pg_db_xact_commit", "", Counter, 8, Label{"datname", "meta"}) // a duplicate series
	set.Add("pg_table_last_vacuum", "time", Gauge, math.NaN(), Label{"relname", "t"}, Label{"kind", ""})
	set.Add("pg_slot_safe_wal_size", "bytes", Gauge, math.Inf(-1))
	set.Family("pg_empty", "no samples", Gauge)
}

// TestWriteTo writes each family once, with its samples together,
// escapes help and label values, drops empty labels and repeated series.
func TestWriteTo(t *testing.T) {
	set := &Set{}
	sample(set)
	var b bytes.Buffer
	n, err := set.WriteTo(&b)
	if err != nil || n != int64(b.Len()) {
		t.Fatalf("WriteTo: %d, %v (buffer %d)", n, err, b.Len())
	}
	want := `# HELP pg_up server up
# TYPE pg_up gauge
pg_up 1
# HELP pg_db_xact_commit transactions committed
# TYPE pg_db_xact_commit untyped
pg_db_xact_commit{datname="meta"} 42
pg_db_xact_commit{datname="we\"ird\\db\n"} 7
# HELP pg_activity_count backends
# TYPE pg_activity_count untyped
pg_activity_count{datname="meta",state="idle in transaction"} 3
# HELP node_cpu_seconds_total cpu time\nper mode \\ cpu
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="user"} 12.5
# HELP pg_table_last_vacuum time
# TYPE pg_table_last_vacuum gauge
pg_table_last_vacuum{relname="t"} NaN
# HELP pg_slot_safe_wal_size bytes
# TYPE pg_slot_safe_wal_size gauge
pg_slot_safe_wal_size -Inf
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if set.Len() != 8 {
		t.Errorf("Len %d, want 8 (duplicates count until written)", set.Len())
	}
}

// TestPromtool runs Prometheus' own linter on the output: it parses, and
// the names Pigsty's exporters keep pass because they are declared for
// what they are.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian: prometheus)")
	}
	set := &Set{}
	sample(set)
	var b bytes.Buffer
	set.WriteTo(&b)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &b
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestExposedKind(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Kind
		want Kind
	}{
		{"pg_db_xact_commit", Counter, Untyped},
		{"node_network_receive_bytes_total", Counter, Counter},
		{"pg_activity_count", Gauge, Untyped},
		{"pg_exporter_query_scrape_hit_count", Counter, Untyped},
		{"pg_db_numbackends", Gauge, Gauge},
		{"pg_latency_seconds", Histogram, Histogram},
	} {
		if got := ExposedKind(tc.name, tc.in); got != tc.want {
			t.Errorf("ExposedKind(%s, %s) = %s, want %s", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestMerge(t *testing.T) {
	a, b := &Set{}, &Set{}
	a.Add("x", "h", Gauge, 1, Label{"k", "b"})
	b.Add("x", "h", Gauge, 2, Label{"k", "a"})
	b.Add("y", "h", Gauge, 3)
	a.Merge(b)
	var out bytes.Buffer
	a.WriteTo(&out)
	if got := out.String(); !strings.Contains(got, "x{k=\"b\"} 1\nx{k=\"a\"} 2\n") || !strings.Contains(got, "y 3\n") {
		t.Errorf("merged:\n%s", got)
	}
	if a.Get("y") == nil || a.Get("z") != nil {
		t.Error("Get")
	}
}
