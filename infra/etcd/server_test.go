package etcd_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"pigsty/infra/etcd"
)

func newClient(t *testing.T, cfg etcd.Config) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: cfg.ClientURLs, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func TestPutGetAndHealth(t *testing.T) {
	cfg := testConfig(t, filepath.Join(t.TempDir(), "data"))
	start(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	if err := etcd.Healthy(ctx, cfg.ClientURLs[0], nil); err != nil {
		t.Fatal(err)
	}
	cli := newClient(t, cfg)
	if _, err := cli.Put(ctx, "/pigsty/x", "1"); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, "/pigsty/x")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "1" {
		t.Fatalf("get = %v", resp.Kvs)
	}
}

func TestRestartKeepsData(t *testing.T) {
	cfg := testConfig(t, filepath.Join(t.TempDir(), "data"))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	srv, err := etcd.Start(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	cli := newClient(t, cfg)
	if _, err := cli.Put(ctx, "/pigsty/kept", "yes"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(5 * time.Second); err != nil {
		t.Fatal(err)
	}

	// Same data dir, same ports, still "new": etcd restarts from its WAL.
	began := time.Now()
	start(t, cfg)
	t.Logf("restart on existing data ready in %s", time.Since(began).Round(time.Millisecond))
	resp, err := cli.Get(ctx, "/pigsty/kept")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "yes" {
		t.Fatalf("after restart get = %v", resp.Kvs)
	}
}

// Open watch and lease streams (agents, Patroni's gateway watch) would hold
// embed's graceful stop for its whole 7 s request timeout.
func TestCloseIsQuickWithOpenStreams(t *testing.T) {
	cfg := testConfig(t, filepath.Join(t.TempDir(), "data"))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	srv, err := etcd.Start(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	cli := newClient(t, cfg)
	wch := cli.Watch(ctx, "/pg/", clientv3.WithPrefix())
	lease, err := cli.Grant(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.KeepAlive(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	gw := gatewayWatch(t, ctx, cfg.ClientURLs[0], "/pg/")
	if _, err := cli.Put(ctx, "/pg/x", "1"); err != nil {
		t.Fatal(err)
	}
	<-wch
	gw.next(t) // the event reached the gateway watcher too

	began := time.Now()
	if err := srv.Close(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	t.Logf("close with open streams took %s", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("close took %s", took)
	}
}

// etcd's packages register pprof and trace handlers on
// http.DefaultServeMux; they must not be reachable. (/debug/vars is
// served by etcd's own mux, as stock etcd does.)
func TestDebugHandlersNotServed(t *testing.T) {
	cfg := testConfig(t, filepath.Join(t.TempDir(), "data"))
	start(t, cfg)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine", "/debug/requests", "/debug/events"} {
		resp, err := http.Get(cfg.ClientURLs[0] + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestStartGivesUpWithContext(t *testing.T) {
	cfg := testConfig(t, filepath.Join(t.TempDir(), "data"))
	// A second member that never starts: no quorum, never ready.
	cfg.InitialCluster += ",etcd-2=http://127.0.0.1:1"
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := etcd.Start(ctx, cfg, testLogger(t))
	if err == nil {
		t.Fatal("started without quorum")
	}
	t.Logf("gave up after %s: %v", time.Since(began).Round(time.Millisecond), err)
	if time.Since(began) > 5*time.Second {
		t.Errorf("gave up too late")
	}
}
