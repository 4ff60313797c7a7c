package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os/user"
	"path/filepath"
	"syscall"
	"time"

	"pigsty/node/prepare"
	"pigsty/node/supervisor"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// Adopt takes over the running children of the instance on ip without
// starting any, so that sup.StopAll stops them: what `pigsty stop` does
// when the agent that started them is gone. A postmaster left without its
// Patroni is stopped too.
func Adopt(ctx context.Context, root string, inv *inventory.Inventory, ip string, sup *supervisor.Supervisor, log *slog.Logger) (orphans func(context.Context) error, err error) {
	h := inv.Host(ip)
	if h == nil || h.Instance == nil {
		return func(context.Context) error { return nil }, nil
	}
	i := h.Instance
	r := &run{Agent: &Agent{cfg: Config{Root: root}, sup: sup, log: log}, inst: i, log: log.With("cls", i.Cluster, "ins", i.Name)}
	r.l = layout.New(root, i)
	u, err := user.Lookup(i.Params.PgDbsu)
	if err != nil {
		return nil, fmt.Errorf("stop %s: %w", i.Name, err)
	}
	var uid, gid int
	fmt.Sscan(u.Uid, &uid)
	fmt.Sscan(u.Gid, &gid)
	r.dbsu = prepare.DBSU{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir}
	r.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	specs := []supervisor.Spec{}
	if ps, err := r.patroniSpec(0); err == nil {
		specs = append(specs, ps)
	}
	specs = append(specs, r.pgbouncerSpec(), r.haproxySpec())
	for _, s := range specs {
		if _, err := sup.Adopt(ctx, s); err != nil {
			return nil, err
		}
	}
	return func(ctx context.Context) error { return stopPostmaster(ctx, r.l, log) }, nil
}

// stopPostmaster stops a postmaster that outlived its Patroni: a fast
// shutdown, then an immediate one.
func stopPostmaster(ctx context.Context, l layout.Layout, log *slog.Logger) error {
	pm := supervisor.PIDFromFile(filepath.Join(l.Data(), "postmaster.pid"), l.Data())
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGINT, time.Minute}, {syscall.SIGQUIT, 10 * time.Second}} {
		pid, ok := pm()
		if !ok {
			return nil
		}
		log.Info("stopping postgres left without patroni", "pid", pid, "signal", step.sig)
		if err := syscall.Kill(pid, step.sig); err != nil {
			return nil
		}
		deadline := time.Now().Add(step.wait)
		for time.Now().Before(deadline) {
			if _, ok := pm(); !ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	if pid, ok := pm(); ok {
		return fmt.Errorf("postgres (pid %d) does not stop", pid)
	}
	return nil
}
