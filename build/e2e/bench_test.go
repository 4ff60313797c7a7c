package e2e

import (
	"context"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"testing"
	"time"
)

// TestBenchDemoFirstWrite measures, over several runs on fresh roots, the
// time from `pigsty demo` starting (packages installed) to the first
// write through the primary service on 5433, and prints the median.
// `make bench` runs it; `make test` skips it.
func TestBenchDemoFirstWrite(t *testing.T) {
	if os.Getenv("PIGSTY_BENCH") == "" {
		t.Skip("set PIGSTY_BENCH=1 (make bench)")
	}
	runs := 5
	if n, err := strconv.Atoi(os.Getenv("PIGSTY_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	var took []time.Duration
	for i := 0; i < runs; i++ {
		took = append(took, demoFirstWrite(t))
		t.Logf("run %d: first write through 5433 after %s", i+1, took[i].Round(10*time.Millisecond))
	}
	sort.Slice(took, func(a, b int) bool { return took[a] < took[b] })
	t.Logf("pigsty demo → first write through 5433: median %s over %d runs (min %s, max %s)",
		took[len(took)/2].Round(10*time.Millisecond), runs, took[0].Round(10*time.Millisecond), took[len(took)-1].Round(10*time.Millisecond))
}

func demoFirstWrite(t *testing.T) time.Duration {
	var took time.Duration
	t.Run("run", func(t *testing.T) {
		h := newHost(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, binary, "demo", "-i", "127.0.0.1")
		cmd.Dir = h.root
		cmd.Env = append(os.Environ(), "PIGSTY_ROOT="+h.root)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Wait()
		took = waitFor(t, 5*time.Minute, "first write through 5433", func() error {
			return exec1(ctx, "dbuser_meta", "DBUser.Meta", 5433, "meta",
				"SET ROLE dbrole_admin; CREATE TABLE IF NOT EXISTS bench_t(x int); INSERT INTO bench_t VALUES (1)")
		})
	})
	return took
}
