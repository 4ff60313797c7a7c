package store_test

import (
	"testing"
	"time"

	"pigsty/infra/store"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestWatchLeader(t *testing.T) {
	m := newMember(t)
	st := m.open(t)
	ctx := timeout(t, 30*time.Second)
	cli, err := clientv3.New(clientv3.Config{Endpoints: m.cfg.ClientURLs, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	ch := st.WatchLeader(ctx, store.DCSPrefix("/pg", "pg-test")+"leader")
	next := func(want string) {
		t.Helper()
		select {
		case got := <-ch:
			if got != want {
				t.Fatalf("leader %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no leader change delivered, want %q", want)
		}
	}
	next("") // nobody holds the key yet
	if holder, err := st.Leader(ctx, "/pg/pg-test/leader"); err != nil || holder != "" {
		t.Fatalf("Leader of an unheld key: %q, %v", holder, err)
	}
	if _, err := cli.Put(ctx, "/pg/pg-test/leader", "pg-test-1"); err != nil {
		t.Fatal(err)
	}
	next("pg-test-1")
	if holder, err := st.Leader(ctx, "/pg/pg-test/leader"); err != nil || holder != "pg-test-1" {
		t.Fatalf("Leader: %q, %v", holder, err)
	}
	// another cluster's key and the cluster's other keys are not its leader
	cli.Put(ctx, "/pg/pg-test2/leader", "pg-test2-1")
	cli.Put(ctx, "/pg/pg-test/leader/x", "no")
	if _, err := cli.Delete(ctx, "/pg/pg-test/leader"); err != nil {
		t.Fatal(err)
	}
	next("")
	cli.Put(ctx, "/pg/pg-test/leader", "pg-test-2")
	next("pg-test-2")
	// the same holder renewing its key (Patroni rewrites the value with a
	// new lease on every loop) is no change
	cli.Put(ctx, "/pg/pg-test/leader", "pg-test-2")
	cli.Put(ctx, "/pg/pg-test/leader", "pg-test-3")
	next("pg-test-3")
}
