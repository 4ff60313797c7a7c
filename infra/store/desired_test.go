package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"pigsty/infra/store"
	"pigsty/internal/testkit"
)

const inventory = "all:\n  children:\n    pg-test:\n      hosts: {10.10.10.11: {pg_seq: 1, pg_role: primary}}\n      vars: {pg_cluster: pg-test}\n"

func TestPutDesired(t *testing.T) {
	m := newMember(t)
	s := m.open(t)
	ctx := timeout(t, 10*time.Second)

	if _, err := s.Desired(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Desired on empty store: %v", err)
	}
	rev, changed, err := s.PutDesired(ctx, []byte(inventory), []string{"pg_version=17"}, "dba@admin")
	if err != nil || !changed || rev == 0 {
		t.Fatalf("PutDesired = %d %v %v", rev, changed, err)
	}
	d, err := s.Desired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(d.Inventory) != inventory || !slices.Equal(d.ExtraVars, []string{"pg_version=17"}) ||
		d.Revision != rev || d.UpdatedBy != "dba@admin" || time.Since(d.UpdatedAt) > time.Minute {
		t.Errorf("Desired = %+v", d)
	}

	again, changed, err := s.PutDesired(ctx, []byte(inventory), []string{"pg_version=17"}, "someone@else")
	if err != nil || changed || again != rev {
		t.Errorf("unchanged PutDesired = %d %v %v, want %d false", again, changed, err, rev)
	}
	if d, _ := s.Desired(ctx); d.UpdatedBy != "dba@admin" {
		t.Errorf("unchanged put rewrote the value: %+v", d)
	}

	next, changed, err := s.PutDesired(ctx, []byte(inventory), nil, "dba@admin")
	if err != nil || !changed || next <= rev {
		t.Errorf("PutDesired with other extra vars = %d %v %v", next, changed, err)
	}
}

func recv(t *testing.T, ch <-chan store.Desired) store.Desired {
	t.Helper()
	select {
	case d, ok := <-ch:
		if !ok {
			t.Fatal("watch closed")
		}
		return d
	case <-time.After(15 * time.Second):
		t.Fatal("no desired state delivered")
	}
	return store.Desired{}
}

func TestWatchDesired(t *testing.T) {
	m := newMember(t)
	s := m.open(t)
	ctx := timeout(t, 20*time.Second)

	rev1, _, err := s.PutDesired(ctx, []byte("a: 1\n"), nil, "t")
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	ch := s.WatchDesired(wctx)
	if d := recv(t, ch); d.Revision != rev1 || string(d.Inventory) != "a: 1\n" {
		t.Fatalf("first delivery = %+v, want the current value", d)
	}

	rev2, _, err := s.PutDesired(ctx, []byte("a: 2\n"), nil, "t")
	if err != nil {
		t.Fatal(err)
	}
	if d := recv(t, ch); d.Revision != rev2 || string(d.Inventory) != "a: 2\n" {
		t.Fatalf("change = %+v", d)
	}
	// An unchanged put writes nothing, so nothing is delivered.
	if _, changed, _ := s.PutDesired(ctx, []byte("a: 2\n"), nil, "t"); changed {
		t.Fatal("unchanged put changed")
	}
	select {
	case d := <-ch:
		t.Fatalf("delivered %+v for an unchanged put", d)
	case <-time.After(200 * time.Millisecond):
	}

	stop()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("delivered after cancel")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed after cancel")
	}
}

// The watcher outlives its etcd: the member is closed and started again on
// the same data. Across a plain restart the client resumes the watch; when
// the history it would resume from was compacted while it could not
// connect, it reads the current value instead.
func TestWatchDesiredSurvivesRestart(t *testing.T) {
	m := newMember(t)
	s := m.open(t)
	ctx := timeout(t, 40*time.Second)

	rev1, _, err := s.PutDesired(ctx, []byte("a: 1\n"), nil, "t")
	if err != nil {
		t.Fatal(err)
	}
	ch := s.WatchDesired(ctx)
	if d := recv(t, ch); d.Revision != rev1 {
		t.Fatalf("first delivery = %+v", d)
	}

	// Plain restart; the write comes after it.
	m.stop()
	m.start()
	rev2, _, err := m.open(t).PutDesired(ctx, []byte("a: 2\n"), nil, "t")
	if err != nil {
		t.Fatal(err)
	}
	if d := recv(t, ch); d.Revision != rev2 || string(d.Inventory) != "a: 2\n" {
		t.Fatalf("after restart = %+v, want revision %d", d, rev2)
	}

	// Meanwhile on another client port, so the watcher cannot reconnect:
	// two writes, and the history compacted past them.
	m.stop()
	port := m.cfg.ClientURLs
	m.cfg.ClientURLs = []string{fmt.Sprintf("http://127.0.0.1:%d", testkit.FreePort(t))}
	m.start()
	writer := m.open(t)
	if _, _, err := writer.PutDesired(ctx, []byte("a: 3\n"), nil, "t"); err != nil {
		t.Fatal(err)
	}
	rev4, _, err := writer.PutDesired(ctx, []byte("a: 4\n"), nil, "t")
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: m.cfg.ClientURLs, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, rev4); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	writer.Close()
	m.stop()
	m.cfg.ClientURLs = port
	m.start()

	if d := recv(t, ch); d.Revision != rev4 || string(d.Inventory) != "a: 4\n" {
		t.Fatalf("after compaction = %+v, want revision %d", d, rev4)
	}

	// Closing the store ends the watch.
	s.Close()
	select {
	case d, ok := <-ch:
		if ok {
			t.Fatalf("delivered %+v after close", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed after the store closed")
	}
}
