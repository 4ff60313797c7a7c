package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"pigsty/node/backup"
	"pigsty/node/cron"
	"pigsty/pgsql/pgbackrest"
)

func init() { register(600, "backup", (*run).backup) }

// initialRetry is how long a failed initial backup waits before the
// next pass tries again.
const initialRetry = 5 * time.Minute

// backup keeps pgbackrest.conf in place and, on the primary, the stanza
// and the initial backup (pgbackrest_init_backup); the backup entries of
// node_crontab and pg_crontab are followed by a scheduler that lives as
// long as the agent. Backups run in the background: a pass never waits
// for one, and one backup runs at a time.
func (r *run) backup(ctx context.Context) error {
	p := r.inst.Params
	if !p.PgbackrestEnabled {
		r.backups.follow(ctx, nil)
		return nil
	}
	if err := r.pgbackrestConf(); err != nil {
		return err
	}
	runner := backup.For(r.inst, r.l, r.cred, r.dbsu.Home)
	entries, ignored := backup.Schedule(p)
	client := r.client()
	r.backups.follow(ctx, &schedule{
		entries: entries, ignored: ignored, log: r.log,
		take: func(ctx context.Context, typ string, log *slog.Logger) error {
			_, err := runner.Backup(ctx, typ, backup.TriggerSchedule, progressLog(log))
			return err
		},
		// The same schedule may live on every member: only the one that
		// holds the leader key when an entry fires takes the backup.
		primary: func(ctx context.Context) bool {
			code, err := client.Check(ctx, "/primary")
			return err == nil && code == http.StatusOK
		},
	})
	if r.memberRole() != "primary" || !r.leader(ctx) {
		return nil
	}
	if err := r.backups.ensureStanza(ctx, r.inst.Name, runner, r.log); err != nil {
		return err
	}
	if p.PgbackrestInitBackup && !exists(pgbackrest.InitialMarker(r.l)) {
		marker := File{Path: pgbackrest.InitialMarker(r.l), Mode: 0o644, UID: r.dbsu.UID, GID: r.dbsu.GID}
		r.backups.initial(ctx, runner, marker, r.log)
	}
	return nil
}

// pgbackrestConf writes pgbackrest.conf and makes pgBackRest's lock
// directory.
func (r *run) pgbackrestConf() error {
	conf, err := pgbackrest.Render(pgbackrest.Input{Instance: r.inst, Layout: r.l, CPU: r.spec.CPU})
	if err != nil {
		return err
	}
	// 0600: a repository's keys and cipher password are in it.
	if _, err := r.file(pgbackrest.ConfigPath(r.l), conf, 0o600, true); err != nil {
		return err
	}
	return dbsuDir(pgbackrest.LockPath(r.l), r.dbsu.UID, r.dbsu.GID)
}

// dbsuDir makes a directory the dbsu owns; parents it creates stay
// traversable.
func dbsuDir(path string, uid, gid int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.Mkdir(path, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", path, err)
	}
	return nil
}

// backupJobs is the agent's backup state: what runs, which stanzas it
// made, the schedule it follows, the pg_pitr it carries out.
type backupJobs struct {
	mu            sync.Mutex
	recovering    string          // the fingerprint of the pg_pitr running; "" when none
	running       string          // what the running backup is for; "" when none runs
	stanza        map[string]bool // instances whose stanza this agent made or found
	initialFailed time.Time
	sched         *schedule
	schedKey      string // the schedule last logged
	loop          sync.Once
}

// schedule is what the scheduler fires for.
type schedule struct {
	entries []backup.Entry
	ignored []backup.Ignored
	primary func(context.Context) bool                                    // whether this member is the primary now
	take    func(ctx context.Context, typ string, log *slog.Logger) error // takes a backup of the type
	log     *slog.Logger
}

// follow makes s the schedule (nil: none) and starts the scheduler on
// first use; it runs until ctx, the agent's, ends.
func (j *backupJobs) follow(ctx context.Context, s *schedule) {
	j.mu.Lock()
	j.sched = s
	key := ""
	if s != nil {
		var b strings.Builder
		for _, e := range s.entries {
			fmt.Fprintf(&b, "%s|", e.Line)
		}
		for _, i := range s.ignored {
			fmt.Fprintf(&b, "!%s|", i.Line)
		}
		key = b.String()
	}
	changed := key != j.schedKey
	j.schedKey = key
	j.mu.Unlock()
	if s != nil && changed {
		for _, e := range s.entries {
			s.log.Info("backup scheduled", "entry", e.Origin, "line", e.Line, "type", e.Type)
		}
		for _, i := range s.ignored {
			s.log.Warn("crontab entry not run by pigsty", "entry", i.Origin, "line", i.Line, "reason", i.Reason)
		}
	}
	j.loop.Do(func() { go cron.Minutes(ctx, func(m time.Time) { j.fire(ctx, m) }) })
}

// fire starts the backup an entry asks for at minute m, on the primary.
func (j *backupJobs) fire(ctx context.Context, m time.Time) {
	j.mu.Lock()
	s := j.sched
	j.mu.Unlock()
	if s == nil {
		return
	}
	e, ok := backup.Due(s.entries, m)
	if !ok {
		return
	}
	log := s.log.With("entry", e.Origin, "type", e.Type)
	if !s.primary(ctx) {
		log.Info("scheduled backup skipped: this member is not the primary")
		return
	}
	j.start(ctx, "scheduled "+e.Type+" backup", log, func(ctx context.Context) error { return s.take(ctx, e.Type, log) })
}

// ensureStanza creates the instance's stanza once per agent: pgBackRest
// answers quickly when it exists, and it must exist before the first WAL
// segment can be archived.
func (j *backupJobs) ensureStanza(ctx context.Context, ins string, r backup.Runner, log *slog.Logger) error {
	j.mu.Lock()
	done := j.stanza[ins]
	j.mu.Unlock()
	if done {
		return nil
	}
	if err := r.StanzaCreate(ctx); err != nil {
		// A recovery or a backup holds the stanza's lock for a moment:
		// the next pass tries again.
		if strings.Contains(err.Error(), "[050]") {
			log.Info("pgbackrest stanza busy: trying again in the next pass", "err", err)
			return nil
		}
		return err
	}
	log.Info("pgbackrest stanza ready", "stanza", r.Stanza)
	j.mu.Lock()
	if j.stanza == nil {
		j.stanza = map[string]bool{}
	}
	j.stanza[ins] = true
	j.mu.Unlock()
	return nil
}

// initial takes the initial backup in the background and writes its
// marker when it succeeded.
func (j *backupJobs) initial(ctx context.Context, r backup.Runner, marker File, log *slog.Logger) {
	j.mu.Lock()
	wait := time.Until(j.initialFailed.Add(initialRetry))
	j.mu.Unlock()
	if wait > 0 {
		return
	}
	j.start(ctx, "initial backup", log, func(ctx context.Context) error {
		label, err := r.Backup(ctx, "", backup.TriggerInitial, progressLog(log))
		if err != nil {
			j.mu.Lock()
			j.initialFailed = time.Now()
			j.mu.Unlock()
			return err
		}
		marker.Data = []byte(fmt.Sprintf("%s %s\n", time.Now().UTC().Format(time.RFC3339), label))
		_, err = write(marker)
		return err
	})
}

// start runs one backup job in the background unless one runs.
func (j *backupJobs) start(ctx context.Context, what string, log *slog.Logger, job func(context.Context) error) {
	j.mu.Lock()
	if j.running != "" {
		running := j.running
		j.mu.Unlock()
		log.Info(what+" skipped: another backup runs", "running", running)
		return
	}
	j.running = what
	j.mu.Unlock()
	go func() {
		start := time.Now()
		log.Info(what + " started")
		err := job(ctx)
		j.mu.Lock()
		j.running = ""
		j.mu.Unlock()
		if err != nil {
			log.Error(what+" failed", "err", err)
			return
		}
		log.Info(what+" done", "took", time.Since(start).Round(time.Second))
	}()
}

// startRecovery reports whether the pg_pitr fp may start: none runs.
func (j *backupJobs) startRecovery(fp string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.recovering != "" {
		return false
	}
	j.recovering = fp
	return true
}

func (j *backupJobs) endRecovery() {
	j.mu.Lock()
	j.recovering = ""
	j.mu.Unlock()
}

// progressLog logs a backup's label, size and every quarter of its copy.
func progressLog(log *slog.Logger) func(pgbackrest.Event) {
	next := 25.0
	return func(ev pgbackrest.Event) {
		switch {
		case ev.Percent >= next:
			log.Info("backup progress", "percent", int(ev.Percent))
			for next <= ev.Percent {
				next += 25
			}
		case ev.Label != "":
			log.Info("backup label", "label", ev.Label)
		case ev.Size != "":
			log.Info("backup " + ev.Size)
		}
	}
}
