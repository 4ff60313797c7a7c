package agent

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"pigsty/node/dbsu"
	"pigsty/node/supervisor"
	"pigsty/pgsql/pgbouncer"
)

// pgbouncer renders pgbouncer's files — userlist.txt from the roles' SCRAM
// verifiers as the server stores them — and keeps pgbouncer running,
// reloading it when a file changed.
func (r *run) pgbouncer(ctx context.Context) error {
	if !r.inst.Params.PgbouncerEnabled {
		return nil
	}
	res, err := r.dbsuRun(ctx, dbsu.Request{Verifiers: PgbouncerUsers(r.inst)})
	if err != nil {
		return err
	}
	files, err := PgbouncerFiles(r.inst, r.l, r.memberRole(), res.Verifiers)
	if err != nil {
		return err
	}
	changed, err := r.write(files)
	if err != nil {
		return err
	}
	return r.ensure(ctx, r.pgbouncerSpec(), changed)
}

// pgbouncerSpec is how the supervisor runs pgbouncer: as the dbsu (it
// refuses root), logging to pgbouncer_log_dir through stderr.
func (r *run) pgbouncerSpec() supervisor.Spec {
	socket := filepath.Join(r.l.Socket(), ".s.PGSQL."+strconv.Itoa(r.inst.Params.PgbouncerPort))
	return supervisor.Spec{
		Name: "pgbouncer", Path: "/usr/sbin/pgbouncer", Args: []string{pgbouncer.ConfigPath(r.l)},
		Env: []string{"PATH=/usr/bin:/bin", "HOME=" + r.dbsu.Home}, Dir: r.l.Pgbouncer(), Credential: r.cred,
		LogFile: filepath.Join(r.l.PgbouncerLog(), "pgbouncer.log"),
		// SIGINT is pgbouncer's safe shutdown: it waits for running
		// transactions before the timeout turns it into a kill.
		StopSignal: syscall.SIGINT, StopTimeout: 15 * time.Second,
		ReloadSignal: syscall.SIGHUP,
		Ready:        dialReady("unix", socket),
		StartTimeout: 30 * time.Second,
	}
}

// dialReady is a readiness probe: the child accepts connections.
func dialReady(network, addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}
