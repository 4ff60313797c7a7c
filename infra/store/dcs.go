package store

import (
	"context"
	"errors"
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

// WatchLeader delivers who holds a Patroni cluster's leader key
// (<pg_namespace>/<scope>/leader; "" while nobody does) now and at every
// change, until ctx ends or the store is closed. A reader that falls
// behind gets the newest holder, not a backlog. After a broken watch it
// reads again, so a change missed meanwhile is still delivered.
func (s *Store) WatchLeader(ctx context.Context, key string) <-chan string {
	ch := make(chan string, 1)
	ctx, cancel := s.scope(ctx)
	go func() {
		defer close(ch)
		defer cancel()
		last, sent := "", false
		send := func(holder string) {
			if !sent || holder != last {
				last, sent = holder, true
				sendLatest(ch, holder)
			}
		}
		var r retry
		for {
			err := s.followLeader(ctx, key, send, &r)
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("etcd watch interrupted; reading again", "key", key, "err", err)
			if !r.wait(ctx) {
				return
			}
		}
	}()
	return ch
}

func (s *Store) followLeader(ctx context.Context, key string, send func(string), r *retry) error {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	holder := ""
	if len(resp.Kvs) > 0 {
		holder = string(resp.Kvs[0].Value)
	}
	send(holder)
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for wr := range s.cli.Watch(ctx, key, clientv3.WithRev(resp.Header.Revision+1)) {
		if err := wr.Err(); err != nil {
			return fmt.Errorf("watch %s: %w", key, err)
		}
		r.reset()
		for _, ev := range wr.Events {
			if ev.Type == clientv3.EventTypeDelete {
				send("")
			} else {
				send(string(ev.Kv.Value))
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("watch channel closed")
}

// Leader reads who holds a Patroni cluster's leader key ("" if nobody).
func (s *Store) Leader(ctx context.Context, key string) (string, error) {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return "", fmt.Errorf("store: get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}
