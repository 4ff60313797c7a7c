package backup

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"pigsty/build/harness"
	"pigsty/pgsql/patroni"
)

// rows is the content of t_pitr through a port of a host, in order.
func rows(h *harness.Host, port int) (string, error) {
	r, err := h.SQL(port, harness.TestUser, harness.TestPassword, harness.TestDB, "SELECT coalesce(string_agg(v, ' ' ORDER BY v), '') FROM t_pitr")
	if err != nil {
		return "", err
	}
	return r[0][0], nil
}

// TestPITRWithReplica: on pg-test with a replica on another host, rows, a
// dropped table and `pigsty pitr` to an LSN before the drop on the
// primary's host: the primary has exactly the rows written before the
// target, takes writes and a new backup, and the replica, held during
// the recovery, is cloned again from the new timeline and has them too.
func TestPITRWithReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up a cluster of two hosts (not -short)")
	}
	c, _ := pair(t, nil)
	h1, h2 := c.Hosts[0], c.Hosts[1]
	waitFor(t, 2*time.Minute, "the initial backup on "+h1.Name, func() error {
		out, err := h1.Run("backup", "ls", "pg-test")
		if err != nil || !strings.Contains(out, "initial") {
			return fmt.Errorf("%v\n%s", err, out)
		}
		return nil
	})
	sql := func(q string) [][]string {
		t.Helper()
		r, err := h1.SQL(5432, harness.TestUser, harness.TestPassword, harness.TestDB, q)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	sql("CREATE TABLE t_pitr (v text); INSERT INTO t_pitr VALUES ('a1'), ('a2')")
	lsn := sql("SELECT pg_current_wal_lsn()::text")[0][0]
	sql("INSERT INTO t_pitr VALUES ('b1'); DROP TABLE t_pitr")

	start := time.Now()
	out := h1.Must("pitr", "pg-test", "--lsn", lsn, "--yes")
	t.Logf("pigsty pitr pg-test --lsn %s: %s\n%s", lsn, time.Since(start).Round(100*time.Millisecond), out)
	for _, step := range []string{"==> hold", "==> restore", "==> promote", "==> release", "==> backup", "==> replicas"} {
		if !strings.Contains(out, step) {
			t.Fatalf("pitr output lacks step %q", step)
		}
	}
	if got, err := rows(h1, 5432); err != nil || got != "a1 a2" {
		t.Fatalf("%s after the recovery: rows %q %v, want a1 a2", h1.Name, got, err)
	}
	sql("INSERT INTO t_pitr VALUES ('c1')")
	took := waitFor(t, 2*time.Minute, h2.Name+" streams on the new timeline with the rows", func() error {
		cl, err := patroni.NewClient(h1.IP+":8008", "", "", nil).Cluster(t.Context())
		if err != nil {
			return err
		}
		l := cl.Leader()
		if l == nil || l.Name != "pg-test-1" {
			return fmt.Errorf("leader %+v", l)
		}
		for _, m := range cl.Members {
			if m.Name == "pg-test-2" && (!m.Streaming() || m.Timeline != l.Timeline) {
				return fmt.Errorf("pg-test-2 is %s on timeline %d, the leader on %d", m.State, m.Timeline, l.Timeline)
			}
		}
		got, err := rows(h2, 5432)
		if err != nil || got != "a1 a2 c1" {
			return fmt.Errorf("%s: rows %q %v", h2.Name, got, err)
		}
		return nil
	})
	t.Logf("%s streams from the recovered primary with its rows %s after pitr returned", h2.Name, took)
}
