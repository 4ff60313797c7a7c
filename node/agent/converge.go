package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"syscall"

	"pigsty/infra/store"
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
	// patroniConfig is the rendered Patroni config of this pass.
	patroniConfig []byte
	desired       store.Desired // what this pass converges to
}

// errWaiting is a pass that ended early because something is still
// coming up (a replica being cloned); the next pass continues.
var errWaiting = errors.New("waiting")

// phase is one step of a convergence pass. Features add theirs from their
// own files (see register), so the pass reads as Pigsty's order.
type phase struct {
	order int // position in the pass: lower runs first
	name  string
	fn    func(*run, context.Context) error
}

var phases []phase

// register adds a phase to every pass.
func register(order int, name string, fn func(*run, context.Context) error) {
	phases = append(phases, phase{order, name, fn})
	sort.SliceStable(phases, func(a, b int) bool { return phases[a].order < phases[b].order })
}

func init() {
	register(100, "prepare", (*run).prepare)
	register(200, "certificates", (*run).certificates)
	register(300, "patroni", (*run).patroni)
	register(400, "postgres", (*run).postgres)
	register(500, "provision", (*run).provision)
	register(700, "pgbouncer", (*run).pgbouncer)
	register(800, "haproxy", (*run).haproxy)
}

// converge runs the phases in order and returns the last phase reached.
func (r *run) converge(ctx context.Context) (string, error) {
	r.l = layout.New(r.cfg.Root, r.inst)
	for _, ph := range phases {
		if err := ph.fn(r, ctx); err != nil {
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
		r.changed("file " + path)
	}
	return changed, err
}

// exists reports whether a file exists; BinDir uses it.
func exists(p string) bool { _, err := os.Stat(p); return err == nil }
