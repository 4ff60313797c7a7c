package etcd_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"pigsty/infra/etcd"
	"pigsty/internal/testkit"
)

// testConfig is a single loopback member whose data lives in dir; etcd
// creates dir itself so that it gets mode 0700.
func testConfig(t *testing.T, dir string) etcd.Config {
	t.Helper()
	client := fmt.Sprintf("http://127.0.0.1:%d", testkit.FreePort(t))
	peer := fmt.Sprintf("http://127.0.0.1:%d", testkit.FreePort(t))
	return etcd.Config{
		Name:           "etcd-1",
		DataDir:        dir,
		ClientURLs:     []string{client},
		PeerURLs:       []string{peer},
		InitialCluster: "etcd-1=" + peer,
		ClusterState:   "new",
		Token:          "etcd",
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// start runs a member for the test and closes it at the end.
func start(t *testing.T, cfg etcd.Config) *etcd.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	began := time.Now()
	srv, err := etcd.Start(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ready in %s", time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := srv.Close(10 * time.Second); err != nil {
			t.Error(err)
		}
	})
	return srv
}
