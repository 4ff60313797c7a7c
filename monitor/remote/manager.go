package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"sync"
	"time"
)

// Exporter serves one remote instance's metrics until closed: the pg
// exporter library's exporter.
type Exporter interface {
	Handler() http.Handler
	Close() error
}

// Open starts an exporter for an instance.
type Open func(Instance) (Exporter, error)

// Manager runs the exporters of one infra host.
type Manager struct {
	Open Open
	Log  *slog.Logger

	mu      sync.Mutex
	running map[string]*running // by Listen
	failed  map[string]string   // Listen → the error last logged
}

type running struct {
	in  Instance
	ex  Exporter
	srv *http.Server
}

// Run keeps the exporters of the latest list received running until ctx
// ends, then closes them all. An exporter that cannot start (its port is
// taken) is tried again every retry.
func (m *Manager) Run(ctx context.Context, lists <-chan []Instance, retry time.Duration) {
	t := time.NewTicker(retry)
	defer t.Stop()
	var want []Instance
	for {
		select {
		case <-ctx.Done():
			m.apply(nil)
			return
		case l, ok := <-lists:
			if !ok {
				m.apply(nil)
				return
			}
			want = l
		case <-t.C:
		}
		m.apply(want)
	}
}

// apply stops the exporters not in want or changed, and starts the
// missing ones.
func (m *Manager) apply(want []Instance) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running == nil {
		m.running, m.failed = map[string]*running{}, map[string]string{}
	}
	keep := map[string]Instance{}
	for _, in := range want {
		keep[in.Listen] = in
	}
	for addr, r := range m.running {
		if in, ok := keep[addr]; ok && reflect.DeepEqual(in, r.in) {
			continue
		}
		m.stop(r)
		delete(m.running, addr)
	}
	for addr, in := range keep {
		if _, ok := m.running[addr]; ok {
			continue
		}
		r, err := m.start(in)
		if err != nil {
			if m.failed[addr] != err.Error() {
				m.Log.Error("remote exporter not started", "cls", in.Cls, "ins", in.Ins, "listen", addr, "err", err)
				m.failed[addr] = err.Error()
			}
			continue
		}
		delete(m.failed, addr)
		m.running[addr] = r
		m.Log.Info("remote exporter started", "cls", in.Cls, "ins", in.Ins, "listen", addr, "server", in.Host)
	}
	for addr := range m.failed {
		if _, ok := keep[addr]; !ok {
			delete(m.failed, addr)
		}
	}
}

func (m *Manager) start(in Instance) (*running, error) {
	ln, err := net.Listen("tcp", in.Listen)
	if err != nil {
		return nil, err
	}
	ex, err := m.Open(in)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("exporter: %w", err)
	}
	srv := &http.Server{Handler: ex.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Log.Error("remote exporter", "ins", in.Ins, "listen", in.Listen, "err", err)
		}
	}()
	return &running{in: in, ex: ex, srv: srv}, nil
}

func (m *Manager) stop(r *running) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.srv.Shutdown(ctx)
	if err := r.ex.Close(); err != nil {
		m.Log.Warn("remote exporter close", "ins", r.in.Ins, "err", err)
	}
	m.Log.Info("remote exporter stopped", "cls", r.in.Cls, "ins", r.in.Ins, "listen", r.in.Listen)
}
