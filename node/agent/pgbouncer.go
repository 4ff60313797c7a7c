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
	"pigsty/pgsql/hba"
	"pigsty/pgsql/pgbouncer"
)

// pgbouncer renders pgbouncer's files — userlist.txt from the roles' SCRAM
// verifiers as the server stores them — and keeps pgbouncer running,
// reloading it when a file changed.
func (r *run) pgbouncer(ctx context.Context) error {
	if !r.inst.Params.PgbouncerEnabled {
		return nil
	}
	var users []string
	for _, u := range r.inst.Users {
		if u.Pgbouncer && !u.Absent() {
			users = append(users, u.Name)
		}
	}
	users = append(users, r.inst.Params.PgAdminUsername, r.inst.Params.PgMonitorUsername)
	res, err := r.dbsuRun(ctx, dbsu.Request{Verifiers: users})
	if err != nil {
		return err
	}
	files, err := pgbouncer.Render(r.inst, r.l, res.Verifiers)
	if err != nil {
		return err
	}
	changed := false
	for path, f := range files {
		c, err := r.file(path, f.Data, f.Mode, true)
		if err != nil {
			return err
		}
		changed = changed || c
	}
	inst := *r.inst
	inst.Role = r.memberRole()
	rules, err := hba.RenderPgbouncer(&inst, r.l)
	if err != nil {
		return err
	}
	c, err := r.file(hba.PgbouncerPath(r.l), rules, 0o600, true)
	if err != nil {
		return err
	}
	changed = changed || c
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
