package agent

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"pigsty/infra/store"
	"pigsty/node/dbsu"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/provision"
)

// provision brings the primary's roles, template databases, users and
// databases to the inventory, as Pigsty's provisioning and its pgsql-user
// and pgsql-db playbooks do. It runs once per desired revision (and after
// the member became primary): the plan is made against the server as it
// is, so a pass that finds everything in place executes nothing. The
// revision done is kept on disk, so that a restarted agent does not repeat
// what a revision asked for once (a confirmed recreate).
func (r *run) provision(ctx context.Context) error {
	if !r.inst.Params.PgProvision || r.memberRole() != "primary" {
		return nil
	}
	if r.provisionedRevision() == r.rev {
		return nil
	}
	res, err := r.dbsuRun(ctx, dbsu.Request{Facts: true})
	if err != nil {
		return err
	}
	steps, notes := provision.Plan(r.inst, res.Facts, ProvisionOptions(r.desired, r.inst.Cluster))
	for _, n := range notes {
		r.log.Warn("provision: " + n)
	}
	var ran, skipped int
	_, err = r.dbsuRun(ctx, dbsu.Request{Steps: steps}, func(ev dbsu.Event) {
		for _, n := range ev.Notices {
			r.log.Info("provision: "+n, "step", ev.Title)
		}
		switch ev.Outcome {
		case "done":
			ran++
			for _, c := range SQLChanges(ev) {
				r.changed(c)
			}
			r.log.Info("provisioned", "step", ev.Title, "statements", len(ev.Ran))
		case "skipped":
			skipped++
		case "failed":
			r.log.Error("provision failed", "step", ev.Title, "err", ev.Error)
		}
	})
	if err != nil {
		return err
	}
	r.log.Info("provision done", "steps", len(steps), "changed", ran, "in_place", skipped)
	return r.setProvisionedRevision()
}

// ProvisionOptions are the plan options a desired state gives the primary
// of cluster cls: its baseline files, and the databases whose recreate was
// confirmed with this revision.
func ProvisionOptions(d store.Desired, cls string) provision.Options {
	opts := provision.Options{Baselines: d.Files, Recreate: map[string]bool{}}
	for _, c := range d.Confirmed {
		if target, ok := strings.CutPrefix(c, "recreate "+cls+"/"); ok {
			opts.Recreate[target] = true
		}
	}
	return opts
}

// Recreate is the confirmation that lets a change recreate database db of
// cluster cls.
func Recreate(cls, db string) string { return "recreate " + cls + "/" + db }

// SQLChanges are the changes a provisioning event reports, as a status
// lists them: one per statement, the title alone for a secret step.
func SQLChanges(ev dbsu.Event) []string {
	if ev.Outcome != "done" {
		return nil
	}
	if ev.Secret {
		return []string{fmt.Sprintf("sql %s: %s (statement not shown: it holds a password)", ev.Database, ev.Title)}
	}
	out := make([]string, 0, len(ev.Ran))
	for _, st := range ev.Ran {
		out = append(out, fmt.Sprintf("sql %s: %s", ev.Database, st))
	}
	return out
}

// provisionedRevision is the desired revision this instance was last
// provisioned for, from memory or from the agent's state directory.
func (r *run) provisionedRevision() int64 {
	if rev, ok := r.provisioned[r.inst.Name]; ok {
		return rev
	}
	b, err := os.ReadFile(r.provisionedPath())
	if err != nil {
		return 0
	}
	rev, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	r.provisioned[r.inst.Name] = rev
	return rev
}

func (r *run) setProvisionedRevision() error {
	r.provisioned[r.inst.Name] = r.rev
	_, err := write(File{Path: r.provisionedPath(), Data: []byte(strconv.FormatInt(r.rev, 10) + "\n"), Mode: 0o644})
	return err
}

func (r *run) provisionedPath() string {
	return filepath.Join(State(r.cfg.Root), "provisioned", r.inst.Name)
}

// dbsuRun runs a request as the dbsu against the local postgres.
func (r *run) dbsuRun(ctx context.Context, req dbsu.Request, progress ...func(dbsu.Event)) (dbsu.Result, error) {
	req.Socket, req.Port, req.User = r.l.Socket(), r.inst.Params.PgPort, r.inst.Params.PgDbsu
	var fn func(dbsu.Event)
	if len(progress) > 0 {
		fn = progress[0]
	}
	res, err := dbsu.Run(ctx, r.cfg.Exe, r.cred, r.dbsu.Home, req, fn)
	if err != nil {
		return res, fmt.Errorf("as %s: %w", r.inst.Params.PgDbsu, err)
	}
	return res, nil
}

// DBSU runs a request as the dbsu of instance i against its postgres on
// this host, for the command line (which runs as root, as the agent does).
func DBSU(ctx context.Context, exe string, i *inventory.Instance, l layout.Layout, req dbsu.Request, progress func(dbsu.Event)) (dbsu.Result, error) {
	u, err := user.Lookup(i.Params.PgDbsu)
	if err != nil {
		return dbsu.Result{}, fmt.Errorf("the dbsu of %s: %w", i.Name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return dbsu.Result{}, fmt.Errorf("the dbsu of %s: uid %q gid %q", i.Name, u.Uid, u.Gid)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	req.Socket, req.Port, req.User = l.Socket(), i.Params.PgPort, i.Params.PgDbsu
	res, err := dbsu.Run(ctx, exe, cred, u.HomeDir, req, progress)
	if err != nil {
		return res, fmt.Errorf("as %s: %w", i.Params.PgDbsu, err)
	}
	return res, nil
}
