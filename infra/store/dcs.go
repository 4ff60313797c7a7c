package store

import (
	"context"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// DCSPrefix is where Patroni keeps a cluster's state in etcd:
// <pg_namespace>/<cls>/ (leader, members, config, history, …).
func DCSPrefix(namespace, cluster string) string {
	return strings.TrimSuffix(namespace, "/") + "/" + cluster + "/"
}

// DeleteDCS removes a cluster's Patroni state, as Pigsty's pg_remove does
// (`etcdctl del --prefix /pg/<cls>`) when the cluster's primary goes:
// a cluster created again under the name must not find it. It returns how
// many keys it deleted.
func (s *Store) DeleteDCS(ctx context.Context, namespace, cluster string) (int64, error) {
	if err := checkName("cluster", cluster); err != nil {
		return 0, err
	}
	prefix := DCSPrefix(namespace, cluster)
	if !strings.HasPrefix(prefix, "/") || strings.HasPrefix(prefix, "/pigsty/") {
		return 0, fmt.Errorf("store: %s is not a Patroni namespace", prefix)
	}
	resp, err := s.cli.Delete(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("store: delete %s: %w", prefix, err)
	}
	return resp.Deleted, nil
}

// DCSKeys lists the keys under a cluster's DCS prefix.
func (s *Store) DCSKeys(ctx context.Context, namespace, cluster string) ([]string, error) {
	resp, err := s.cli.Get(ctx, DCSPrefix(namespace, cluster), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", DCSPrefix(namespace, cluster), err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, string(kv.Key))
	}
	return out, nil
}
