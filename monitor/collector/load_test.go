package collector

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pigsty/assets"
)

func builtin(t *testing.T, ttls TTLs) *Config {
	t.Helper()
	cfg, err := Parse([]File{{Name: "pg_exporter.yml", Data: assets.PgExporterConfig}}, ttls)
	if err != nil {
		t.Fatalf("the built-in config does not load:\n%v", err)
	}
	return cfg
}

// TestBuiltin loads the shipped configuration and checks it covers
// Pigsty's families, with the TTL tiers of pg_exporter_cache_ttls.
func TestBuiltin(t *testing.T) {
	cfg := builtin(t, DefaultTTLs)
	names := map[string]bool{}
	for _, n := range cfg.Names() {
		names[n] = true
	}
	for _, want := range []string{
		"pg", "pg_meta", "pg_setting", "pg_repl", "pg_sync_standby", "pg_downstream", "pg_slot", "pg_recv",
		"pg_size", "pg_archiver", "pg_bgwriter", "pg_checkpointer", "pg_wal", "pg_activity", "pg_wait",
		"pg_backend", "pg_xact", "pg_lock", "pg_query", "pg_vacuuming", "pg_indexing", "pg_clustering",
		"pg_backup", "pg_db", "pg_table", "pg_index", "pg_func", "pg_seq", "pg_table_size",
		"pg_table_bloat", "pg_index_bloat", "pg_heartbeat",
		"pgbouncer_list", "pgbouncer_database", "pgbouncer_stat", "pgbouncer_pool",
	} {
		if !names[want] {
			t.Errorf("no %s collector", want)
		}
	}
	for key, ttl := range map[string]time.Duration{
		"pg_primary_only": time.Second, "pg_db": 10 * time.Second, "pg_size": time.Minute, "pg_table_size": 5 * time.Minute,
	} {
		if got := cfg.Branch(key).TTL; got != ttl {
			t.Errorf("%s: ttl %v, want %v", key, got, ttl)
		}
	}
	for _, key := range []string{"pg_primary_only", "pg_replica_only", "pgbouncer_list"} {
		if !cfg.Branch(key).Fatal {
			t.Errorf("%s is not fatal", key)
		}
	}
	// the pg_query branches share their metrics through a YAML alias
	if a, b := cfg.Branch("pg_query"), cfg.Branch("pg_query_17"); len(a.Columns) != 11 || len(b.Columns) != len(a.Columns) {
		t.Errorf("pg_query columns: %d and %d, want 11 each", len(a.Columns), len(b.Columns))
	}

	other := builtin(t, TTLs{2, 20, 120, 600})
	if got := other.Branch("pg_table_size").TTL; got != 10*time.Minute {
		t.Errorf("pg_table_size ttl with '2,20,120,600': %v", got)
	}
	if other.Fingerprint == cfg.Fingerprint {
		t.Error("other TTL tiers, same fingerprint")
	}
}

// TestBuiltinPlan is what runs on PostgreSQL 15 and on pgbouncer 1.18:
// one branch per family, the role's own.
func TestBuiltinPlan(t *testing.T) {
	cfg := builtin(t, DefaultTTLs)
	keys := func(bs []*Branch) map[string]string {
		out := map[string]string{}
		for _, b := range bs {
			if prev, dup := out[b.Name]; dup {
				t.Errorf("%s planned twice: %s and %s", b.Name, prev, b.Key)
			}
			out[b.Name] = b.Key
		}
		return out
	}
	ext := map[string]bool{"pg_stat_statements": true}
	nsp := map[string]bool{"monitor": true}
	primary := keys(cfg.Plan(Facts{Version: 150013, Database: "postgres", Cluster: true, Extensions: ext, Schemas: nsp}))
	replica := keys(cfg.Plan(Facts{Version: 150013, Recovery: true, Database: "postgres", Cluster: true, Extensions: ext, Schemas: nsp}))
	meta := keys(cfg.Plan(Facts{Version: 150013, Database: "meta", Schemas: nsp}))
	pgb := keys(cfg.Plan(Facts{Version: 11800, Database: "pgbouncer", Pgbouncer: true}))

	for name, want := range map[string]string{"pg": "pg_primary_only", "pg_slot": "pg_slot_14", "pg_db": "pg_db",
		"pg_table": "pg_table", "pg_checkpointer": "pg_checkpointer", "pg_query": "pg_query", "pg_heartbeat": "pg_heartbeat"} {
		if primary[name] != want {
			t.Errorf("primary 15: %s runs %q, want %q", name, primary[name], want)
		}
	}
	for _, name := range []string{"pg_recv", "pg_db_confl"} {
		if primary[name] != "" || replica[name] == "" {
			t.Errorf("%s: on the primary %q, on the replica %q; want replica only", name, primary[name], replica[name])
		}
	}
	if replica["pg"] != "pg_replica_only" {
		t.Errorf("replica: pg runs %q", replica["pg"])
	}
	for name := range meta {
		if !strings.HasPrefix(cfg.Branch(meta[name]).Query, "SELECT current_database()") && name != "pg_table_bloat" && name != "pg_index_bloat" {
			t.Errorf("%s runs in every database but does not label its rows with the database", name)
		}
	}
	if len(meta) != 7 {
		t.Errorf("per database: %v, want the 7 object families", meta)
	}
	want := map[string]string{"pgbouncer_list": "pgbouncer_list", "pgbouncer_database": "pgbouncer_database",
		"pgbouncer_stat": "pgbouncer_stat", "pgbouncer_pool": "pgbouncer_pool"}
	if len(pgb) != len(want) {
		t.Errorf("pgbouncer 1.18 runs %v, want %v", pgb, want)
	}
	for name, key := range want {
		if pgb[name] != key {
			t.Errorf("pgbouncer 1.18: %s runs %q, want %q", name, pgb[name], key)
		}
	}
}

// TestPgExporterStyle reads a branch written as pg_exporter's own files
// are: commas in flow-mapping descriptions, a version with a leading zero.
func TestPgExporterStyle(t *testing.T) {
	data := []byte(`
pg_wal:
  desc: WAL statistics
  query: SELECT wal_write_time AS write_time FROM pg_stat_wal;
  ttl: 10
  min_version: 090600
  tags: [ cluster ]
  metrics:
    - write_time: { usage: COUNTER ,scale: 1e-3 ,description: Total time spent writing WAL, in seconds }
`)
	cfg, err := Parse([]File{{Name: "pg_wal.yml", Data: data}}, DefaultTTLs)
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Branch("pg_wal")
	if b.MinVersion != 90600 {
		t.Errorf("min_version %d, want 90600", b.MinVersion)
	}
	if c := b.Columns[0]; c.Description != "Total time spent writing WAL, in seconds" || c.Scale != 1e-3 {
		t.Errorf("column %+v", c)
	}
}

// TestRead merges a directory's YAML files in name order, as pg_exporter
// does, and reports a branch defined in two files at both places.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("20-b.yml", "pg_b:\n  query: SELECT 1 AS v\n  metrics:\n    - v: { usage: GAUGE }\n")
	write("10-a.yaml", "pg_a:\n  query: SELECT 1 AS v\n  metrics:\n    - v: { usage: GAUGE }\n")
	write("README.md", "not a config")
	cfg, err := Open(dir, nil, DefaultTTLs)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Names(), " "); got != "pg_a pg_b" {
		t.Errorf("branches %q, want pg_a pg_b", got)
	}
	write("30-c.yml", "pg_a:\n  query: SELECT 2 AS v\n  metrics:\n    - v: { usage: GAUGE }\n")
	_, err = Open(dir, nil, DefaultTTLs)
	want := filepath.Join(dir, "30-c.yml") + ":1:1: pg_a: branch defined twice (first at " + filepath.Join(dir, "10-a.yaml") + ":1:1)"
	if err == nil || err.Error() != want {
		t.Errorf("err %v, want %s", err, want)
	}

	builtinFile := &File{Name: "builtin", Data: []byte("pg_x:\n  query: SELECT 1 AS v\n  metrics:\n    - v: { usage: GAUGE }\n")}
	cfg, err = Open(filepath.Join(dir, "missing.yml"), builtinFile, DefaultTTLs)
	if err != nil || cfg.Branch("pg_x") == nil {
		t.Errorf("a missing file falls back to the builtin: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing.yml"), nil, DefaultTTLs); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file without builtin: %v", err)
	}
}

func TestParseTTLs(t *testing.T) {
	for in, want := range map[string]TTLs{"": DefaultTTLs, "1,10,60,300": DefaultTTLs, " 0.5, 5 ,30,120": {0.5, 5, 30, 120}} {
		got, err := ParseTTLs(in)
		if err != nil || got != want {
			t.Errorf("ParseTTLs(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"1,10,60", "1,10,60,x", "1,-1,60,300"} {
		if _, err := ParseTTLs(in); err == nil || !strings.Contains(err.Error(), "pg_exporter_cache_ttls") {
			t.Errorf("ParseTTLs(%q): %v", in, err)
		}
	}
}
