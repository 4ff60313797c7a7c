package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"pigsty/infra/store"
	"pigsty/pgsql/haproxy"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/patroni"
)

// followWatch is the set of loops moving this host's HAProxy services to
// their clusters' leaders, replaced when the services change, and what
// they know.
type followWatch struct {
	mu      sync.Mutex
	key     string
	stop    chan struct{}
	leaders map[string]string // cluster → member holding its leader key
	last    *run              // the latest pass's haproxy phase
	render  sync.Mutex        // one rendering of HAProxy's files at a time
}

// learn reads the leader key of clusters whose leader is not known yet,
// so that the first rendering after a start already uses live roles.
func (w *followWatch) learn(ctx context.Context, st *store.Store, follows []haproxy.Follow) {
	for _, f := range follows {
		w.mu.Lock()
		_, known := w.leaders[f.Cluster]
		w.mu.Unlock()
		if known {
			continue
		}
		if holder, err := st.Leader(ctx, f.LeaderKey); err == nil && holder != "" {
			w.setLeader(f.Cluster, holder)
		}
	}
}

// setLeader records a cluster's leader and reports whether it changed.
// A key nobody holds (an election under way) keeps the last leader: the
// files change once, when the next one is known.
func (w *followWatch) setLeader(cluster, holder string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if holder == "" || w.leaders[cluster] == holder {
		return false
	}
	if w.leaders == nil {
		w.leaders = map[string]string{}
	}
	w.leaders[cluster] = holder
	return true
}

// followLeaders starts (or replaces) one loop per cluster whose services
// this host's HAProxy serves: each watches the cluster's leader key and,
// when it changes hands, puts the new holder's servers up and the others
// down through the runtime API (see haproxy.Follow). It also closes the
// window after HAProxy starts in which every server counts as up until
// its first check.
// With follows empty the loops end.
func (r *run) followLeaders(follows []haproxy.Follow) {
	w := &r.follows
	w.mu.Lock()
	defer w.mu.Unlock()
	key := fmt.Sprint(follows)
	if w.key == key {
		return
	}
	if w.stop != nil {
		close(w.stop)
		w.stop = nil
	}
	w.key = key
	if len(follows) == 0 {
		return
	}
	w.stop = make(chan struct{})
	for _, f := range follows {
		go r.followLeader(r.runCtx, w.stop, f, r.l, r.log.With("follow", f.Cluster))
	}
}

func (r *run) followLeader(ctx context.Context, stop <-chan struct{}, f haproxy.Follow, l layout.Layout, log *slog.Logger) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	leaders := r.store.WatchLeader(ctx, f.LeaderKey)
	var holder string
	var retry <-chan time.Time // set while the last holder is not applied
	for {
		select {
		case h, ok := <-leaders:
			if !ok {
				return
			}
			holder = h
		case <-retry:
		}
		retry = nil
		// HAProxy may be restarting: try again until it takes the change
		// or the leader changes again.
		if err := haproxyCommands(ctx, l, haproxy.FollowCommands(f, holder)); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("cannot move the services to the leader", "leader", holder, "err", err)
			retry = time.After(time.Second)
			continue
		}
		log.Info("services follow the leader", "leader", holder)
		if r.follows.setLeader(f.Cluster, holder) {
			r.rerender(ctx, log)
			if f.Cluster == r.inst.Cluster {
				r.passSoon(ctx)
			}
		}
	}
}

// rerender renders HAProxy's files for the new leader as the latest pass
// would, and reloads HAProxy when they changed: the replica and offline
// services select by live roles.
func (r *run) rerender(ctx context.Context, log *slog.Logger) {
	r.follows.mu.Lock()
	last := r.follows.last
	r.follows.mu.Unlock()
	if last == nil {
		return
	}
	changed, err := last.renderHAProxy()
	if err != nil {
		log.Warn("cannot render the services for the new leader", "err", err)
		return
	}
	if !changed {
		return
	}
	if err := r.sup.Reload(ctx, "haproxy"); err != nil {
		log.Warn("cannot reload HAProxy for the new leader", "err", err)
	}
}

// haproxyCommands runs commands on HAProxy's runtime API (the stats socket
// of the worker; a reloaded worker takes it over); any output is an error
// message.
func haproxyCommands(ctx context.Context, l layout.Layout, cmds []string) error {
	if len(cmds) == 0 {
		return nil
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", haproxy.SocketPath(l))
	if err != nil {
		return fmt.Errorf("haproxy stats socket: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line := strings.Join(cmds, "; ") + "\n"
	if _, err := io.WriteString(c, line); err != nil {
		return fmt.Errorf("haproxy runtime API: %w", err)
	}
	out, err := io.ReadAll(c)
	if err != nil {
		return fmt.Errorf("haproxy runtime API: %w", err)
	}
	if msg := strings.TrimSpace(string(out)); msg != "" {
		return fmt.Errorf("haproxy runtime API: %s", msg)
	}
	return nil
}

// Leaders reads who holds each cluster's leader key, for rendering
// HAProxy's files as the agents do (HAProxyFiles); clusters without a
// leader are left out.
func Leaders(ctx context.Context, st *store.Store, inv *inventory.Inventory) (map[string]string, error) {
	out := map[string]string{}
	for _, c := range inv.Clusters {
		p := c.Primary()
		if p == nil {
			p = c.Instances[0]
		}
		holder, err := st.Leader(ctx, patroni.KeyPrefix(p)+"leader")
		if err != nil {
			return nil, err
		}
		if holder != "" {
			out[c.Name] = holder
		}
	}
	return out, nil
}
