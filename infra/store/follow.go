package store

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// apply receives one key's current value or change; deleted is true for a
// delete event. It returns true to stop following.
type apply func(kv *mvccpb.KeyValue, deleted bool) (done bool)

// follow reads key (every key under it when prefix) and then watches it
// from the revision it read at, calling fn in revision order. When the
// watch breaks – the history it needs was compacted, the member lost its
// leader, the client gave up – it reads again and watches from there; so
// fn may see the same value twice (callers compare ModRevision) and does
// not see deletions that happened while it was not watching. The etcd
// client itself rides out a member restart. follow returns nil when fn is
// done, or ctx's error.
func (s *Store) follow(ctx context.Context, key string, prefix bool, fn apply) error {
	var opts []clientv3.OpOption
	if prefix {
		opts = append(opts, clientv3.WithPrefix())
	}
	var r retry
	for {
		rev, done, err := s.read(ctx, key, opts, fn)
		if err == nil && !done {
			done, err = s.watch(ctx, key, rev+1, opts, fn, &r)
		}
		if done {
			return nil
		}
		if s.cli.Ctx().Err() != nil {
			return errClosed
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("etcd watch interrupted; reading again", "key", key, "err", err)
		if !r.wait(ctx) {
			return ctx.Err()
		}
	}
}

func (s *Store) read(ctx context.Context, key string, opts []clientv3.OpOption, fn apply) (rev int64, done bool, err error) {
	resp, err := s.cli.Get(ctx, key, opts...)
	if err != nil {
		return 0, false, fmt.Errorf("get %s: %w", key, err)
	}
	for _, kv := range resp.Kvs {
		if fn(kv, false) {
			return 0, true, nil
		}
	}
	return resp.Header.Revision, false, nil
}

func (s *Store) watch(ctx context.Context, key string, from int64, opts []clientv3.OpOption, fn apply, r *retry) (done bool, err error) {
	// Without a leader the member's view may be stale: the watch is
	// cancelled and the next read goes to a member that has one.
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for wr := range s.cli.Watch(ctx, key, append(opts, clientv3.WithRev(from))...) {
		if err := wr.Err(); err != nil {
			return false, fmt.Errorf("watch %s (started at revision %d): %w", key, from, err)
		}
		r.reset()
		for _, ev := range wr.Events {
			if fn(ev.Kv, ev.Type == clientv3.EventTypeDelete) {
				return true, nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return false, errors.New("watch channel closed")
}
