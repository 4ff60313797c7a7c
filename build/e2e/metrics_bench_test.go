package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"pigsty/monitor/alert"
)

// TestBenchMetricsStore brings up the demo and prints the metrics store's
// figures: when the first scraped sample is visible through its HTTP API,
// the series per instance, the latency of instant and range queries, the
// time one evaluation of every rule takes, and the RSS of the store and
// the infra agent after a minute at idle. `make bench` runs it.
func TestBenchMetricsStore(t *testing.T) {
	if os.Getenv("PIGSTY_BENCH") == "" {
		t.Skip("set PIGSTY_BENCH=1 (make bench)")
	}
	h := newHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	demo := exec.CommandContext(ctx, binary, "demo", "-i", "127.0.0.1", "--timeout", "3m")
	demo.Dir, demo.Env = h.root, append(os.Environ(), "PIGSTY_ROOT="+h.root)
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	var storeUp time.Time
	took := waitFor(t, 3*time.Minute, "first scraped sample through the HTTP API", func() error {
		if storeUp.IsZero() && metricsPid(h) > 0 {
			storeUp = time.Now()
		}
		return plainQuery("/api/v1/query", url.Values{"query": {`up{job="pgsql"}`}}, 1)
	})
	t.Logf("first scraped sample visible through /api/v1/query %s after pigsty demo started, %s after the store did",
		took.Round(100*time.Millisecond), time.Since(storeUp).Round(100*time.Millisecond))
	if err := demo.Wait(); err != nil {
		t.Fatalf("demo: %v", err)
	}
	time.Sleep(time.Minute) // idle
	for _, q := range []string{`count({__name__!=""})`, `count by (job, ins) ({__name__!=""})`} {
		res, err := query(q)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, s := range res {
			lines = append(lines, fmt.Sprintf("%s %s: %.0f", s.Labels["job"], s.Labels["ins"], s.Value))
		}
		sort.Strings(lines)
		t.Logf("series, %s:\n  %s", q, strings.Join(lines, "\n  "))
	}
	for _, c := range []struct {
		name, path string
		args       url.Values
	}{
		{"instant up", "/api/v1/query", url.Values{"query": {"up"}}},
		{"instant sum(rate(node_cpu_seconds_total[1m]))", "/api/v1/query", url.Values{"query": {"sum(rate(node_cpu_seconds_total[1m]))"}}},
		{"range 1h/10s rate(pg_db_xact_commit[1m])", "/api/v1/query_range", url.Values{"query": {"rate(pg_db_xact_commit[1m])"},
			"start": {fmt.Sprint(time.Now().Add(-time.Hour).Unix())}, "end": {fmt.Sprint(time.Now().Unix())}, "step": {"10"}}},
	} {
		var lat []time.Duration
		for i := 0; i < 100; i++ {
			t0 := time.Now()
			if err := plainQuery(c.path, c.args, 0); err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
		t.Logf("query %s: median %s, p99 %s", c.name, lat[50].Round(10*time.Microsecond), lat[98].Round(10*time.Microsecond))
	}
	resp, err := http.Get("http://127.0.0.1:9060/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Data struct {
			Groups []alert.APIGroup `json:"groups"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&rules)
	resp.Body.Close()
	var eval float64
	n := 0
	for _, g := range rules.Data.Groups {
		eval += g.EvaluationTime
		n += len(g.Rules)
	}
	t.Logf("one evaluation of all %d rules in %d groups: %.1f ms", n, len(rules.Data.Groups), eval*1000)
	pid := metricsPid(h)
	t.Logf("metrics store (pid %d) at idle: %s", pid, rss(pid))
	for _, pid := range h.procs()["agent"] {
		t.Logf("infra agent (pid %d) at idle: %s", pid, rss(pid))
	}
}

// metricsPid is the metrics store's process of the host, 0 if none.
func metricsPid(h *host) int {
	for _, pids := range h.procs() {
		for _, pid := range pids {
			if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(cmd), "run\x00metrics") {
				return pid
			}
		}
	}
	return 0
}

// plainQuery asks the store's API as Grafana would (no nocache); it
// fails unless the result has at least min series.
func plainQuery(path string, args url.Values, min int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:8428"+path+"?"+args.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return err
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s", path, body.Error)
	}
	if len(body.Data.Result) < min {
		return fmt.Errorf("%d series", len(body.Data.Result))
	}
	return nil
}
