package pgexporter

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"pigsty/assets"
)

// TestBloatEstimates: monitor.pg_table_bloat() and pg_index_bloat(),
// which read pg_statistic, give exactly the rows of the estimates through
// pg_stats they replaced (testdata/bloat_pg_stats.sql) on tables that
// have bloat, nulls, an expression index, a multi-column index, a
// fillfactor, a dropped column, inheritance (statistics with and without
// the children) and no statistics at all; and monitor.sql applied over
// the old definitions replaces them in place.
func TestBloatEstimates(t *testing.T) {
	s := startPrimary(t)
	ref, err := os.ReadFile("testdata/bloat_pg_stats.sql")
	if err != nil {
		t.Fatal(err)
	}
	s.exec(t, "postgres", "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()")
	s.exec(t, "meta",
		"CREATE TABLE bloated (id int PRIMARY KEY, v text, n int, gone text) WITH (fillfactor = 90)",
		"INSERT INTO bloated SELECT g, md5(g::text), CASE WHEN g % 3 = 0 THEN g END, 'x' FROM generate_series(1, 50000) g",
		"ALTER TABLE bloated DROP COLUMN gone",
		"CREATE INDEX bloated_lower ON bloated (lower(v))",
		"CREATE INDEX bloated_n_id ON bloated (n, id)",
		"DELETE FROM bloated WHERE id % 5 <> 0",
		"CREATE TABLE parent (id int, v text)",
		"CREATE TABLE child (extra int) INHERITS (parent)",
		"INSERT INTO parent SELECT g, 'p' FROM generate_series(1, 10000) g",
		"DELETE FROM parent WHERE id % 5 <> 0",
		"INSERT INTO child SELECT g, repeat('c', 200), g FROM generate_series(1, 8000) g",
		"CREATE INDEX parent_v ON parent (v)",
		"CREATE SCHEMA other",
		"CREATE TABLE other.bloated (id bigint PRIMARY KEY, payload text)",
		"INSERT INTO other.bloated SELECT g, repeat('y', 80) FROM generate_series(1, 3000) g",
		"ANALYZE",
		"CREATE TABLE unanalyzed (id int PRIMARY KEY)",
		"INSERT INTO unanalyzed SELECT generate_series(1, 100)",
		string(ref))

	c := s.conn(t, "meta")
	ctx := context.Background()
	var inherited int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_statistic WHERE starelid = 'parent'::regclass AND stainherit").Scan(&inherited); err != nil || inherited == 0 {
		t.Fatalf("no inherited statistics of parent to leave out: %d %v", inherited, err)
	}
	for _, fn := range []string{"pg_table_bloat", "pg_index_bloat"} {
		for _, q := range []string{
			"SELECT count(*) FROM (SELECT * FROM monitor." + fn + "() EXCEPT ALL SELECT * FROM bloat_ref." + fn + "()) d",
			"SELECT count(*) FROM (SELECT * FROM bloat_ref." + fn + "() EXCEPT ALL SELECT * FROM monitor." + fn + "()) d",
		} {
			var differ int
			if err := c.QueryRow(ctx, q).Scan(&differ); err != nil || differ != 0 {
				t.Errorf("%s: %d rows differ: %v", q, differ, err)
			}
		}
		var rows int
		var took [2]time.Duration
		for k, schema := range []string{"bloat_ref", "monitor"} {
			start := time.Now()
			if err := c.QueryRow(ctx, "SELECT count(*) FROM "+schema+"."+fn+"()").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			took[k] = time.Since(start)
		}
		t.Logf("%s: %d rows, through pg_stats %s, pg_statistic %s", fn, rows, took[0].Round(10*time.Microsecond), took[1].Round(10*time.Microsecond))
	}

	ratios := map[string]float64{}
	rows, err := c.Query(ctx, `SELECT nspname || '.' || relname, ratio FROM monitor.pg_table_bloat
		UNION ALL SELECT nspname || '.' || relname, ratio FROM monitor.pg_index_bloat`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var ratio float64
		if err := rows.Scan(&name, &ratio); err != nil {
			t.Fatal(err)
		}
		ratios[name] = ratio
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("ratios: %v", ratios)
	// four rows of five deleted, not vacuumed: the table and its indexes
	// hold five times the pages their live rows need (parent's estimate
	// from its own rows: its children's wider ones would make it less)
	for _, name := range []string{"public.bloated", "public.bloated_pkey", "public.bloated_lower", "public.bloated_n_id", "public.parent"} {
		if r, ok := ratios[name]; !ok || r < 0.6 {
			t.Errorf("%s: bloat ratio %v (listed %v), want about 0.8", name, r, ok)
		}
	}
	for _, name := range []string{"other.bloated", "public.child"} {
		if r, ok := ratios[name]; !ok || r > 0.2 {
			t.Errorf("%s: bloat ratio %v (listed %v), want little", name, r, ok)
		}
	}
	if _, ok := ratios["public.unanalyzed"]; ok {
		t.Error("a table without statistics has an estimate")
	}

	// an installation with the old definitions takes the new ones in place
	old := strings.Replace(strings.ReplaceAll(string(ref), "bloat_ref.", "monitor."), "CREATE SCHEMA bloat_ref;", "", 1)
	s.exec(t, "meta", old, assets.MonitorSQL)
	var src string
	if err := c.QueryRow(ctx, "SELECT string_agg(prosrc, '') FROM pg_proc WHERE oid IN ('monitor.pg_table_bloat()'::regprocedure, 'monitor.pg_index_bloat()'::regprocedure)").Scan(&src); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(src, "pg_stats") || !strings.Contains(src, "pg_statistic") {
		t.Errorf("monitor.sql over the old definitions left them:\n%s", src)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM monitor.pg_bloat").Scan(&n); err != nil || n == 0 {
		t.Errorf("monitor.pg_bloat after the upgrade: %d rows, %v", n, err)
	}
}
