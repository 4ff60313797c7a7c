package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"

	"pigsty/node/prepare"
	"pigsty/node/supervisor"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// run is one convergence pass of one instance.
type run struct {
	*Agent
	inst *inventory.Instance
	rev  int64
	log  *slog.Logger
	l    layout.Layout
	dbsu prepare.DBSU
	cred *syscall.Credential
	role string // the member's role as Patroni reports it
}

// errWaiting is a pass that ended early because something is still
// coming up (a replica being cloned); the next pass continues.
var errWaiting = errors.New("waiting")

// converge runs the phases in Pigsty's order and returns the last phase
// reached.
func (r *run) converge(ctx context.Context) (string, error) {
	p := r.inst.Params
	r.l = layout.New(r.cfg.Root, r.inst)
	phases := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"prepare", r.prepare},
		{"certificates", r.certificates},
		{"patroni", r.patroni},
		{"postgres", r.postgres},
		{"provision", r.provision},
		{"pgbouncer", r.pgbouncer},
		{"haproxy", r.haproxy},
	}
	for _, ph := range phases {
		if ph.name == "pgbouncer" && !p.PgbouncerEnabled {
			continue
		}
		if ph.name == "haproxy" && !p.HaproxyEnabled {
			continue
		}
		if err := ph.fn(ctx); err != nil {
			return ph.name, fmt.Errorf("%s: %w", ph.name, err)
		}
	}
	return "ready", nil
}

func (r *run) prepare(ctx context.Context) error {
	u, err := prepare.EnsureDBSU(ctx, r.inst.Params, supervisor.CombinedOutput)
	if err != nil {
		return err
	}
	r.dbsu = u
	r.cred = &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: []uint32{}}
	r.distroOnce.Do(func() { prepare.StopDistroServices(ctx, supervisor.CombinedOutput, r.log) })
	return prepare.Layout(r.l, r.inst.Params, u, r.log)
}

// file writes a rendered file owned by the dbsu (or root), logging a change.
func (r *run) file(path string, data []byte, mode os.FileMode, dbsu bool) (bool, error) {
	f := File{Path: path, Data: data, Mode: mode}
	if dbsu {
		f.UID, f.GID = r.dbsu.UID, r.dbsu.GID
	}
	changed, err := write(f)
	if changed {
		r.log.Info("file changed", "path", path)
	}
	return changed, err
}

// exists reports whether a file exists; BinDir uses it.
func exists(p string) bool { _, err := os.Stat(p); return err == nil }
