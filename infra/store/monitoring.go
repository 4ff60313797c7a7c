package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The monitoring keys:
//
//	/pigsty/monitors/<ins>   a remote instance of pg_exporters being monitored (`pigsty mon add`)
//	/pigsty/alerts/<ip>      the alerts of the evaluator on infra host <ip>
const (
	prefixMonitors = "/pigsty/monitors/"
	prefixAlerts   = "/pigsty/alerts/"
)

// Monitor is a remote instance the infra hosts run an exporter for.
type Monitor struct {
	Instance string    `json:"ins"` // <pg_cluster>-<pg_seq> of its pg_exporters entry
	Cluster  string    `json:"cls"`
	AddedAt  time.Time `json:"added_at"`
	AddedBy  string    `json:"added_by"`
}

// PutMonitor starts monitoring a remote instance; adding one twice keeps
// the first record.
func (s *Store) PutMonitor(ctx context.Context, m Monitor) error {
	if err := checkName("instance", m.Instance); err != nil {
		return err
	}
	if m.AddedAt.IsZero() {
		m.AddedAt = time.Now().UTC()
	}
	val, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: encode monitor %s: %w", m.Instance, err)
	}
	key := prefixMonitors + m.Instance
	_, err = s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(clientv3.OpPut(key, string(val))).Commit()
	if err != nil {
		return fmt.Errorf("store: write monitor %s: %w", m.Instance, err)
	}
	return nil
}

// DeleteMonitor stops monitoring a remote instance; it reports whether
// it was monitored.
func (s *Store) DeleteMonitor(ctx context.Context, ins string) (bool, error) {
	if err := checkName("instance", ins); err != nil {
		return false, err
	}
	resp, err := s.cli.Delete(ctx, prefixMonitors+ins)
	if err != nil {
		return false, fmt.Errorf("store: delete monitor %s: %w", ins, err)
	}
	return resp.Deleted > 0, nil
}

// Monitors returns the monitored remote instances, by name.
func (s *Store) Monitors(ctx context.Context) ([]Monitor, error) {
	resp, err := s.cli.Get(ctx, prefixMonitors, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("store: read monitors: %w", err)
	}
	out := make([]Monitor, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var m Monitor
		if err := json.Unmarshal(kv.Value, &m); err != nil {
			s.log.Warn("ignoring undecodable monitor", "key", string(kv.Key), "err", err)
			continue
		}
		m.Instance = strings.TrimPrefix(string(kv.Key), prefixMonitors)
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Monitor) int { return strings.Compare(a.Instance, b.Instance) })
	return out, nil
}

// WatchMonitors delivers the monitored remote instances now and after
// every change; a reader that falls behind gets the newest list. The
// channel closes when ctx ends or the store is closed.
func (s *Store) WatchMonitors(ctx context.Context) <-chan []Monitor {
	ch := make(chan []Monitor, 1)
	ctx, cancel := s.scope(ctx)
	go func() {
		defer close(ch)
		defer cancel()
		var r retry
		send := func() bool {
			for {
				list, err := s.Monitors(ctx)
				if err == nil {
					select {
					case <-ch:
					default:
					}
					ch <- list
					return true
				}
				if !r.wait(ctx) {
					return false
				}
			}
		}
		if !send() {
			return
		}
		_ = s.follow(ctx, prefixMonitors, true, func(*mvccpb.KeyValue, bool) bool { return !send() })
	}()
	return ch
}

// SaveAlerts stores the alert state of the evaluator on infra host ip;
// the value is the evaluator's own.
func (s *Store) SaveAlerts(ctx context.Context, ip string, state []byte) error {
	if err := checkName("infra host", ip); err != nil {
		return err
	}
	if _, err := s.cli.Put(ctx, prefixAlerts+ip, string(state)); err != nil {
		return fmt.Errorf("store: write alerts of %s: %w", ip, err)
	}
	return nil
}

// LoadAlerts returns what SaveAlerts stored for ip, nil when nothing.
func (s *Store) LoadAlerts(ctx context.Context, ip string) ([]byte, error) {
	if err := checkName("infra host", ip); err != nil {
		return nil, err
	}
	resp, err := s.cli.Get(ctx, prefixAlerts+ip)
	if err != nil {
		return nil, fmt.Errorf("store: read alerts of %s: %w", ip, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return resp.Kvs[0].Value, nil
}
