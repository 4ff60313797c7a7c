package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"pigsty/infra/etcd"
	"pigsty/infra/store"
	"pigsty/internal/testkit"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// member is an in-process etcd member on loopback that a test can stop and
// start again on the same data and ports.
type member struct {
	t   *testing.T
	cfg etcd.Config
	srv *etcd.Server
}

func newMember(t *testing.T) *member {
	t.Helper()
	peer := fmt.Sprintf("http://127.0.0.1:%d", testkit.FreePort(t))
	m := &member{t: t, cfg: etcd.Config{
		Name:           "etcd-1",
		DataDir:        filepath.Join(t.TempDir(), "data"),
		ClientURLs:     []string{fmt.Sprintf("http://127.0.0.1:%d", testkit.FreePort(t))},
		PeerURLs:       []string{peer},
		InitialCluster: "etcd-1=" + peer,
		Token:          "etcd",
	}}
	m.start()
	t.Cleanup(m.stop)
	return m
}

func (m *member) start() {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(m.t.Context(), 20*time.Second)
	defer cancel()
	srv, err := etcd.Start(ctx, m.cfg, testLogger(m.t))
	if err != nil {
		m.t.Fatal(err)
	}
	m.srv = srv
}

func (m *member) stop() {
	if m.srv == nil {
		return
	}
	if err := m.srv.Close(5 * time.Second); err != nil {
		m.t.Error(err)
	}
	m.srv = nil
}

func (m *member) open(t *testing.T) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := store.Open(ctx, etcd.Access{Endpoints: m.cfg.ClientURLs}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
