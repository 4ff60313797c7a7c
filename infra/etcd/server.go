// Package etcd runs one member of the control plane's etcd cluster with
// etcd's own server code (go.etcd.io/etcd/server/v3/embed). It holds the
// desired state under /pigsty/ and is Patroni's DCS under /pg/, which
// Patroni reaches through the gRPC gateway's HTTP JSON API.
//
// The agent runs it in its own process (`pigsty run etcd`, see Main) so
// that restarting or upgrading the agent never stops the DCS.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/logutil"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// Compaction keeps one hour of history, by time rather than by revision
// count: Patroni writes a few keys per cluster every loop_wait, so the
// revision rate grows with the fleet while an hour stays an hour. An hour
// is far more than any watcher needs to resume after an etcd restart (and
// the store re-reads when it is not enough), and it keeps history small:
// Pigsty's 24h would hold millions of revisions on a large fleet. A short
// period also matters because the periodic compactor restarts its window
// with the process.
const (
	compactionMode      = "periodic"
	compactionRetention = "1h"
)

// Server is a running etcd member.
type Server struct {
	e   *embed.Etcd
	log *slog.Logger

	mu   sync.Mutex
	grpc []*grpc.Server // the client-facing gRPC servers, captured to cut streams on Close

	closing   chan struct{}
	errc      chan error
	closeOnce sync.Once
	closeErr  error
}

// Start starts the member and returns once it serves clients, Patroni
// included, which for a new multi-member cluster means once a quorum of
// members has started. It gives up when ctx is done. It listens on the
// configured URLs only, and never serves the debug handlers that etcd's
// dependencies register on http.DefaultServeMux.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("ins", cfg.Name)
	s := &Server{log: log, closing: make(chan struct{}), errc: make(chan error, 1)}
	ec, err := s.embedConfig(cfg)
	if err != nil {
		return nil, err
	}
	existing := wal.Exist(filepath.Join(cfg.DataDir, "member", "wal"))
	began := time.Now()
	s.e, err = embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("etcd %s: start: %w", cfg.Name, err)
	}
	if err := s.waitReady(ctx, existing); err != nil {
		if cerr := s.Close(5 * time.Second); cerr != nil {
			log.Warn("etcd close after failed start", "err", cerr)
		}
		return nil, fmt.Errorf("etcd %s: %w", cfg.Name, err)
	}
	log.Info("etcd ready", "took", time.Since(began).Round(time.Millisecond), "existing_data", existing,
		"client_urls", cfg.ClientURLs, "peer_urls", cfg.PeerURLs)
	go s.watch()
	return s, nil
}

func (s *Server) embedConfig(cfg Config) (*embed.Config, error) {
	ec := embed.NewConfig()
	ec.Name = cfg.Name
	ec.Dir = cfg.DataDir
	var err error
	if ec.ListenClientUrls, err = parseURLs(cfg.ClientURLs); err != nil {
		return nil, err
	}
	if ec.AdvertiseClientUrls, err = parseURLs(advertisedClientURLs(cfg.ClientURLs)); err != nil {
		return nil, err
	}
	if ec.ListenPeerUrls, err = parseURLs(cfg.PeerURLs); err != nil {
		return nil, err
	}
	ec.AdvertisePeerUrls = ec.ListenPeerUrls
	if !cfg.ClientTLS.empty() {
		ec.ClientTLSInfo = cfg.ClientTLS.info()
	}
	if !cfg.PeerTLS.empty() {
		ec.PeerTLSInfo = cfg.PeerTLS.info()
	}
	ec.InitialCluster = cfg.InitialCluster
	ec.InitialClusterToken = cfg.Token
	// A member with data restarts from its WAL and ignores the initial
	// cluster settings, so "new" is right for a first start and harmless
	// for every start after it.
	ec.ClusterState = embed.ClusterStateFlagNew
	if cfg.ClusterState != "" {
		ec.ClusterState = cfg.ClusterState
	}
	ec.QuotaBackendBytes = cfg.QuotaBytes
	if ec.QuotaBackendBytes == 0 {
		ec.QuotaBackendBytes = DefaultQuotaBytes
	}
	ec.AutoCompactionMode = compactionMode
	ec.AutoCompactionRetention = compactionRetention
	// Left at 0, etcd logs every single request as slow.
	ec.WarningUnaryRequestDuration = embed.DefaultWarningUnaryRequestDuration
	// Patroni's etcd3 DCS speaks the gateway's JSON API on the client port.
	ec.EnableGRPCGateway = true
	ec.EnablePprof = false
	ec.ServiceRegister = s.captureGRPC

	zl, err := zapLogger()
	if err != nil {
		return nil, err
	}
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zl)
	return ec, nil
}

// zapLogger writes etcd's own log as JSON lines to stderr, which the
// supervisor captures into the member's log file. Warn and above only:
// at info etcd logs every lease, compaction and snapshot.
func zapLogger() (*zap.Logger, error) {
	zc := logutil.DefaultZapLoggerConfig
	zc.Level = zap.NewAtomicLevelAt(zap.WarnLevel)
	zc.OutputPaths = []string{"stderr"}
	zc.ErrorOutputPaths = []string{"stderr"}
	lg, err := zc.Build()
	if err != nil {
		return nil, fmt.Errorf("etcd logger: %w", err)
	}
	return lg, nil
}

func parseURLs(ss []string) ([]url.URL, error) {
	out := make([]url.URL, 0, len(ss))
	for _, s := range ss {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("etcd config: url %q: %w", s, err)
		}
		out = append(out, *u)
	}
	return out, nil
}

// captureGRPC is etcd's hook for registering extra gRPC services; it is
// the only handle on the client gRPC servers. Close stops them hard first,
// because embed's graceful stop otherwise waits its full request timeout
// (7 s) for every open watch or lease stream, Patroni's included.
func (s *Server) captureGRPC(gs *grpc.Server) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grpc = append(s.grpc, gs)
}

func (s *Server) waitReady(ctx context.Context, existing bool) error {
	began := time.Now()
	quorum := time.NewTicker(10 * time.Second)
	defer quorum.Stop()
	// Ready to serve is not yet ready for Patroni: until the leader has
	// decided the cluster version, /version says "not_decided", which
	// Patroni cannot parse. It follows within milliseconds and nothing
	// announces it, so look.
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	ready := s.e.Server.ReadyNotify()
	serving := false
	for {
		select {
		case <-ready:
			serving, ready = true, nil
		case <-poll.C:
		case err, ok := <-s.e.Err():
			if !ok {
				return errors.New("stopped before it was ready")
			}
			return fmt.Errorf("serving: %w", err)
		case <-s.e.Server.StopNotify():
			return errors.New("server stopped before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", time.Since(began).Round(time.Millisecond), ctx.Err())
		case <-quorum.C:
			// A new cluster's members wait for each other; say so rather than
			// look hung.
			s.log.Warn("etcd waiting for a quorum of members", "waited", time.Since(began).Round(time.Second),
				"existing_data", existing)
		}
		if serving && s.e.Server.ClusterVersion() != nil {
			return nil
		}
	}
}

// watch reports the first error that stops the member on its own: a
// listener failing, or the server stopping (e.g. removed from the cluster).
func (s *Server) watch() {
	var err error
	select {
	case <-s.closing:
		return
	case e, ok := <-s.e.Err():
		if !ok {
			return
		}
		err = fmt.Errorf("etcd: serving: %w", e)
	case <-s.e.Server.StopNotify():
		err = errors.New("etcd: server stopped")
	}
	select {
	case <-s.closing:
		return
	default:
	}
	s.log.Error("etcd failed", "err", err)
	s.errc <- err
}

// Err delivers an error when the member stops on its own; it never
// delivers after Close.
func (s *Server) Err() <-chan error { return s.errc }

// Close stops the member: it cuts client connections, hands raft
// leadership to another member if it has it, persists and closes the
// backend. It returns an error if that takes longer than timeout; the
// remaining work then continues in the background (data on disk is safe
// either way: every commit is in the fsynced WAL).
func (s *Server) Close(timeout time.Duration) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(timeout) })
	return s.closeErr
}

func (s *Server) close(timeout time.Duration) error {
	close(s.closing)
	began := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.mu.Lock()
		servers := s.grpc
		s.mu.Unlock()
		for _, gs := range servers {
			gs.Stop()
		}
		// Stopping the server (which hands over leadership, as embed's
		// Close would) before Close releases Close's wait for client
		// servers that never start when the member never became ready.
		s.e.Server.Stop()
		s.e.Close()
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		s.log.Info("etcd closed", "took", time.Since(began).Round(time.Millisecond))
		return nil
	case <-t.C:
		return fmt.Errorf("etcd: close did not finish within %s", timeout)
	}
}
