package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"pigsty/infra/store"
	"pigsty/node/supervisor"
	"pigsty/pgsql/haproxy"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// removal takes the instances `pigsty pgsql rm` removed out of the
// inventory the pass converges to, after removing this host's own if it is
// one of them; the other members then render their services without them.
// It reports whether this host's instance was removed (the pass is over).
func (a *Agent) removal(ctx context.Context, d store.Desired, inv *inventory.Inventory) bool {
	defer func() {
		var names []string
		for _, r := range d.Removed {
			names = append(names, r.Instance)
		}
		inv.Remove(names...)
	}()
	h := inv.Host(a.cfg.IP)
	if h == nil || h.Instance == nil {
		return false
	}
	rm, ok := d.Removes(h.Instance.Name)
	if !ok {
		return false
	}
	i := h.Instance
	log := a.log.With("cls", i.Cluster, "ins", i.Name)
	r := &run{Agent: a, inst: i, rev: d.Revision, log: log, desired: d, l: layout.New(a.cfg.Root, i)}
	err := r.remove(ctx, rm, lastOfCluster(i, d))
	st := store.Status{Instance: i.Name, Revision: d.Revision, OK: err == nil, Phase: "removed",
		Children: a.children(), Changes: a.changes.of(i.Name, d.Revision)}
	if err != nil {
		st.Phase, st.Error = "remove", err.Error()
		log.Error("remove failed", "err", err)
	}
	if ctx.Err() == nil {
		if perr := a.store.PutStatus(ctx, st); perr != nil {
			log.Warn("cannot report status", "err", perr)
		}
	}
	return true
}

// lastOfCluster reports whether instance i is the primary of its cluster
// or its last member left: its removal takes the cluster's DCS state with
// it, as Pigsty's pg_remove does on the primary.
func lastOfCluster(i *inventory.Instance, d store.Desired) bool {
	if i.Role == "primary" {
		return true
	}
	for _, m := range i.ClusterOf().Instances {
		if _, gone := d.Removes(m.Name); !gone {
			return false
		}
	}
	return true
}

// remove is Pigsty's pg_remove for this host's instance, each step done
// only if there is something left to do, so that every later pass is a
// no-op: the cluster's HAProxy services go first (no new connections),
// then pgbouncer, then Patroni and its postgres; the cluster's DCS keys
// when it is the last, the backup repository (primary), the data, the
// packages, as rm asked.
func (r *run) remove(ctx context.Context, rm store.Removal, last bool) error {
	p := r.inst.Params
	if err := r.removeServices(ctx); err != nil {
		return err
	}
	for _, child := range []string{"pgbouncer", "patroni"} {
		if r.supervises(child) {
			r.log.Info("stopping", "child", child)
			if err := r.sup.Stop(ctx, child); err != nil {
				return fmt.Errorf("stop %s: %w", child, err)
			}
			r.changed("stop " + child)
		}
	}
	if err := stopPostmaster(ctx, r.l, r.log); err != nil {
		return err
	}
	if last {
		n, err := r.store.DeleteDCS(ctx, p.PgNamespace, r.inst.Cluster)
		if err != nil {
			return err
		}
		if n > 0 {
			r.log.Info("removed the cluster's DCS keys", "prefix", store.DCSPrefix(p.PgNamespace, r.inst.Cluster), "keys", n)
			r.changed(fmt.Sprintf("delete %d DCS keys under %s", n, store.DCSPrefix(p.PgNamespace, r.inst.Cluster)))
		}
	}
	var paths []string
	if rm.Backup && r.inst.Role == "primary" {
		paths = append(paths, r.l.BackupDir(), r.l.Backup())
	}
	if rm.Data {
		paths = append(paths, r.l.ClusterDir(), r.l.PG())
	}
	for _, path := range paths {
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			continue
		}
		r.log.Info("removing", "path", path)
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		r.changed("remove " + path)
	}
	if rm.Packages {
		return r.removePackages(ctx)
	}
	return nil
}

func (r *run) supervises(name string) bool {
	for _, c := range r.sup.Status() {
		if c.Name == name && c.State != supervisor.StateStopped {
			return true
		}
	}
	return false
}

// removeServices deletes the HAProxy services of the instance's cluster
// and reloads HAProxy, or stops it when it serves nothing else.
func (r *run) removeServices(ctx context.Context) error {
	files, err := filepath.Glob(filepath.Join(haproxy.ServicesDir(r.l), r.inst.Cluster+"-*.cfg"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			return err
		}
		r.changed("remove " + f)
	}
	rest, err := filepath.Glob(filepath.Join(haproxy.ServicesDir(r.l), "*.cfg"))
	if err != nil {
		return err
	}
	switch {
	case !r.supervises("haproxy"):
	case len(rest) == 0:
		r.log.Info("stopping", "child", "haproxy")
		if err := r.sup.Stop(ctx, "haproxy"); err != nil {
			return fmt.Errorf("stop haproxy: %w", err)
		}
		r.changed("stop haproxy")
	case len(files) > 0:
		if err := r.sup.Reload(ctx, "haproxy"); err != nil {
			return fmt.Errorf("reload haproxy: %w", err)
		}
	}
	return nil
}

// removePackages uninstalls pg_packages and pg_extensions, as pg_rm_pkg
// asks; packages that are not installed are left out.
func (r *run) removePackages(ctx context.Context) error {
	pkgs, _, err := r.inst.Params.Packages(r.os)
	if err != nil {
		return err
	}
	var installed []string
	for _, p := range pkgs {
		if p.Via != "" || strings.ContainsAny(p.Name, "*?") {
			continue
		}
		cmd := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Status}", p.Name)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
		if out, err := supervisor.Output(cmd); err == nil && strings.HasSuffix(string(out), " installed") {
			installed = append(installed, p.Name)
		}
	}
	if len(installed) == 0 {
		return nil
	}
	slices.Sort(installed)
	installed = slices.Compact(installed)
	r.log.Info("removing packages", "packages", installed)
	cmd := exec.CommandContext(ctx, "apt-get", append([]string{"remove", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"}, installed...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "DEBIAN_FRONTEND=noninteractive"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = time.Minute
	if out, err := supervisor.CombinedOutput(cmd); err != nil {
		return fmt.Errorf("apt-get remove %s: %w: %s", strings.Join(installed, " "), err, lastLine(string(out)))
	}
	r.changed("remove packages " + strings.Join(installed, " "))
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
