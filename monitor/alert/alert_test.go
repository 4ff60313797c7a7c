package alert

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"pigsty/monitor/metrics"
	"pigsty/monitor/rules"
	"pigsty/monitor/vmsingle"
)

// The evaluator runs against a real store, started once for the test
// binary (VictoriaMetrics starts once per process).
var store *metrics.Client

func TestMain(m *testing.M) {
	flag.Parse() // before the store marks the flag set parsed
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "alert-test-")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(dir)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cfg := metrics.Config{Listen: []string{addr}, DataDir: filepath.Join(dir, "data"), Retention: "1d",
			ScrapeConfig: filepath.Join(dir, "scrape.yml"), MemoryPercent: 5}
		if err := os.WriteFile(cfg.ScrapeConfig, []byte("scrape_configs: []\n"), 0o600); err != nil {
			panic(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- vmsingle.Run(ctx, cfg, slog.Default()) }()
		store = metrics.NewClient(cfg.URL())
		for deadline := time.Now().Add(10 * time.Second); store.Healthy(ctx) != nil; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				panic("the store did not start")
			}
		}
		code := m.Run()
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return code
	}())
}

// memState keeps the saved alerts of one test.
type memState struct {
	mu   sync.Mutex
	data []byte
}

func (m *memState) LoadAlerts(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data, nil
}

func (m *memState) SaveAlerts(_ context.Context, b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data = b
	return nil
}

// webhook records what it receives.
type webhook struct {
	*httptest.Server
	mu   sync.Mutex
	msgs []Message
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var m Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		w.mu.Lock()
		w.msgs = append(w.msgs, m)
		w.mu.Unlock()
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *webhook) statuses() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, m := range w.msgs {
		for _, a := range m.Alerts {
			out = append(out, a.Status+" "+a.Labels["alertname"]+" "+a.Labels["ins"])
		}
	}
	return out
}

// feed writes the series' value every 200 ms until the returned func is
// called, as a scrape would.
func feed(t *testing.T, labels map[string]string, value *float64, mu *sync.Mutex) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			mu.Lock()
			v := *value
			mu.Unlock()
			if err := store.Import(ctx, []metrics.Sample{{Labels: labels, Value: v, Time: time.Now()}}); err != nil && ctx.Err() == nil {
				t.Errorf("import: %v", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); <-done }
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

func state(e *Evaluator, name string) string {
	for _, a := range e.Alerts() {
		if a.Labels["alertname"] == name {
			return a.State
		}
	}
	return "inactive"
}

const testRules = `
groups:
  - name: test-rules
    interval: 500ms
    rules:
      - record: test:up:double
        expr: test_up * 2
        labels: { source: rule }
  - name: test-alert
    interval: 500ms
    rules:
      - alert: TestDown
        expr: test_up < 1
        for: 2s
        labels: { level: 0, severity: CRIT, category: test }
        annotations:
          summary: "CRIT TestDown {{ $labels.ins }} = {{ $value }}"
`

// An alert is pending, fires after its `for`, resolves when the
// condition ends; the webhook hears of firing and resolved once each,
// also across a restart of the evaluator; recording rules write series.
func TestLifecycle(t *testing.T) {
	groups, err := rules.Parse("test.yml", []byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	hook := newWebhook(t)
	saved := &memState{}
	start := func() (*Evaluator, func()) {
		e := &Evaluator{Groups: groups, Store: store, State: saved, Webhook: func() string { return hook.URL }}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		return e, func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}

	var mu sync.Mutex
	value := 0.0
	stopFeed := feed(t, map[string]string{"__name__": "test_up", "cls": "pg-test", "ins": "pg-test-1"}, &value, &mu)
	defer stopFeed()

	e, stop := start()
	took := waitFor(t, 30*time.Second, "TestDown pending", func() bool { return state(e, "TestDown") == "pending" })
	t.Logf("pending after %s (a new series is searchable within ~10 s)", took.Round(100*time.Millisecond))
	pendingAt := time.Now()
	waitFor(t, 10*time.Second, "TestDown firing", func() bool { return state(e, "TestDown") == "firing" })
	if d := time.Since(pendingAt); d < 1500*time.Millisecond {
		t.Errorf("fired %s after pending, before its for of 2s", d)
	}
	waitFor(t, 10*time.Second, "firing delivered", func() bool { return len(hook.statuses()) == 1 })
	if got := hook.statuses(); got[0] != "firing TestDown pg-test-1" {
		t.Errorf("webhook got %v", got)
	}
	a := e.Alerts()[0]
	if a.Annotations["summary"] != "CRIT TestDown pg-test-1 = 0" || a.Labels["severity"] != "CRIT" || a.Labels["cls"] != "pg-test" {
		t.Errorf("alert %+v", a)
	}

	// A restart keeps the firing alert and does not notify again.
	stop()
	e, stop = start()
	defer func() { stop() }()
	waitFor(t, 5*time.Second, "TestDown restored", func() bool { return len(e.Alerts()) == 1 })
	if b := e.Alerts()[0]; b.State != "firing" || !b.ActiveAt.Equal(a.ActiveAt) {
		t.Fatalf("after restart: %+v, before: %+v", b, a)
	}
	time.Sleep(2 * time.Second)
	if got := hook.statuses(); len(got) != 1 {
		t.Fatalf("a restart notified again: %v", got)
	}

	mu.Lock()
	value = 1
	mu.Unlock()
	waitFor(t, 10*time.Second, "TestDown resolved", func() bool { return state(e, "TestDown") == "inactive" })
	waitFor(t, 10*time.Second, "resolved delivered", func() bool { return len(hook.statuses()) == 2 })
	if got := hook.statuses(); got[1] != "resolved TestDown pg-test-1" {
		t.Errorf("webhook got %v", got)
	}

	// The recording rule's series is in the store, with the rule's labels.
	waitFor(t, 20*time.Second, "recorded series", func() bool {
		got, err := store.Query(context.Background(), `test:up:double{source="rule",ins="pg-test-1"}`, time.Now())
		return err == nil && len(got) == 1 && got[0].Value == 2
	})

	var rulesOK bool
	for _, g := range e.Rules() {
		for _, r := range g.Rules {
			rulesOK = r.Health == "ok"
			if !rulesOK {
				t.Errorf("rule %s: %s %s", r.Name, r.Health, r.LastError)
			}
		}
	}
}

// A webhook that fails is retried until it takes the notification.
func TestWebhookRetry(t *testing.T) {
	var mu sync.Mutex
	fails := 2
	var got []Message
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fails > 0 {
			fails--
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		var m Message
		json.NewDecoder(r.Body).Decode(&m)
		got = append(got, m)
	}))
	defer srv.Close()
	e := &Evaluator{Interval: 200 * time.Millisecond, State: &memState{}, Webhook: func() string { return srv.URL }, Notify: NewNotifier(), Log: slog.Default()}
	e.alerts = map[string]*Alert{"x": {Fingerprint: "x", Name: "A", Labels: map[string]string{"alertname": "A"}, State: Firing, ActiveAt: time.Now(), FiredAt: time.Now()}}
	e.wake = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.deliver(ctx)
	waitFor(t, 5*time.Second, "delivery", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.alerts["x"].Sent != Firing {
		t.Errorf("sent %q", e.alerts["x"].Sent)
	}
	if got[0].Status != "firing" || got[0].Version != "4" || got[0].CommonLabels["alertname"] != "A" {
		t.Errorf("message %+v", got[0])
	}
}
