package backup

import (
	"context"
	"fmt"

	"pigsty/pgsql/pgbackrest"
)

// Triggers say, in a backup's annotation pigsty_trigger, what took it.
const (
	TriggerInitial  = "initial"  // pgbackrest_init_backup
	TriggerSchedule = "schedule" // a crontab entry
	TriggerCLI      = "cli"      // pigsty backup
	TriggerPITR     = "pitr"     // the full backup after a point-in-time recovery
)

// Backup takes a backup of type typ — full, diff, incr, or "" for
// pgBackRest's default, an incremental one that becomes full when there
// is none — annotated with the cluster and what triggered it. fn sees
// pgBackRest's progress. It returns the new backup's label.
func (r Runner) Backup(ctx context.Context, typ, trigger string, fn func(pgbackrest.Event)) (string, error) {
	args := []string{"--annotation=pg_cluster=" + r.Stanza, "--annotation=pigsty_trigger=" + trigger}
	switch typ {
	case "":
	case "full", "diff", "incr":
		args = append(args, "--type="+typ)
	default:
		return "", fmt.Errorf("backup type %q: allowed: full, diff, incr", typ)
	}
	var label string
	err := r.Stream(ctx, func(ev pgbackrest.Event) {
		if ev.Label != "" {
			label = ev.Label
		}
		if fn != nil {
			fn(ev)
		}
	}, append(args, "--log-level-console=detail", "backup")...)
	if err != nil {
		return "", err
	}
	return label, nil
}
