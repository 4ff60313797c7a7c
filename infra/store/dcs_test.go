package store_test

import (
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// DeleteDCS removes one cluster's keys: not those of a cluster whose name
// it prefixes, nor pigsty's own.
func TestDeleteDCS(t *testing.T) {
	m := newMember(t)
	s := m.open(t)
	ctx := timeout(t, 10*time.Second)
	cli, err := clientv3.New(clientv3.Config{Endpoints: m.cfg.ClientURLs, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for _, k := range []string{"/pg/pg-meta/leader", "/pg/pg-meta/config", "/pg/pg-meta2/leader", "/pigsty/status/pg-meta-1"} {
		if _, err := cli.Put(ctx, k, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if keys, _ := s.DCSKeys(ctx, "/pg", "pg-meta"); !slices.Equal(keys, []string{"/pg/pg-meta/config", "/pg/pg-meta/leader"}) {
		t.Errorf("keys %q", keys)
	}
	n, err := s.DeleteDCS(ctx, "/pg/", "pg-meta")
	if err != nil || n != 2 {
		t.Fatalf("DeleteDCS = %d %v", n, err)
	}
	resp, err := cli.Get(ctx, "/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, kv := range resp.Kvs {
		left = append(left, string(kv.Key))
	}
	if !slices.Equal(left, []string{"/pg/pg-meta2/leader", "/pigsty/status/pg-meta-1"}) {
		t.Errorf("left %q", left)
	}
	if _, err := s.DeleteDCS(ctx, "/pigsty", "status"); err == nil {
		t.Error("deleted pigsty's own keys")
	}
}
