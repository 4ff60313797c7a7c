package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"pigsty/internal/testkit"
	"pigsty/monitor/pgexporter"
)

// TestBenchPgScrape brings up the demo, gives its meta database 1,000
// tables with an index each, and prints the time of a full scrape of the
// pg exporter — every collector run, no cache — as the median of 20, with
// the series it returns and the slowest collectors; then the same through
// the agent's exporter on 9630 as the store scrapes it, with the TTL
// cache; last, the full scrape again with the bloat estimates as they
// were before they read pg_statistic. `make bench` runs it.
func TestBenchPgScrape(t *testing.T) {
	if os.Getenv("PIGSTY_BENCH") == "" {
		t.Skip("set PIGSTY_BENCH=1 (make bench)")
	}
	h := newHost(t)
	ctx := context.Background()
	h.must("demo", "-i", "127.0.0.1", "--timeout", "3m")
	c, err := connect(ctx, "dbuser_meta", "DBUser.Meta", 5432, "meta", "sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var ddl strings.Builder
	ddl.WriteString("SET ROLE dbrole_admin;")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&ddl, "CREATE TABLE bench_%d (id int PRIMARY KEY, v text); INSERT INTO bench_%d SELECT g, 'x' FROM generate_series(1, %d) g;", i, i, 1+i%50)
	}
	ddl.WriteString("RESET ROLE; ANALYZE;")
	start := time.Now()
	if _, err := c.Exec(ctx, ddl.String()); err != nil {
		t.Fatal(err)
	}
	t.Logf("1,000 tables made in %s", time.Since(start).Round(time.Millisecond))

	cfg, err := pgexporter.LoadConfig(h.root, pgexporter.DefaultConfigName, "")
	if err != nil {
		t.Fatal(err)
	}
	url := pgexporter.URL(filepath.Join(h.root, "var/run/postgresql"), 5432, "dbuser_monitor", "DBUser.Monitor", "postgres", "sslmode=disable")
	e, err := pgexporter.New(pgexporter.Options{URL: url, Config: cfg, AutoDiscovery: true, DisableCache: true,
		ExcludeDatabases: pgexporter.DefaultExcludeDatabases, ConnectTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.Scrape(ctx) // connect to every database
	fullScrape(t, ctx, e, "full pg scrape, 1,000 tables in meta, no cache")

	var cached []time.Duration
	for i := 0; i < 20; i++ {
		_, _, d := scrapeExporter(t, 9630)
		cached = append(cached, d)
		time.Sleep(500 * time.Millisecond)
	}
	sort.Slice(cached, func(a, b int) bool { return cached[a] < cached[b] })
	t.Logf("the agent's pg exporter on 9630, TTL cache on, a scrape every 0.5 s: median %s, max %s", cached[10].Round(100*time.Microsecond),
		cached[19].Round(100*time.Microsecond))
	for _, port := range []int{9631, 9100} {
		m, _, d := scrapeExporter(t, port)
		t.Logf(":%d: %d series in %s", port, len(m), d.Round(100*time.Microsecond))
	}
	// the same with the bloat estimates of before, which went through
	// pg_stats (monitor/pgexporter's TestBloatEstimates checks that both
	// give the same rows)
	old, err := os.ReadFile("../../monitor/pgexporter/testdata/bloat_pg_stats.sql")
	if err != nil {
		t.Fatal(err)
	}
	sql := strings.Replace(strings.ReplaceAll(string(old), "bloat_ref.", "monitor."), "CREATE SCHEMA bloat_ref;", "", 1)
	if err := exec1(ctx, "dbuser_dba", "DBUser.DBA", 5432, "meta", sql, "sslmode=disable"); err != nil {
		t.Fatal(err)
	}
	fullScrape(t, ctx, e, "the same with the bloat estimates through pg_stats (before)")
}

// fullScrape scrapes e 20 times and prints the median, p90 and minimum
// time of a scrape with its series, and the collectors that took longest
// (the median of each one's own query time). A collector answered from a
// cache fails it: every collector must run.
func fullScrape(t *testing.T, ctx context.Context, e *pgexporter.Exporter, what string) {
	t.Helper()
	var took []time.Duration
	var series, size int
	collectors := map[string][]float64{}
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		set := e.Scrape(ctx)
		var b bytes.Buffer
		set.WriteTo(&b)
		took = append(took, time.Since(t0))
		m, err := testkit.ParseMetrics(b.String())
		if err != nil {
			t.Fatal(err)
		}
		series, size = len(m), b.Len()
		for _, s := range m.Find("pg_exporter_query_scrape_hit_count", nil) {
			if s.Value != 0 {
				t.Fatalf("%s{datname=%q} answered from the cache %v times", s.Labels["query"], s.Labels["datname"], s.Value)
			}
		}
		for _, s := range m.Find("pg_exporter_query_scrape_duration", nil) {
			key := s.Labels["datname"] + "/" + s.Labels["query"]
			collectors[key] = append(collectors[key], s.Value)
		}
	}
	slices.Sort(took)
	t.Logf("%s: median %s, p90 %s, min %s over 20; %d series, %d KiB",
		what, took[10].Round(100*time.Microsecond), took[17].Round(100*time.Microsecond), took[0].Round(100*time.Microsecond), series, size>>10)
	type slow struct {
		key    string
		median float64
	}
	var slowest []slow
	for key, d := range collectors {
		slices.Sort(d)
		slowest = append(slowest, slow{key, d[len(d)/2]})
	}
	sort.Slice(slowest, func(a, b int) bool { return slowest[a].median > slowest[b].median })
	var top []string
	for _, s := range slowest[:min(6, len(slowest))] {
		top = append(top, fmt.Sprintf("%s %.1f ms", s.key, s.median*1000))
	}
	t.Logf("  slowest collectors (median): %s", strings.Join(top, ", "))
}
