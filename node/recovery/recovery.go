// Package recovery carries out what pgsql/pitr plans: it takes a cluster
// out of Patroni's hands, restores it with pgBackRest, replays WAL to the
// target on a PostgreSQL of its own, verifies and promotes it, and hands
// it back to Patroni with archiving, a new backup and its replicas. It
// also forks a running instance beside itself.
package recovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"pigsty/infra/store"
	"pigsty/node/backup"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/patroni"
	"pigsty/pgsql/pgbackrest"
	"pigsty/pgsql/pitr"
)

// Env is where a recovery runs: this host, as the dbsu.
type Env struct {
	Layout layout.Layout
	Cred   *syscall.Credential // the dbsu
	Home   string              // the dbsu's home
	Store  *store.Store        // holds and Patroni's state in etcd; nil when there is none (a rehearsal needs none)
	By     string              // who recovers: "pigsty pitr", "pg_pitr"
	Exe    string              // the pigsty binary, re-executed as the dbsu to copy a data directory
	Say    func(string)        // one line of progress
}

// flow is one run of a plan.
type flow struct {
	p     pitr.Plan
	e     Env
	own   backup.Runner // the cluster's own stanza
	src   backup.Runner // the stanza restored from
	srv   server
	holds holds
	// config is the cluster's dynamic configuration before the recovery,
	// kept in the record for a recovery resumed by another process.
	config map[string]any
}

func newFlow(p pitr.Plan, e Env) *flow {
	i, l := p.Instance, e.Layout
	own := backup.For(i, l, e.Cred, e.Home)
	src := own
	src.Stanza = p.Source
	srv := server{data: p.Data, port: p.Port, bin: l.BinDir(exists), cred: e.Cred, home: e.Home, user: i.Params.PgDbsu, config: own.Config}
	if p.Kind == pitr.Rehearsal {
		srv.socket = pitr.ForkDir(l, p.Fork)
		srv.logFile = filepath.Join(srv.socket, "postgres.log")
	} else {
		srv.socket = filepath.Join(l.Tmp(), "pitr")
		srv.logFile = filepath.Join(l.Tmp(), "recovery.log")
		srv.settings = map[string]string{
			"listen_addresses": "", "port": strconv.Itoa(p.Port), "unix_socket_directories": srv.socket,
			"hba_file": filepath.Join(srv.socket, "pg_hba.conf"), "ident_file": filepath.Join(p.Data, "pg_ident.conf"),
			// Nothing of the replay may reach the repository or clients,
			// and the source's certificates may not exist on this host.
			"archive_mode": "off", "ssl": "off", "logging_collector": "off", "hot_standby": "on", "cluster_name": p.Cluster,
		}
	}
	return &flow{p: p, e: e, own: own, src: src, srv: srv, holds: holds{st: e.Store, l: l, by: e.By}}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// Run carries out the plan, step by step, saying what it does; the
// caller has shown the plan. A plan that stops at the target (action
// pause or shutdown) returns after verifying; Resume continues it.
func Run(ctx context.Context, p pitr.Plan, e Env) error {
	return newFlow(p, e).steps(ctx, p.Steps, true)
}

// NewPlan reads what a plan is made from — the catalogue of the stanza
// restored from, whether PostgreSQL runs, whether the data directory
// holds a database — and plans the request.
func NewPlan(ctx context.Context, req pitr.Request, i *inventory.Instance, e Env) (pitr.Plan, error) {
	l := e.Layout
	repo := req.Repo
	if len(repo) == 0 {
		repo = SourceRepo(req, i, l)
	}
	src := backup.For(i, l, e.Cred, e.Home)
	if req.From != "" {
		src.Stanza = req.From
	}
	opts, err := pgbackrest.RepoOptions(repo, 1, src.Stanza, l)
	if err != nil {
		return pitr.Plan{}, fmt.Errorf("repo: %w", err)
	}
	for _, o := range opts {
		src.Options = append(src.Options, "--"+o)
	}
	info, err := src.Info(ctx)
	if err != nil {
		return pitr.Plan{}, err
	}
	return pitr.New(req, pitr.Facts{Instance: i, Layout: l, Source: info, Running: Running(l),
		Fresh: !exists(filepath.Join(l.Data(), "PG_VERSION")), Now: time.Now(), Repo: repo})
}

// Running reports whether the instance's PostgreSQL runs.
func Running(l layout.Layout) bool {
	_, ok := server{data: l.Data()}.pid()
	return ok
}

// SourceRepo is the repository of another cluster's backups on this
// host: its local repository, <pg_fs_backup>/<cls>-<version>/backup,
// when the cluster's own repository is the local one (/pg/backup, which
// links to the cluster's own). It is nil otherwise: a shared repository
// holds every cluster's stanza.
func SourceRepo(r pitr.Request, i *inventory.Instance, l layout.Layout) map[string]inventory.Scalar {
	p := i.Params
	repo := p.PgbackrestRepo[p.PgbackrestMethod]
	if r.From == "" || (repo["type"] != "" && repo["type"] != "posix") || l.Path(string(repo["path"])) != l.Backup() {
		return nil
	}
	path := filepath.Join(p.PgFsBackup, r.From+"-"+strconv.Itoa(p.PgVersion), "backup")
	if !exists(l.Path(path)) {
		return nil
	}
	return map[string]inventory.Scalar{"path": inventory.Scalar(path)}
}

// Resume continues a plan that stopped at its target.
func Resume(ctx context.Context, p pitr.Plan, e Env) error {
	f := newFlow(p, e)
	var rest []pitr.Step
	for n, s := range p.Steps {
		if s == p.Stop {
			rest = p.Steps[n+1:]
		}
	}
	if len(rest) == 0 {
		return fmt.Errorf("the recovery of %s does not stop at its target: nothing to resume", p.Cluster)
	}
	return f.steps(ctx, rest, false)
}

func (f *flow) steps(ctx context.Context, steps []pitr.Step, stop bool) error {
	rec := Record{Request: f.p.Request, Fingerprint: f.p.Asked, Kind: string(f.p.Kind), Status: StatusRunning, By: f.e.By, Started: time.Now().UTC()}
	if prev, ok, _ := ReadRecord(f.e.Layout); ok && !stop && prev.Fingerprint == rec.Fingerprint {
		rec.Started, f.config = prev.Started, prev.Config
	}
	for n, s := range steps {
		rec.Step, rec.Config = string(s), f.config
		if err := f.record(rec); err != nil {
			return err
		}
		f.say("==> %s", s)
		start := time.Now()
		if err := f.step(ctx, s); err != nil {
			rec.Status, rec.Error = StatusFailed, err.Error()
			f.record(rec)
			err = fmt.Errorf("%s: %w", s, err)
			if f.p.Kind != pitr.Rehearsal && n > 0 && ctx.Err() == nil && f.holding() {
				f.holds.note(f.p.Instance.Name, fmt.Sprintf("point-in-time recovery failed at %s: %v; `pigsty pitr %s --abort` hands the cluster back as it is", s, err, f.p.Cluster))
				err = fmt.Errorf("%w\n%s stays held: fix the cause and run the recovery again, or `pigsty pitr %s --abort` to hand it back as it is", err, f.p.Instance.Name, f.p.Cluster)
			}
			return err
		}
		if d := time.Since(start); d > time.Second {
			f.say("    %s took %s", s, d.Round(100*time.Millisecond))
		}
		if stop && s == f.p.Stop {
			rec.Status = StatusPaused
			f.record(rec)
			f.say("recovery %s at the target: look at it with `psql -h %s -p %d -U %s`; `pigsty pitr %s --resume` promotes it and hands %s back to Patroni",
				map[string]string{"pause": "paused", "shutdown": "shut down"}[f.p.Target.Action], f.srv.socket, f.srv.port, f.p.Instance.Params.PgDbsu, f.p.Cluster, f.p.Cluster)
			return nil
		}
	}
	rec.Status, rec.Step = StatusDone, ""
	return f.record(rec)
}

func (f *flow) holding() bool { return exists(HoldFile(f.e.Layout)) }

func (f *flow) say(format string, args ...any) {
	if f.e.Say != nil {
		f.e.Say(fmt.Sprintf(format, args...))
	}
}

func (f *flow) step(ctx context.Context, s pitr.Step) error {
	switch s {
	case pitr.StepFlush:
		return f.own.Check(ctx)
	case pitr.StepPause:
		return f.pause(ctx)
	case pitr.StepHold:
		return f.hold(ctx)
	case pitr.StepAside:
		return f.aside(ctx)
	case pitr.StepRestore:
		return f.restore(ctx)
	case pitr.StepReplay:
		return f.replay(ctx)
	case pitr.StepVerify:
		return f.verify(ctx)
	case pitr.StepPromote:
		return f.promote(ctx)
	case pitr.StepStanza:
		return f.stanza(ctx)
	case pitr.StepRelease:
		return f.release(ctx)
	case pitr.StepResume:
		return f.resume(ctx)
	case pitr.StepBackup:
		return f.backup(ctx)
	case pitr.StepReplicas:
		return f.replicas(ctx)
	case pitr.StepFork:
		f.say("fork %d of %s runs on port %d: psql -h %s -p %d -U %s, or postgres://<user>@%s:%d/<db> as %s's HBA allows",
			f.p.Fork, f.p.Instance.Name, f.p.Port, f.srv.socket, f.p.Port, f.p.Instance.Params.PgDbsu, f.p.Instance.IP, f.p.Port, f.p.Instance.Name)
		return nil
	}
	return fmt.Errorf("unknown step %q", s)
}

// Abort hands a held instance back as it is, after a recovery failed or
// stopped at its target: the private instance stops, the holds go, and
// HA resumes once the agent runs Patroni again.
func Abort(ctx context.Context, i *inventory.Instance, e Env) error {
	if _, held := HoldOf(ctx, e.Store, e.Layout, i.Name); !held {
		return fmt.Errorf("no recovery holds %s: nothing to hand back", i.Name)
	}
	f := &flow{e: e, holds: holds{st: e.Store, l: e.Layout, by: e.By}}
	f.srv = server{data: e.Layout.Data(), bin: e.Layout.BinDir(exists), cred: e.Cred, home: e.Home}
	if err := f.srv.stop(ctx, "fast"); err != nil {
		return err
	}
	if err := f.holds.release(ctx, i.Name); err != nil {
		return err
	}
	if e.Store != nil {
		for _, m := range i.ClusterOf().Instances {
			if err := e.Store.DeleteHold(ctx, m.Name); err != nil {
				return err
			}
		}
	}
	f.say("released %s: waiting for the agent to run Patroni", i.Name)
	c := client(i)
	if err := poll(ctx, 3*time.Minute, func() (bool, string, error) {
		return c.Liveness(ctx) == nil, "Patroni does not answer", nil
	}); err != nil {
		return err
	}
	return resume(ctx, c)
}

func client(i *inventory.Instance) *patroni.Client {
	p := i.Params
	return patroni.NewClient(net.JoinHostPort(i.IP, strconv.Itoa(p.PatroniPort)), p.PatroniUsername, p.PatroniPassword, nil)
}

// pause saves the cluster's dynamic configuration, puts the cluster in
// maintenance mode and waits until this member's Patroni runs paused:
// then it neither restarts nor fails over when PostgreSQL stops.
func (f *flow) pause(ctx context.Context) error {
	c := client(f.p.Instance)
	cfg, err := c.Config(ctx)
	if err != nil {
		return err
	}
	delete(cfg, "pause")
	f.config = cfg
	if err := c.Pause(ctx); err != nil {
		return err
	}
	return poll(ctx, time.Minute, func() (bool, string, error) {
		st, err := c.Patroni(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		return st.Pause, "Patroni has not seen maintenance mode yet", nil
	})
}

// resume puts back the dynamic configuration the cluster had before the
// recovery — parameters changed with `pigsty pg edit-config` — over the
// one Patroni initialized from the inventory.
func (f *flow) resume(ctx context.Context) error {
	c := client(f.p.Instance)
	if err := resume(ctx, c); err != nil {
		return err
	}
	if len(f.config) == 0 {
		return nil
	}
	return poll(ctx, time.Minute, func() (bool, string, error) {
		if err := c.PatchConfig(ctx, f.config); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
}

// resume ends maintenance mode. With the cluster's state cleared, the
// new leader's Patroni has none: then it has nothing to do, once Patroni
// answers for the cluster.
func resume(ctx context.Context, c *patroni.Client) error {
	return poll(ctx, time.Minute, func() (bool, string, error) {
		cl, err := c.Cluster(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		if !cl.Pause {
			return true, "", nil
		}
		if err := c.Resume(ctx); err != nil {
			return false, err.Error(), nil
		}
		return false, "Patroni has not resumed yet", nil
	})
}

// hold has the agents stop Patroni and PostgreSQL and waits until this
// member's are down.
func (f *flow) hold(ctx context.Context) error {
	var others []string
	if f.p.Kind == pitr.InPlace {
		others = f.p.Replicas
	}
	if err := f.holds.place(ctx, f.p.Instance.Name, others, "point-in-time recovery"); err != nil {
		return err
	}
	f.say("    waiting for the agent to stop Patroni and PostgreSQL of %s", f.p.Instance.Name)
	c := client(f.p.Instance)
	if err := poll(ctx, 3*time.Minute, func() (bool, string, error) {
		if pid, ok := f.postmaster(); ok {
			return false, fmt.Sprintf("postgres (pid %d) still runs", pid), nil
		}
		if err := c.Liveness(ctx); err == nil {
			return false, "Patroni still runs", nil
		}
		return true, "", nil
	}); err != nil {
		return err
	}
	// A replica's Patroni left running would race for the leader key
	// once the cluster's state is cleared.
	for _, m := range f.p.Instance.ClusterOf().Instances {
		if m.Name == f.p.Instance.Name || !slices.Contains(others, m.Name) {
			continue
		}
		f.say("    waiting for the agent of %s to stop its Patroni", m.Name)
		rc := client(m)
		if err := poll(ctx, 3*time.Minute, func() (bool, string, error) {
			return rc.Liveness(ctx) != nil, "Patroni of " + m.Name + " still runs", nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func (f *flow) postmaster() (int, bool) {
	return server{data: f.e.Layout.Data()}.pid()
}

// aside copies the data directory to <data>-backup, copy-on-write where
// the filesystem can.
func (f *flow) aside(ctx context.Context) error {
	dst := f.p.Data + "-backup"
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return copyAs(ctx, f.e.Exe, f.e.Cred, f.e.Home, CopyRequest{Src: f.p.Data, Dst: dst}, func(s string) { f.say("    %s", s) })
}

// restore runs pgbackrest restore into the plan's directory.
func (f *flow) restore(ctx context.Context) error {
	if pid, ok := f.srv.pid(); ok {
		return fmt.Errorf("postgres (pid %d) runs on %s: it must be stopped to restore", pid, f.p.Data)
	}
	dirs := []string{f.p.Data, f.srv.socket}
	if f.p.Restore.LockPath != "" {
		dirs = append(dirs, f.p.Restore.LockPath, f.p.Restore.SpoolPath)
	}
	for _, d := range dirs {
		if err := f.dbsuDir(d); err != nil {
			return err
		}
	}
	next := 10.0
	return f.src.Stream(ctx, func(ev pgbackrest.Event) {
		switch {
		case ev.Percent >= next:
			f.say("    restored %3.0f%%", ev.Percent)
			for next <= ev.Percent {
				next += 10
			}
		case ev.Size != "":
			f.say("    %s", ev.Size)
		case ev.Info != "" && strings.HasPrefix(ev.Info, "warning"):
			f.say("    %s", ev.Info)
		}
	}, f.p.Restore.Args()...)
}

// dbsuDir makes a directory of the dbsu's, 0700.
func (f *flow) dbsuDir(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if err := os.Chown(path, int(f.e.Cred.Uid), int(f.e.Cred.Gid)); err != nil {
		return err
	}
	return os.Chmod(path, 0o700)
}

// writeDbsu writes a file the dbsu owns.
func (f *flow) writeDbsu(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	if err := os.Chown(path, int(f.e.Cred.Uid), int(f.e.Cred.Gid)); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

// replay starts PostgreSQL on the restored directory and waits until
// recovery reached the target: paused there, shut down there, or — for
// the latest target — promoted at the end of the archive.
func (f *flow) replay(ctx context.Context) error {
	if f.p.Kind == pitr.Rehearsal {
		if err := f.forkConfig(); err != nil {
			return err
		}
	} else if err := f.writeDbsu(filepath.Join(f.srv.socket, "pg_hba.conf"), []byte(trustLocal), 0o600); err != nil {
		return err
	}
	if f.p.Kind == pitr.Rehearsal && !portFree(f.p.Port) {
		return fmt.Errorf("port %d is taken: give the fork another with --port", f.p.Port)
	}
	os.Remove(f.srv.logFile)
	if err := f.srv.start(ctx); err != nil {
		return err
	}
	f.say("    postgres started on %s, log %s", f.p.Data, f.srv.logFile)
	last := ""
	lastSaid := time.Now()
	return poll(ctx, 0, func() (bool, string, error) {
		stop := f.srv.lastLog("recovery stopping", "shutdown at recovery target", "pausing at the end of recovery", "selected new timeline ID")
		if _, ok := f.srv.pid(); !ok {
			if f.p.Target.Action == "shutdown" && f.srv.lastLog("shutdown at recovery target") != "" {
				return true, "", nil
			}
			return false, "", fmt.Errorf("postgres stopped during recovery: %s", f.failure())
		}
		progress := message(f.srv.lastLog("restored log file", "redo starts", "consistent recovery state"))
		if c, err := f.srv.connect(ctx); err == nil {
			var inRecovery bool
			var pause, lsn string
			err = c.QueryRow(ctx, "SELECT pg_is_in_recovery(), "+pauseState+", coalesce(pg_last_wal_replay_lsn()::text, '')").Scan(&inRecovery, &pause, &lsn)
			c.Close(ctx)
			if err != nil {
				progress = err.Error()
			} else {
				switch {
				case !inRecovery:
					return true, "", nil
				case pause == "paused" && stop != "":
					return true, "", nil
				case pause == "paused":
					return false, "", fmt.Errorf("recovery paused before the target: %s", f.failure())
				}
				progress = "replayed up to " + lsn
			}
		}
		if progress != last && time.Since(lastSaid) > 2*time.Second {
			f.say("    %s", progress)
			last, lastSaid = progress, time.Now()
		}
		return false, progress, nil
	})
}

// pauseState is pg_get_wal_replay_pause_state(), which fails once
// recovery has ended.
const pauseState = "CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() ELSE 'not paused' END"

// trustLocal lets the private socket in without a password.
const trustLocal = "# written by pigsty for a recovery: the socket directory is the dbsu's alone\nlocal all all trust\n"

// failure is what the log says went wrong.
func (f *flow) failure() string {
	lines := f.srv.logLines("FATAL", "PANIC", "recovery ended before", "insufficient parameter", "ERROR: [")
	if len(lines) == 0 {
		return "see " + f.srv.logFile
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	for n := range lines {
		lines[n] = message(lines[n])
	}
	msg := strings.Join(lines, "; ")
	if strings.Contains(msg, "recovery ended before configured recovery target was reached") {
		msg += " (the archive has no WAL up to the target: was it archived before the recovery started?)"
	}
	return msg
}

// verify reports where recovery stopped and checks it against the target.
func (f *flow) verify(ctx context.Context) error {
	for _, line := range f.srv.logLines("recovery stopping", "last completed transaction", "consistent recovery state reached", "redo done at", "selected new timeline ID", "shutdown at recovery target") {
		f.say("    %s", message(line))
	}
	if _, ok := f.srv.pid(); !ok {
		if f.p.Target.Action == "shutdown" {
			return nil
		}
		return fmt.Errorf("postgres is not running: %s", f.failure())
	}
	c, err := f.srv.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	var inRecovery bool
	var lsn string
	var replayed *time.Time
	var timeline int
	err = c.QueryRow(ctx, `SELECT pg_is_in_recovery(), coalesce(pg_last_wal_replay_lsn(), pg_current_wal_lsn())::text,
		pg_last_xact_replay_timestamp(), (SELECT timeline_id FROM pg_control_checkpoint())`).Scan(&inRecovery, &lsn, &replayed, &timeline)
	if err != nil {
		return fmt.Errorf("query the recovered instance: %w", err)
	}
	state := "paused at the target"
	if !inRecovery {
		state = "promoted"
	}
	last := "none"
	if replayed != nil {
		last = pgbackrest.FormatTime(*replayed)
	}
	f.say("    %s: WAL replayed up to %s, last transaction committed at %s, timeline %d", state, lsn, last, timeline)
	if f.p.Target.Type == "time" && replayed != nil {
		target, _ := pgbackrest.ParseTime(f.p.Target.Value)
		if replayed.After(target) || (f.p.Target.Exclusive && replayed.Equal(target)) {
			return fmt.Errorf("the last transaction replayed (%s) is past the target %s", last, f.p.Target.Value)
		}
	}
	if f.p.Target.Pinned() && inRecovery && f.srv.lastLog("recovery stopping") == "" {
		return fmt.Errorf("recovery paused without reaching the target: %s", f.failure())
	}
	rows, err := c.Query(ctx, "SELECT datname, pg_database_size(oid) FROM pg_database WHERE datallowconn ORDER BY datname")
	if err != nil {
		return err
	}
	var dbs []string
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			return err
		}
		dbs = append(dbs, fmt.Sprintf("%s (%s)", name, bytesHuman(size)))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	f.say("    databases: %s", strings.Join(dbs, ", "))
	return nil
}

// promote ends recovery: resumes a replay paused at the target (which
// promotes it), or starts one shut down at the target with promote as
// the action.
func (f *flow) promote(ctx context.Context) error {
	if _, ok := f.srv.pid(); !ok {
		auto := filepath.Join(f.p.Data, "postgresql.auto.conf")
		b, err := os.ReadFile(auto)
		if err != nil {
			return err
		}
		b = append(b, []byte("recovery_target_action = 'promote'\n")...)
		if err := f.writeDbsu(auto, b, 0o600); err != nil {
			return err
		}
		if err := f.srv.start(ctx); err != nil {
			return err
		}
	}
	return poll(ctx, 10*time.Minute, func() (bool, string, error) {
		if _, ok := f.srv.pid(); !ok {
			return false, "", fmt.Errorf("postgres stopped: %s", f.failure())
		}
		c, err := f.srv.connect(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		defer c.Close(ctx)
		var inRecovery bool
		var pause string
		if err := c.QueryRow(ctx, "SELECT pg_is_in_recovery(), "+pauseState).Scan(&inRecovery, &pause); err != nil {
			return false, err.Error(), nil
		}
		if !inRecovery {
			var tl int
			c.QueryRow(ctx, "SELECT timeline_id FROM pg_control_checkpoint()").Scan(&tl)
			f.say("    promoted: timeline %d", tl)
			return true, "", nil
		}
		if pause != "not paused" {
			if _, err := c.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
				return false, "", fmt.Errorf("resume replay to promote: %w", err)
			}
		}
		return false, "still in recovery", nil
	})
}

// stanza makes the cluster's stanza follow the database restored from
// another cluster — created for it, or upgraded when it exists — from
// pg_control, before archiving starts: until then every WAL segment
// the restored database archives would fail.
func (f *flow) stanza(ctx context.Context) error {
	st, err := f.own.Info(ctx)
	if err != nil {
		return err
	}
	if st.Exists() {
		return f.own.StanzaUpgrade(ctx)
	}
	f.say("    creating stanza %s", f.own.Stanza)
	_, err = f.own.Run(ctx, "--no-online", "stanza-create")
	return err
}

// release stops the private instance, removes what the restore left for
// recovery, clears the cluster's state in etcd and lifts the hold: the
// agent starts Patroni, which finds a database and no cluster, takes the
// initialize and leader keys and runs it with archiving on.
func (f *flow) release(ctx context.Context) error {
	if err := f.srv.stop(ctx, "fast"); err != nil {
		return err
	}
	auto := filepath.Join(f.p.Data, "postgresql.auto.conf")
	b, err := os.ReadFile(auto)
	if err != nil {
		return err
	}
	if err := f.writeDbsu(auto, pgbackrest.StripRecovery(b), 0o600); err != nil {
		return err
	}
	// Patroni would take the restored database's cached dynamic
	// configuration — another cluster's, or this one's as it was when
	// the backup was taken — for the cluster it initializes: it starts
	// from the inventory's, and an in-place recovery puts back the one
	// it saved when it paused the cluster.
	for _, name := range []string{"recovery.signal", "standby.signal", "patroni.dynamic.json"} {
		os.Remove(filepath.Join(f.p.Data, name))
	}
	// The backup step takes the new full backup: the agent must not
	// start an initial one beside it.
	marker := pgbackrest.InitialMarker(f.e.Layout)
	if !exists(marker) {
		if err := f.writeDbsu(marker, []byte(time.Now().UTC().Format(time.RFC3339)+" point-in-time recovery\n"), 0o644); err != nil {
			return err
		}
	}
	if f.e.Store == nil {
		return errors.New("no etcd: the cluster's state cannot be cleared")
	}
	i := f.p.Instance
	n, err := f.e.Store.DeleteDCS(ctx, i.Params.PgNamespace, patroni.Scope(i))
	if err != nil {
		return err
	}
	f.say("    cleared %d keys of %s in etcd", n, i.Cluster)
	if err := f.holds.release(ctx, i.Name); err != nil {
		return err
	}
	if f.p.Kind == pitr.InPlace {
		if err := f.holds.reinit(ctx, f.p.Replicas); err != nil {
			return err
		}
	}
	f.say("    released %s: waiting for Patroni to run it as the leader", i.Name)
	c := client(i)
	return poll(ctx, 5*time.Minute, func() (bool, string, error) {
		code, err := c.Check(ctx, "/primary")
		if err == nil && code == 200 {
			return true, "", nil
		}
		st, err := c.Patroni(ctx)
		if err != nil {
			return false, "Patroni does not answer yet", nil
		}
		return false, fmt.Sprintf("Patroni: %s %s", st.Role, st.State), nil
	})
}

// backup takes the new full backup; the stanza is created first when the
// cluster has none, and a lock the agent holds for a moment is waited out.
func (f *flow) backup(ctx context.Context) error {
	var err error
	for try := 0; try < 5; try++ {
		if err = f.own.StanzaCreate(ctx); err == nil {
			break
		}
		if !strings.Contains(err.Error(), "[050]") {
			return err
		}
		time.Sleep(3 * time.Second)
	}
	if err != nil {
		return err
	}
	next := 10.0
	for try := 0; ; try++ {
		label, err := f.own.Backup(ctx, "full", backup.TriggerPITR, func(ev pgbackrest.Event) {
			switch {
			case ev.Percent >= next:
				f.say("    backed up %3.0f%%", ev.Percent)
				for next <= ev.Percent {
					next += 10
				}
			case ev.Size != "":
				f.say("    %s", ev.Size)
			}
		})
		if err == nil {
			f.say("    new full backup %s", label)
			return nil
		}
		if !strings.Contains(err.Error(), "[050]") || try == 4 {
			return err
		}
		f.say("    another backup holds the lock: trying again")
		time.Sleep(5 * time.Second)
	}
}

// replicas waits until every replica, cloned again by its agent, runs.
func (f *flow) replicas(ctx context.Context) error {
	for _, m := range f.p.Instance.ClusterOf().Instances {
		if m.Name == f.p.Instance.Name {
			continue
		}
		c := client(m)
		f.say("    waiting for %s to be cloned from the new primary", m.Name)
		if err := poll(ctx, 30*time.Minute, func() (bool, string, error) {
			st, err := c.Patroni(ctx)
			if err != nil {
				return false, err.Error(), nil
			}
			return st.Running() && st.Role == patroni.RoleReplica, st.State, nil
		}); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
	}
	return nil
}

// poll calls check every half second until it is done, fails, ctx ends
// or — when timeout is not 0 — the timeout passes; then the error carries
// what check said last.
func poll(ctx context.Context, timeout time.Duration, check func() (done bool, why string, err error)) error {
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	for {
		done, why, err := check()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("not within %s: %s", timeout, why)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
