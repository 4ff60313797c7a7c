// Package store keeps the control plane's state in etcd, under /pigsty/
// (Patroni owns /pg/):
//
//	/pigsty/desired        the validated inventory as the user wrote it, one key,
//	                       so every agent converges to the same revision
//	/pigsty/status/<ins>   what each instance's agent last converged to
//	/pigsty/nodes/<ip>     agents that are alive, held by a lease
//	/pigsty/hold/<ins>     instances a recovery holds: their agents keep Patroni stopped
//
// Values are JSON. The store neither parses nor validates the inventory:
// callers validate before PutDesired.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"pigsty/infra/etcd"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

const (
	keyDesired   = "/pigsty/desired"
	prefixStatus = "/pigsty/status/"
	prefixNodes  = "/pigsty/nodes/"
)

// ErrNotFound is returned when there is no desired state yet.
var ErrNotFound = errors.New("store: not found")

var errClosed = errors.New("store closed")

// ErrAuthOff is returned by Open with a user while the cluster's
// authentication is not on yet.
var ErrAuthOff = errors.New("authentication is not on yet")

// Store is a client of the etcd cluster.
type Store struct {
	cli *clientv3.Client
	log *slog.Logger
}

// Open connects to the etcd members of a (their endpoints, CA and user)
// and returns once one of them answers, or fails when ctx is done first.
func Open(ctx context.Context, a etcd.Access, log *slog.Logger) (*Store, error) {
	endpoints := a.Endpoints
	if log == nil {
		log = slog.Default()
	}
	cfg, err := a.Config()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Keepalive pings find a dead member behind a silent network (a cut
	// link, a crashed host) and move to another endpoint. Only while a
	// stream is open (the agents always watch): etcd answers pings on an
	// idle connection with GOAWAY too_many_pings.
	cfg.DialKeepAliveTime = 10 * time.Second
	cfg.DialKeepAliveTimeout = 5 * time.Second
	cfg.Logger = zap.New(slogCore{h: log.Handler()})
	cfg.DialOptions = []grpc.DialOption{
		// gRPC's default reconnect backoff grows to 2 minutes; an agent
		// should notice within seconds that etcd is back.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: etcd client for %v: %w", endpoints, err)
	}
	if _, err := cli.Get(ctx, keyDesired, clientv3.WithCountOnly()); err != nil {
		cli.Close()
		return nil, fmt.Errorf("store: etcd %v: %w", endpoints, err)
	}
	// A client with a user connects to a cluster whose authentication is
	// still off (a starting infra host) without a token, and fails once
	// it is turned on: not open yet.
	if a.Username != "" {
		_, err := cli.Authenticate(ctx, a.Username, a.Password)
		if errors.Is(err, rpctypes.ErrAuthNotEnabled) {
			err = ErrAuthOff
		}
		if err != nil {
			cli.Close()
			return nil, fmt.Errorf("store: etcd %v: %w", endpoints, err)
		}
	}
	return &Store{cli: cli, log: log}, nil
}

// Close closes the connection. Watches end and node registrations stop
// being kept alive (the records expire after their TTL).
func (s *Store) Close() error {
	if err := s.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// scope returns a context that also ends when the store is closed, for
// loops that outlive the call that started them.
func (s *Store) scope(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.cli.Ctx(), cancel)
	return ctx, func() { stop(); cancel() }
}

// retry paces the loops that wait for etcd to come back.
type retry struct{ d time.Duration }

func (r *retry) reset() { r.d = 0 }

// wait sleeps for the next delay (100 ms doubling to 5 s); false when ctx
// ended first.
func (r *retry) wait(ctx context.Context) bool {
	r.d = min(max(2*r.d, 100*time.Millisecond), 5*time.Second)
	t := time.NewTimer(r.d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
