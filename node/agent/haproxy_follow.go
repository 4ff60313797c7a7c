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

	"pigsty/pgsql/haproxy"
	"pigsty/pgsql/layout"
)

// followWatch is the set of loops moving this host's HAProxy services to
// their clusters' leaders, replaced when the services change.
type followWatch struct {
	mu   sync.Mutex
	key  string
	stop chan struct{}
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
