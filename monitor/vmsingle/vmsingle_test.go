package vmsingle

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pigsty/monitor/metrics"
)

// One store for the whole test binary: VictoriaMetrics starts once per
// process. It scrapes an exporter of the test every second.
var (
	store    *metrics.Client
	exporter *httptest.Server
	storeErr = make(chan error, 1)
)

func TestMain(m *testing.M) {
	// The store marks the flag set parsed; the test flags must be parsed
	// before, or -run and -v would be ignored.
	flag.Parse()
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "vmsingle-test-")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(dir)
		exporter = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "# TYPE pg_up gauge\npg_up 1")
		}))
		defer exporter.Close()
		port, err := freePort()
		if err != nil {
			panic(err)
		}
		cfg := metrics.Config{
			Listen:        []string{fmt.Sprintf("127.0.0.1:%d", port)},
			DataDir:       filepath.Join(dir, "data"),
			Retention:     "1d",
			ScrapeConfig:  filepath.Join(dir, "scrape.yml"),
			MemoryPercent: 5,
		}
		scrape := fmt.Sprintf("global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: pgsql\n    static_configs:\n"+
			"      - targets: [%s]\n        labels: { cls: pg-meta, ins: pg-meta-1, ip: 127.0.0.1 }\n", strings.TrimPrefix(exporter.URL, "http://"))
		if err := os.WriteFile(cfg.ScrapeConfig, []byte(scrape), 0o600); err != nil {
			panic(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { storeErr <- Run(ctx, cfg, slog.Default()) }()
		store = metrics.NewClient(cfg.URL())
		deadline := time.Now().Add(10 * time.Second)
		for store.Healthy(ctx) != nil {
			if time.Now().After(deadline) {
				panic("the store did not start")
			}
			time.Sleep(20 * time.Millisecond)
		}
		code := m.Run()
		cancel()
		if err := <-storeErr; err != nil {
			fmt.Fprintln(os.Stderr, "store:", err)
			code = 1
		}
		return code
	}())
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// The scraped series arrive with the target's labels and job, and a
// query sees them through the Prometheus API.
func TestScrape(t *testing.T) {
	t.Parallel() // a new series takes ~10 s to be searchable: wait for both at once
	ctx := context.Background()
	start := time.Now()
	var got []metrics.Sample
	for time.Since(start) < 30*time.Second {
		var err error
		if got, err = store.Query(ctx, `pg_up{cls="pg-meta"}`, time.Now()); err != nil {
			t.Fatal(err)
		}
		if len(got) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) != 1 {
		t.Fatalf("pg_up{cls=pg-meta}: %v", got)
	}
	t.Logf("first scraped sample visible after %s", time.Since(start).Round(100*time.Millisecond))
	l := got[0].Labels
	if got[0].Value != 1 || l["ins"] != "pg-meta-1" || l["ip"] != "127.0.0.1" || l["job"] != "pgsql" {
		t.Errorf("pg_up: %v = %v", l, got[0].Value)
	}
}

// Imported samples (what recording rules write) are queryable, NaN too.
func TestImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	err := store.Import(ctx, []metrics.Sample{
		{Labels: map[string]string{"__name__": "pg:db:age", "cls": "pg-meta", "ins": "pg-meta-1", "datname": `we"ird\name`}, Value: 0.25, Time: now},
		{Labels: map[string]string{"__name__": "pg:db:conn_usage", "ins": "pg-meta-1"}, Value: 0.5, Time: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		got, err := store.Query(ctx, `pg:db:age`, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			if got[0].Value != 0.25 || got[0].Labels["datname"] != `we"ird\name` {
				t.Fatalf("got %v", got)
			}
			t.Logf("imported series visible after %s", time.Since(start).Round(100*time.Millisecond))
			return
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("imported series not visible: %v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Reads are open; writes, deletions and the debug routes are not.
func TestHandler(t *testing.T) {
	h := newHandler([]string{"10.10.10.10:8428"})
	for _, c := range []struct {
		method, path, from string
		want               int
	}{
		{"GET", "/debug/pprof/", "127.0.0.1:1", 404},
		{"GET", "/flags", "127.0.0.1:1", 404},
		{"POST", "/api/v1/import/prometheus", "10.10.10.20:1", 403},
		{"POST", "/api/v1/admin/tsdb/delete_series?match[]=up", "10.10.10.20:1", 403},
		{"GET", "/api/v1/admin/tsdb/delete_series?match[]=up", "192.168.1.5:1", 403},
		{"GET", "/snapshot/create", "10.10.10.20:1", 403},
		{"GET", "/health", "10.10.10.20:1", 200},
		{"GET", "/api/v1/query?query=1", "10.10.10.20:1", 200},
		{"GET", "/prometheus/api/v1/query?query=1", "10.10.10.20:1", 200},
		{"POST", "/api/v1/import/prometheus", "10.10.10.10:1", 204},
		{"POST", "/api/v1/import/prometheus", "127.0.0.1:1", 204},
	} {
		r := httptest.NewRequest(c.method, c.path, strings.NewReader(""))
		r.RemoteAddr = c.from
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s %s from %s: %d, want %d: %s", c.method, c.path, c.from, w.Code, c.want, w.Body)
		}
	}
}

// A second start in the same process is an error, not an exit.
func TestOnce(t *testing.T) {
	err := Run(context.Background(), metrics.Config{Listen: []string{"127.0.0.1:1"}, DataDir: "/nonexistent", Retention: "1d",
		ScrapeConfig: "/nonexistent", MemoryPercent: 5}, slog.Default())
	if err == nil || !strings.Contains(err.Error(), "once per process") {
		t.Fatalf("second Run: %v", err)
	}
}
