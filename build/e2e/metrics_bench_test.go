package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
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
	h.must("demo", "-i", "127.0.0.1", "--timeout", "3m")
	ready := time.Now()
	took := waitFor(t, 2*time.Minute, "first sample through the HTTP API", func() error {
		return plainQuery("/api/v1/query", url.Values{"query": {`up{job="pgsql"}`}}, 1)
	})
	t.Logf("first scraped sample visible through /api/v1/query %s after the demo was ready", took.Round(100*time.Millisecond))

	time.Sleep(time.Minute - time.Since(ready))
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
	for name, pids := range h.procs() {
		for _, pid := range pids {
			if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(cmd), "run\x00metrics") {
				t.Logf("metrics store (%s, pid %d) at idle: %s", name, pid, rss(pid))
			}
		}
	}
	for _, pid := range h.procs()["agent"] {
		t.Logf("infra agent (pid %d) at idle: %s", pid, rss(pid))
	}
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
