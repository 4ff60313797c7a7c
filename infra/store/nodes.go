package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Node is an agent's registration.
type Node struct {
	IP           string    `json:"ip"` // the address the node is known by in the inventory
	Hostname     string    `json:"hostname"`
	AgentVersion string    `json:"agent_version"`
	Spec         NodeSpec  `json:"spec"`
	Started      time.Time `json:"started"` // when the agent started
}

// NodeSpec is the hardware and OS the agent found.
type NodeSpec struct {
	CPU       int    `json:"cpu"`
	MemMB     int    `json:"mem_mb"`
	DiskBytes int64  `json:"disk_bytes,omitempty"` // size of the filesystem holding pg_fs_main
	OS        string `json:"os,omitempty"`         // e.g. debian 12
	Arch      string `json:"arch,omitempty"`
}

// RegisterNode writes n under a lease of ttl and returns once it is
// written. The lease is then kept alive in the background until ctx is
// done or the store is closed, after which the record expires within
// ttl – just as it does when the agent dies. If etcd is unreachable for
// longer than ttl the lease is lost and the record is written again under
// a new one when etcd is back. Register each node once per ctx.
func (s *Store) RegisterNode(ctx context.Context, n Node, ttl time.Duration) error {
	addr, err := netip.ParseAddr(n.IP)
	if err != nil {
		return fmt.Errorf("store: register node: %w", err)
	}
	n.IP = addr.String()
	if ttl < time.Second {
		return fmt.Errorf("store: register node %s: ttl %s is below 1s", n.IP, ttl)
	}
	val, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("store: encode node %s: %w", n.IP, err)
	}
	key := prefixNodes + n.IP
	seconds := int64(math.Ceil(ttl.Seconds()))

	kctx, cancel := s.scope(ctx)
	alive, err := s.register(kctx, key, string(val), seconds)
	if err != nil {
		cancel()
		return fmt.Errorf("store: register node %s: %w", n.IP, err)
	}
	go func() {
		defer cancel()
		var r retry
		for {
			for range alive { // responses carry nothing we need; the channel closes when the lease is no longer kept
			}
			if kctx.Err() != nil {
				return
			}
			s.log.Warn("node registration lease lost; registering again", "ip", n.IP)
			for {
				if !r.wait(kctx) {
					return
				}
				if alive, err = s.register(kctx, key, string(val), seconds); err == nil {
					r.reset()
					break
				}
				s.log.Warn("node registration failed", "ip", n.IP, "err", err)
			}
		}
	}()
	return nil
}

// register grants a lease, writes the record under it and starts keeping
// it alive; the returned channel closes when the lease is no longer kept.
func (s *Store) register(ctx context.Context, key, val string, ttl int64) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	lease, err := s.cli.Grant(ctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("grant lease: %w", err)
	}
	if _, err := s.cli.Put(ctx, key, val, clientv3.WithLease(lease.ID)); err != nil {
		return nil, fmt.Errorf("write %s: %w", key, err)
	}
	alive, err := s.cli.KeepAlive(ctx, lease.ID)
	if err != nil {
		return nil, fmt.Errorf("keep lease alive: %w", err)
	}
	return alive, nil
}

// Nodes returns the registered nodes, ordered by key.
func (s *Store) Nodes(ctx context.Context) ([]Node, error) {
	resp, err := s.cli.Get(ctx, prefixNodes, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("store: read nodes: %w", err)
	}
	out := make([]Node, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var n Node
		if err := json.Unmarshal(kv.Value, &n); err != nil {
			s.log.Warn("ignoring undecodable node", "key", string(kv.Key), "err", err)
			continue
		}
		out = append(out, n)
	}
	return out, nil
}
