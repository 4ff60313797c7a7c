package agent

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"pigsty/node/supervisor"
	"pigsty/pgsql/haproxy"
	"pigsty/pgsql/layout"
)

// haproxy renders haproxy.cfg and one file per service, removes the files
// of services that are gone, and keeps HAProxy running; a change reloads
// it without dropping connections (master-worker, SIGUSR2), after saving
// the servers' states so that the new workers do not route to a replica
// before their first check. Services select members by their live roles
// (the clusters' leader keys), and follow them as they change (see
// followLeaders).
func (r *run) haproxy(ctx context.Context) error {
	if !r.inst.Params.HaproxyEnabled {
		r.followLeaders(nil)
		return nil
	}
	follows := haproxy.Follows(r.inst)
	r.follows.learn(ctx, r.store, follows)
	changed, err := r.renderHAProxy()
	if err != nil {
		return err
	}
	// Without a state file HAProxy warns at start; the initial one holds no
	// servers, so the first checks decide as before.
	if !exists(haproxy.StatePath(r.l)) {
		if _, err := r.file(haproxy.StatePath(r.l), []byte(haproxy.InitialState), 0o600, false); err != nil {
			return err
		}
	}
	if err := r.ensure(ctx, r.haproxySpec(), changed); err != nil {
		return err
	}
	r.followLeaders(follows)
	return nil
}

// renderHAProxy writes HAProxy's files for the leaders known now and
// removes stale services; it reports whether anything changed. The pass
// and the leader loops render through it, one at a time, and it keeps
// this run as the one the loops render for next.
func (r *run) renderHAProxy() (bool, error) {
	w := &r.follows
	w.render.Lock()
	defer w.render.Unlock()
	w.mu.Lock()
	w.last = r
	leaders := maps.Clone(w.leaders)
	w.mu.Unlock()
	files, err := HAProxyFiles(r.inst, r.l, leaders)
	if err != nil {
		return false, err
	}
	changed, err := r.write(files)
	if err != nil {
		return false, err
	}
	stale, err := StaleServices(r.l, files)
	if err != nil {
		return false, err
	}
	for _, path := range stale {
		r.log.Info("removing service", "path", path)
		if err := os.Remove(path); err != nil {
			return false, err
		}
		r.changed("remove " + path)
		changed = true
	}
	return changed, nil
}

// StaleServices are the files of HAProxy's services directory that are no
// longer rendered: services that are gone.
func StaleServices(l layout.Layout, files []Rendered) ([]string, error) {
	have, err := filepath.Glob(filepath.Join(haproxy.ServicesDir(l), "*.cfg"))
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, f := range files {
		keep[f.Path] = true
	}
	var out []string
	for _, path := range have {
		if !keep[path] {
			out = append(out, path)
		}
	}
	return out, nil
}

// haproxySpec is how the supervisor runs HAProxy: master-worker in the
// foreground, reloaded with SIGUSR2 after the servers' states are saved.
func (r *run) haproxySpec() supervisor.Spec {
	return supervisor.Spec{
		Name: "haproxy", Path: "/usr/sbin/haproxy",
		Args: []string{"-W", "-db", "-f", haproxy.ConfigPath(r.l), "-f", haproxy.ServicesDir(r.l)},
		Env:  []string{"PATH=/usr/bin:/bin"}, Dir: "/",
		LogFile:      filepath.Join(r.l.State(), "log", "haproxy.log"),
		StopSignal:   syscall.SIGTERM,
		StopTimeout:  10 * time.Second,
		ReloadSignal: syscall.SIGUSR2,
		BeforeReload: func(ctx context.Context) error { return saveServerState(ctx, r.l) },
		Ready:        dialReady("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.inst.Params.HaproxyExporterPort))),
		StartTimeout: 30 * time.Second,
	}
}

// saveServerState dumps `show servers state` into the server-state-file
// that the reloaded workers load.
func saveServerState(ctx context.Context, l layout.Layout) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", haproxy.SocketPath(l))
	if err != nil {
		return fmt.Errorf("haproxy stats socket: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "show servers state\n"); err != nil {
		return err
	}
	state, err := io.ReadAll(c)
	if err != nil {
		return fmt.Errorf("haproxy server state: %w", err)
	}
	if !strings.HasPrefix(string(state), "1\n") && !strings.HasPrefix(string(state), "1\r") {
		return fmt.Errorf("haproxy server state: unexpected answer %q", firstLine(string(state)))
	}
	_, err = write(File{Path: haproxy.StatePath(l), Data: state, Mode: 0o600})
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
