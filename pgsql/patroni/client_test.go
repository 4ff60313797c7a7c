package patroni

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const apiUser, apiPassword = "postgres", "Patroni.API"

// call is a request as the fake Patroni saw it.
type call struct {
	Method, Path, Query string
	Auth                bool // basic auth with the right credentials
	AnyAuth             bool // an Authorization header at all
	Body                map[string]any
}

// fakePatroni answers like Patroni 4: fixtures for the GETs, 401 for unsafe
// calls without the right basic auth, and per-path canned answers.
type fakePatroni struct {
	t       *testing.T
	mu      sync.Mutex
	calls   []call
	fixture map[string]string // GET path → testdata/rest file
	answer  map[string]func() (int, string)
}

func newFake(t *testing.T) (*fakePatroni, *httptest.Server) {
	f := &fakePatroni{t: t, fixture: map[string]string{}, answer: map[string]func() (int, string){}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakePatroni) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	c := call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: ok && user == apiUser && pass == apiPassword, AnyAuth: r.Header.Get("Authorization") != ""}
	if data, _ := io.ReadAll(r.Body); len(data) > 0 {
		if err := json.Unmarshal(data, &c.Body); err != nil {
			f.t.Errorf("%s %s: body is not a JSON object: %s", r.Method, r.URL.Path, data)
		}
		if r.Header.Get("Content-Type") != "application/json" {
			f.t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()

	if r.Method != http.MethodGet && r.Method != http.MethodOptions && !c.Auth {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "not authenticated")
		return
	}
	if a, ok := f.answer[r.Method+" "+r.URL.Path]; ok {
		code, body := a()
		w.WriteHeader(code)
		io.WriteString(w, body)
		return
	}
	if name, ok := f.fixture[r.URL.Path]; ok && r.Method == http.MethodGet {
		data, err := os.ReadFile(filepath.Join("testdata", "rest", name))
		if err != nil {
			f.t.Fatal(err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(data)
		return
	}
	w.WriteHeader(http.StatusNotFound)
}

func (f *fakePatroni) last() call {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		f.t.Fatal("no request reached the server")
	}
	return f.calls[len(f.calls)-1]
}

func clientOf(srv *httptest.Server) *Client {
	return NewClient(strings.TrimPrefix(srv.URL, "http://"), apiUser, apiPassword, nil)
}

func TestStatusOfPrimary(t *testing.T) {
	f, srv := newFake(t)
	f.fixture["/patroni"] = "patroni-primary.json"
	s, err := clientOf(srv).Patroni(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !s.IsLeader() || !s.Running() || s.Streaming() {
		t.Errorf("primary: IsLeader %v Running %v Streaming %v", s.IsLeader(), s.Running(), s.Streaming())
	}
	if s.Timeline != 2 || s.XLog.Location != 50331968 || s.ServerVersion != 150010 {
		t.Errorf("timeline %d, location %d, version %d", s.Timeline, s.XLog.Location, s.ServerVersion)
	}
	if len(s.Replication) != 2 || s.Replication[0].ApplicationName != "pg-test-2" || s.Replication[0].SyncState != "sync" {
		t.Errorf("replication = %+v", s.Replication)
	}
	if s.Patroni.Version != "4.0.7" || s.Patroni.Name != "pg-test-1" || s.Patroni.Scope != "pg-test" {
		t.Errorf("patroni = %+v", s.Patroni)
	}
	if s.Tags["clonefrom"] != true || s.Tags["version"] != "15" {
		t.Errorf("tags = %v", s.Tags)
	}
	if c := f.last(); c.Method != http.MethodGet || c.AnyAuth {
		t.Errorf("GET /patroni sent %+v; safe endpoints get no credentials", c)
	}
}

func TestStatusOfReplica(t *testing.T) {
	f, srv := newFake(t)
	f.fixture["/patroni"] = "patroni-replica.json"
	s, err := clientOf(srv).Patroni(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.IsLeader() || !s.Streaming() || !s.SyncStandby {
		t.Errorf("replica: IsLeader %v Streaming %v SyncStandby %v", s.IsLeader(), s.Streaming(), s.SyncStandby)
	}
	if s.XLog.ReceivedLocation != 50332016 || s.XLog.ReplayedLocation != 50331968 || s.XLog.ReplayedTimestamp != "" {
		t.Errorf("xlog = %+v", s.XLog)
	}
	if !s.PendingRestart || s.PendingRestartReason["shared_buffers"] != (ParamChange{"4GB", "6GB"}) {
		t.Errorf("pending restart %v %v", s.PendingRestart, s.PendingRestartReason)
	}

	f.fixture["/patroni"] = "patroni-stopped.json"
	s, err = clientOf(srv).Patroni(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Running() || s.IsLeader() || !s.ClusterUnlocked || s.Role != "uninitialized" {
		t.Errorf("stopped member: %+v", s)
	}
}

func TestCluster(t *testing.T) {
	f, srv := newFake(t)
	f.fixture["/cluster"] = "cluster.json"
	cl, err := clientOf(srv).Cluster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(cl.Members) != 3 || !cl.Pause || cl.Scope != "pg-test" {
		t.Fatalf("cluster = %+v", cl)
	}
	if l := cl.Leader(); l == nil || l.Name != "pg-test-1" || l.Host != "10.10.10.11" || l.Port != 5432 || l.Lag.Known {
		t.Errorf("leader = %+v", l)
	}
	m := cl.Members[1]
	if m.IsLeader() || !m.Streaming() || m.Role != MemberSyncStandby || m.Lag != (Lag{48, true}) || m.ReceiveLag != (Lag{0, true}) || !m.PendingRestart {
		t.Errorf("sync standby = %+v", m)
	}
	m = cl.Members[2]
	if m.Streaming() || m.Lag.Known || m.LSN != "unknown" || m.Tags["replicatefrom"] != "pg-test-2" || m.Timeline != 0 {
		t.Errorf("starting replica = %+v", m)
	}
	want := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	if s := cl.ScheduledSwitchover; s == nil || !s.At.Equal(want) || s.From != "pg-test-1" || s.To != "pg-test-2" {
		t.Errorf("scheduled switchover = %+v", s)
	}
}

func TestHistory(t *testing.T) {
	f, srv := newFake(t)
	f.fixture["/history"] = "history.json"
	h, err := clientOf(srv).History(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 {
		t.Fatalf("history = %+v", h)
	}
	if h[0].Timeline != 1 || h[0].LSN != 25623960 || !h[0].Time.IsZero() || h[0].NewLeader != "" {
		t.Errorf("oldest entry = %+v", h[0])
	}
	if h[1].Time.UnixMicro() != time.Date(2025, 1, 9, 16, 57, 57, 412805000, time.UTC).UnixMicro() {
		t.Errorf("entry 2 time = %v", h[1].Time)
	}
	if h[2].NewLeader != "pg-test-2" || !h[2].Time.Equal(time.Date(2025, 1, 10, 8, 22, 33, 0, time.UTC)) {
		t.Errorf("entry 3 = %+v", h[2])
	}

	var e HistoryEntry
	if err := json.Unmarshal([]byte(`[1, 2]`), &e); err == nil {
		t.Error("a two-item history entry decoded")
	}
}

func TestConfig(t *testing.T) {
	f, srv := newFake(t)
	f.fixture["/config"] = "config.json"
	cfg, err := clientOf(srv).Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg["ttl"] != 30.0 || cfg["failsafe_mode"] != true {
		t.Errorf("config = %v", cfg)
	}
}

func TestCheckUsesOptionsWithoutCredentials(t *testing.T) {
	f, srv := newFake(t)
	f.answer["OPTIONS /primary"] = func() (int, string) { return 200, "" }
	f.answer["OPTIONS /replica"] = func() (int, string) { return 503, "" }
	c := clientOf(srv)
	for _, tc := range []struct {
		path, query string
		want        int
	}{{"/primary", "", 200}, {"/replica?lag=1MB", "lag=1MB", 503}} {
		got, err := c.Check(context.Background(), tc.path)
		if err != nil || got != tc.want {
			t.Errorf("Check(%s) = %d, %v; want %d", tc.path, got, err, tc.want)
		}
		if l := f.last(); l.Method != http.MethodOptions || l.AnyAuth || l.Query != tc.query {
			t.Errorf("Check(%s) sent %+v", tc.path, l)
		}
	}
	if _, err := c.Check(context.Background(), "primary"); err == nil {
		t.Error("a path without / was sent")
	}
}

// Every unsafe call sends basic auth, Patroni's method and path, and the
// JSON body Patroni 4 reads.
func TestUnsafeCalls(t *testing.T) {
	f, srv := newFake(t)
	ok := func(code int, body string) func() (int, string) { return func() (int, string) { return code, body } }
	f.answer["POST /reload"] = ok(202, "reload scheduled")
	f.answer["POST /restart"] = ok(200, "restarted successfully")
	f.answer["POST /switchover"] = ok(200, `Successfully switched over to "pg-test-2"`)
	f.answer["POST /failover"] = ok(200, `Successfully failed over to "pg-test-3"`)
	f.answer["POST /reinitialize"] = ok(200, "reinitialize started")
	f.answer["PATCH /config"] = ok(200, `{"ttl": 30, "pause": true}`)
	c := clientOf(srv)
	ctx := context.Background()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	for _, tc := range []struct {
		name   string
		do     func() error
		method string
		path   string
		body   string // JSON, "" for none
	}{
		{"reload", func() error { return c.Reload(ctx) }, "POST", "/reload", ""},
		{"restart", func() error { return c.Restart(ctx, RestartOptions{}) }, "POST", "/restart", `{}`},
		{"restart with conditions", func() error {
			return c.Restart(ctx, RestartOptions{At: at, Role: RoleReplica, PostgresVersion: "15.9", Timeout: 90 * time.Second, PendingOnly: true})
		}, "POST", "/restart", `{"postgres_version":"15.9","restart_pending":true,"role":"replica","schedule":"2030-01-02T03:04:05Z","timeout":90}`},
		{"switchover", func() error { return c.Switchover(ctx, "pg-test-1", "pg-test-2", time.Time{}) }, "POST", "/switchover", `{"candidate":"pg-test-2","leader":"pg-test-1"}`},
		{"scheduled switchover to anyone", func() error { return c.Switchover(ctx, "pg-test-1", "", at) }, "POST", "/switchover", `{"leader":"pg-test-1","scheduled_at":"2030-01-02T03:04:05Z"}`},
		{"failover", func() error { return c.Failover(ctx, "pg-test-3") }, "POST", "/failover", `{"candidate":"pg-test-3"}`},
		{"reinitialize", func() error { return c.Reinitialize(ctx, true) }, "POST", "/reinitialize", `{"force":true}`},
		{"pause", func() error { return c.Pause(ctx) }, "PATCH", "/config", `{"pause":true}`},
		{"resume", func() error { return c.Resume(ctx) }, "PATCH", "/config", `{"pause":null}`},
		{"patch", func() error {
			return c.PatchConfig(ctx, map[string]any{"ttl": 20, "postgresql": map[string]any{"parameters": map[string]any{"work_mem": nil}}})
		},
			"PATCH", "/config", `{"postgresql":{"parameters":{"work_mem":null}},"ttl":20}`},
	} {
		if err := tc.do(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		l := f.last()
		if l.Method != tc.method || l.Path != tc.path || !l.Auth {
			t.Errorf("%s: sent %s %s auth %v; want %s %s with basic auth", tc.name, l.Method, l.Path, l.Auth, tc.method, tc.path)
		}
		got := ""
		if l.Body != nil {
			got = mustJSON(l.Body)
		}
		if got != tc.body {
			t.Errorf("%s: body %s, want %s", tc.name, got, tc.body)
		}
	}

	for name, do := range map[string]func() error{
		"switchover without leader":  func() error { return c.Switchover(ctx, "", "pg-test-2", time.Time{}) },
		"failover without candidate": func() error { return c.Failover(ctx, "") },
		"empty patch":                func() error { return c.PatchConfig(ctx, nil) },
	} {
		if err := do(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestErrorsCarryStatusAndBody(t *testing.T) {
	f, srv := newFake(t)
	f.answer["POST /switchover"] = func() (int, string) {
		return 412, "switchover is not possible: no good candidates have been found"
	}
	err := clientOf(srv).Switchover(context.Background(), "pg-test-1", "", time.Time{})
	var pe *Error
	if !errors.As(err, &pe) || pe.StatusCode != 412 {
		t.Fatalf("err = %v, want a *Error with 412", err)
	}
	for _, want := range []string{"POST /switchover", "412", "Precondition Failed", "no good candidates"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}

	// Wrong credentials: Patroni's 401 comes back as such.
	err = NewClient(strings.TrimPrefix(srv.URL, "http://"), apiUser, "wrong", nil).Reload(context.Background())
	if !errors.As(err, &pe) || pe.StatusCode != http.StatusUnauthorized || !strings.Contains(err.Error(), "not authenticated") {
		t.Errorf("wrong password: %v", err)
	}

	// A status page instead of JSON is reported with its start.
	f.answer["GET /patroni"] = func() (int, string) { return 200, "<html>" + strings.Repeat("x", 2000) }
	_, err = clientOf(srv).Patroni(context.Background())
	if err == nil || !strings.Contains(err.Error(), "GET /patroni") || len(err.Error()) > 1000 {
		t.Errorf("non-JSON status: %v", err)
	}
}

func TestContextBoundsTheCall(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := clientOf(srv).Patroni(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("hung server: err %v after %v", err, time.Since(start))
	}
}

func TestTLS(t *testing.T) {
	f := &fakePatroni{t: t, fixture: map[string]string{"/patroni": "patroni-primary.json"}}
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the plain-HTTP attempt below is expected
	srv.StartTLS()
	defer srv.Close()
	cfg := &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	c := NewClient(strings.TrimPrefix(srv.URL, "https://"), apiUser, apiPassword, cfg)
	if _, err := c.Patroni(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(strings.TrimPrefix(srv.URL, "https://"), apiUser, apiPassword, nil).Patroni(context.Background()); err == nil {
		t.Error("plain HTTP to a TLS server succeeded")
	}
}
