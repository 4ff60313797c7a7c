package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pigsty/node/recovery"
	"pigsty/pgsql/pitr"
)

func init() {
	register(240, "pitr", (*run).pitr)
	register(250, "hold", (*run).hold)
}

// errHeld ends a pass while a recovery holds the instance.
var errHeld = errors.New("held")

// hold keeps Patroni and PostgreSQL stopped while a recovery works on
// the instance (a hold in etcd, or this host's hold file): on the first
// pass it pauses the cluster, so that no member fails over or restarts,
// stops PostgreSQL and then Patroni; later passes end here, before
// anything would start them again. A replica whose hold asks to be
// re-initialised empties its data directory and drops the hold: Patroni
// then clones it from the new leader.
func (r *run) hold(ctx context.Context) error {
	h, held := recovery.HoldOf(ctx, r.store, r.l, r.inst.Name)
	if !held {
		return nil
	}
	// The recovered database may lack what the inventory provisions.
	delete(r.provisioned, r.inst.Name)
	if err := r.stopHeld(ctx); err != nil {
		return err
	}
	if h.Reinit && !exists(recovery.HoldFile(r.l)) {
		return r.reinit(ctx)
	}
	return fmt.Errorf("%w for %s by %s since %s", errHeld, h.Reason, h.By, h.Since.Local().Format(time.DateTime))
}

// stopHeld stops Patroni and its PostgreSQL, if they run, in maintenance
// mode.
func (r *run) stopHeld(ctx context.Context) error {
	running, known := false, false
	for _, c := range r.sup.Status() {
		if c.Name == "patroni" {
			known, running = true, c.PID != 0
		}
	}
	if !known {
		// An agent that started while held has not adopted Patroni yet.
		spec, err := r.patroniSpec(0)
		if err != nil {
			return err
		}
		if running, err = r.sup.Adopt(ctx, spec); err != nil {
			return err
		}
	}
	if !running {
		return nil
	}
	c := r.client()
	if err := c.Pause(ctx); err != nil {
		return fmt.Errorf("pause %s before stopping it: %w", r.inst.Cluster, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, err := c.Patroni(ctx); err == nil && st.Pause {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Patroni of %s did not enter maintenance mode", r.inst.Name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	r.log.Info("held: stopping PostgreSQL and Patroni")
	if err := stopPostmaster(ctx, r.l, r.log); err != nil {
		return err
	}
	return r.sup.Stop(ctx, "patroni")
}

// reinit empties the data directory of a held replica and drops its
// hold.
func (r *run) reinit(ctx context.Context) error {
	entries, err := os.ReadDir(r.l.Data())
	if err != nil {
		return err
	}
	r.log.Warn("re-initialising: emptying the data directory, Patroni clones it from the new leader", "data", r.l.Data())
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(r.l.Data(), e.Name())); err != nil {
			return err
		}
	}
	return r.store.DeleteHold(ctx, r.inst.Name)
}

// pitr runs the pg_pitr of the inventory once, on the cluster's primary
// (as the inventory names it): the same recovery as `pigsty pitr`, in the
// background, logging its progress. Run on a member without a database
// yet — a new cluster whose pg_pitr names another cluster — it clones
// that cluster instead of initialising an empty one: the instance stays
// held until the clone is done, so Patroni never runs initdb.
func (r *run) pitr(ctx context.Context) error {
	p := r.inst.Params.PgPITR
	if p == nil || r.inst.Role != "primary" {
		return nil
	}
	req := pitr.FromInventory(r.inst.Cluster, p, r.inst.Params.PgData)
	fp := req.Fingerprint()
	if rec, ok, err := recovery.ReadRecord(r.l); err != nil || (ok && rec.Fingerprint == fp) {
		return err
	}
	// The restore reads the repository through the cluster's config,
	// which the backup phase would write only after Patroni runs.
	if err := r.pgbackrestConf(); err != nil {
		return err
	}
	fresh := !exists(filepath.Join(r.l.Data(), "PG_VERSION"))
	by := "pg_pitr (agent of " + r.inst.Name + ")"
	if fresh {
		if err := recovery.HoldHere(r.l, r.inst.Name, "cloning from the backups of "+req.From, by); err != nil {
			return err
		}
	}
	if !r.backups.startRecovery(fp) {
		return nil
	}
	log := r.log.With("pg_pitr", fp)
	env := recovery.Env{Layout: r.l, Cred: r.cred, Home: r.dbsu.Home, Store: r.store, By: by, Exe: r.cfg.Exe,
		Say: func(s string) { log.Info("pitr: " + s) }}
	i := r.inst
	go func() {
		defer r.backups.endRecovery()
		plan, err := recovery.NewPlan(ctx, req, i, env)
		if err != nil {
			log.Error("pg_pitr cannot be done", "err", err)
			recovery.Failed(r.l, req, by, err)
			return
		}
		for _, line := range strings.Split(strings.TrimRight(plan.String(), "\n"), "\n") {
			log.Info("pitr plan: " + line)
		}
		if err := recovery.Run(ctx, plan, env); err != nil {
			log.Error("pg_pitr failed", "err", err)
			return
		}
		log.Info("pg_pitr done")
	}()
	return nil
}
