package agent

import (
	"context"
	"fmt"

	"pigsty/node/dbsu"
	"pigsty/pgsql/provision"
)

// provision applies Pigsty's provisioning on the primary: roles, template
// databases, users, databases. It runs once per desired revision (and
// after the member became primary); every step is idempotent, so a
// repeated pass changes nothing.
func (r *run) provision(ctx context.Context) error {
	if !r.inst.Params.PgProvision || r.memberRole() != "primary" {
		return nil
	}
	if r.provisioned[r.inst.Name] == r.rev {
		return nil
	}
	avail, err := r.dbsuRun(ctx, dbsu.Request{Extensions: true})
	if err != nil {
		return err
	}
	steps, notes := provision.Plan(r.inst, avail.Extensions)
	for _, n := range notes {
		r.log.Info("provision: " + n)
	}
	var done, skipped int
	_, err = r.dbsuRun(ctx, dbsu.Request{Steps: steps}, func(ev dbsu.Event) {
		switch ev.Outcome {
		case "done":
			done++
			r.log.Debug("provision", "step", ev.Title)
		case "skipped":
			skipped++
		case "failed":
			r.log.Error("provision failed", "step", ev.Title, "err", ev.Error)
		}
	})
	if err != nil {
		return err
	}
	r.log.Info("provisioned", "steps", len(steps), "applied", done, "in_place", skipped)
	r.provisioned[r.inst.Name] = r.rev
	return nil
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
