package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pigsty/pgsql/pgbackrest"
)

const dbaUser, dbaPass = "dbuser_dba", "DBUser.DBA"

// dba runs statements as the admin user on pg-meta's primary, directly.
func dba(ctx context.Context, sql string) error {
	return exec1(ctx, dbaUser, dbaPass, 5432, "meta", sql, "sslmode=require")
}

// scalar reads one value as the admin user.
func scalar[T any](ctx context.Context, port int, sql string) (T, error) {
	var v T
	c, err := connect(ctx, dbaUser, dbaPass, port, "meta", "sslmode=require")
	if err != nil {
		return v, err
	}
	defer c.Close(ctx)
	err = c.QueryRow(ctx, sql).Scan(&v)
	return v, err
}

// info is pgbackrest info of stanza, read as the dbsu with the host's
// configuration, the way a DBA would on the host.
func (h *host) info(stanza string, options ...string) pgbackrest.Stanza {
	h.t.Helper()
	args := append([]string{"--reuid=postgres", "--regid=postgres", "--init-groups", "/usr/bin/pgbackrest",
		"--config=" + filepath.Join(h.root, "etc/pgbackrest/pgbackrest.conf"), "--stanza=" + stanza, "--output=json"}, options...)
	cmd := exec.Command("setpriv", append(args, "info")...)
	cmd.Dir = "/"
	out, err := cmd.Output()
	if err != nil {
		h.t.Fatalf("pgbackrest info: %v\n%s", err, out)
	}
	st, err := pgbackrest.ParseInfo(out)
	if err != nil || len(st) != 1 {
		h.t.Fatalf("pgbackrest info: %v %s", err, out)
	}
	return st[0]
}

// backupWith is the newest backup whose pigsty_trigger annotation is trigger.
func backupWith(st pgbackrest.Stanza, trigger string) (pgbackrest.Backup, bool) {
	for i := len(st.Backups) - 1; i >= 0; i-- {
		if st.Backups[i].Annotation["pigsty_trigger"] == trigger {
			return st.Backups[i], true
		}
	}
	return pgbackrest.Backup{}, false
}

// archiveNow switches to a new WAL segment, in a statement of its own,
// and waits until the archiver has it: everything committed before is
// then in the repository.
func archiveNow(t *testing.T, ctx context.Context) {
	t.Helper()
	seg, err := scalar[string](ctx, 5432, "SELECT pg_walfile_name(pg_switch_wal())")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "segment "+seg+" archived", func() error {
		last, err := scalar[string](ctx, 5432, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
		if err != nil {
			return err
		}
		if last < seg {
			return fmt.Errorf("last archived %q", last)
		}
		return nil
	})
}

// waitInitial waits for the initial backup the agent takes after demo.
func waitInitial(t *testing.T, h *host) pgbackrest.Backup {
	t.Helper()
	var initial pgbackrest.Backup
	took := waitFor(t, 2*time.Minute, "the initial backup", func() error {
		b, ok := backupWith(h.info("pg-meta"), "initial")
		if !ok {
			return fmt.Errorf("no backup annotated pigsty_trigger=initial yet")
		}
		initial = b
		return nil
	})
	t.Logf("initial backup %s (%s, %d bytes) in the repository %s after demo", initial.Label, initial.Type, initial.Info.Size, took.Round(100*time.Millisecond))
	return initial
}

// TestBackupArchiving: after `pigsty demo` the stanza exists, WAL is
// archived without a single failure and the initial full backup is in
// the repository, with its marker.
func TestBackupArchiving(t *testing.T) {
	h := newHost(t)
	ctx := context.Background()
	h.must("demo", "-i", "127.0.0.1", "--timeout", "2m")

	initial := waitInitial(t, h)
	if initial.Type != "full" || initial.Annotation["pg_cluster"] != "pg-meta" {
		t.Fatalf("initial backup %+v: want a full backup annotated pg_cluster=pg-meta", initial)
	}
	waitFor(t, 30*time.Second, "initial.done", func() error {
		_, err := os.Stat(filepath.Join(h.root, "etc/pgbackrest/initial.done"))
		return err
	})
	if err := dba(ctx, "CREATE TABLE archived AS SELECT generate_series(1, 1000) AS id"); err != nil {
		t.Fatal(err)
	}
	before, err := scalar[int64](ctx, 5432, "SELECT archived_count FROM pg_stat_archiver")
	if err != nil {
		t.Fatal(err)
	}
	archiveNow(t, ctx)
	after, err := scalar[int64](ctx, 5432, "SELECT archived_count FROM pg_stat_archiver")
	if err != nil {
		t.Fatal(err)
	}
	failed, err := scalar[int64](ctx, 5432, "SELECT failed_count FROM pg_stat_archiver")
	if err != nil {
		t.Fatal(err)
	}
	if after <= before || failed != 0 {
		t.Fatalf("pg_stat_archiver: archived %d → %d, failed %d: want more archived and no failure", before, after, failed)
	}
	if st := h.info("pg-meta"); st.Status.Code != pgbackrest.StatusOK {
		t.Fatalf("stanza status %+v", st.Status)
	}
	ready, err := filepath.Glob(filepath.Join(h.root, "pg/data/pg_wal/archive_status/*.ready"))
	if err != nil || len(ready) > 0 {
		t.Fatalf("segments waiting to be archived: %v %v", ready, err)
	}

	// pigsty backup, with progress, then the catalogue as a table and JSON.
	out := h.must("backup", "pg-meta", "diff")
	t.Logf("pigsty backup pg-meta diff:\n%s", out)
	if !regexp.MustCompile(`(?m)^ +[0-9]+%$`).MatchString(out) || !regexp.MustCompile(`backup \S+D done in`).MatchString(out) {
		t.Fatalf("no progress or no diff label in:\n%s", out)
	}
	table := h.must("backup", "ls", "pg-meta")
	t.Logf("pigsty backup ls pg-meta:\n%s", table)
	for _, want := range []string{"LABEL", initial.Label, "initial", "cli", "schedule (runs on the primary only):", "00 01 * * * /pg/bin/pg-backup full"} {
		if !strings.Contains(table, want) {
			t.Fatalf("backup ls lacks %q", want)
		}
	}
	var list struct {
		Backups []struct {
			Label, Type string
			Annotation  map[string]string
		}
		Schedule []struct{ Type, Origin string }
	}
	if err := json.Unmarshal(h.stdout("backup", "ls", "pg-meta", "--json"), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Backups) != 2 || list.Backups[1].Type != "diff" || list.Backups[1].Annotation["pigsty_trigger"] != "cli" ||
		len(list.Schedule) != 1 || list.Schedule[0].Type != "full" {
		t.Fatalf("backup ls --json: %+v", list)
	}
}

// rows is the sorted content of t_pitr on a port, as "batch:n" strings.
func rows(ctx context.Context, port int) ([]string, error) {
	c, err := connect(ctx, dbaUser, dbaPass, port, "meta", "sslmode=require")
	if err != nil {
		return nil, err
	}
	defer c.Close(ctx)
	r, err := c.Query(ctx, "SELECT batch || ':' || n FROM t_pitr ORDER BY batch, n")
	if err != nil {
		return nil, err
	}
	var out []string
	for r.Next() {
		var s string
		if err := r.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, r.Err()
}

// batch writes rows batch:1..n, each with the time it was written.
func batch(t *testing.T, ctx context.Context, name string, n int) []string {
	t.Helper()
	if err := dba(ctx, fmt.Sprintf("INSERT INTO t_pitr SELECT '%s', g, clock_timestamp() FROM generate_series(1, %d) g", name, n)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("%s:%d", name, i))
	}
	return out
}

func sameRows(t *testing.T, ctx context.Context, port int, want []string, what string) {
	t.Helper()
	got, err := rows(ctx, port)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("%s: rows %v, want %v", what, got, want)
	}
}

// pitr runs pigsty pitr and checks what every recovery must leave: the
// table back with exactly the rows written before the target, a
// writable primary that archives WAL, and a new full backup.
func pitrTo(t *testing.T, h *host, ctx context.Context, want []string, args ...string) {
	t.Helper()
	start := time.Now()
	out := h.must(append([]string{"pitr", "pg-meta", "--yes"}, args...)...)
	t.Logf("pigsty pitr pg-meta %s: %s\n%s", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond), out)
	for _, step := range []string{"==> pause", "==> hold", "==> restore", "==> replay", "==> verify", "==> promote", "==> release", "==> resume", "==> backup"} {
		if !strings.Contains(out, step) {
			t.Fatalf("pitr output lacks step %q", step)
		}
	}
	sameRows(t, ctx, 5432, want, "after pitr "+strings.Join(args, " "))
	// HAProxy routes to the primary again once its health checks see it.
	took := waitFor(t, 30*time.Second, "a write through 5433", func() error {
		return exec1(ctx, "dbuser_meta", "DBUser.Meta", 5433, "meta", "INSERT INTO t_pitr VALUES ('after', 1, now()); DELETE FROM t_pitr WHERE batch = 'after'")
	})
	t.Logf("writes through 5433 %s after pitr returned", took.Round(100*time.Millisecond))
	archiveNow(t, ctx)
	if failed, err := scalar[int64](ctx, 5432, "SELECT failed_count FROM pg_stat_archiver"); err != nil || failed != 0 {
		t.Fatalf("archiver failures after the recovery: %d %v", failed, err)
	}
	st := h.info("pg-meta")
	b, ok := backupWith(st, "pitr")
	if !ok || b.Type != "full" || b.Start().Before(start.Truncate(time.Second)) {
		t.Fatalf("no new full backup after the recovery: %+v", st.Backups)
	}
	waitFor(t, time.Minute, "the agent converged after the recovery", func() error {
		if status := h.must("status"); !strings.Contains(status, "yes (rev") {
			return fmt.Errorf("%s", status)
		}
		return nil
	})
}

// TestPITR: rows written with their time, a full backup, more rows, a
// dropped table; `pigsty pitr` to a time, then to an LSN, then to a
// transaction before the drop brings the table back with exactly the
// rows written before the target, and each time the cluster takes writes,
// archives and backs up again.
func TestPITR(t *testing.T) {
	h := newHost(t)
	ctx := context.Background()
	h.must("demo", "-i", "127.0.0.1", "--timeout", "2m")
	waitInitial(t, h)
	if err := dba(ctx, "CREATE TABLE t_pitr (batch text, n int, at timestamptz)"); err != nil {
		t.Fatal(err)
	}
	want := batch(t, ctx, "a", 3)
	h.must("backup", "pg-meta", "full")
	// A time target lies after the end of a backup, in whole seconds.
	time.Sleep(time.Second)
	want = append(want, batch(t, ctx, "b", 2)...)

	// To a time: after b, before c and the drop.
	at, err := scalar[time.Time](ctx, 5432, "SELECT clock_timestamp()")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	batch(t, ctx, "c", 2)
	if err := dba(ctx, "DROP TABLE t_pitr"); err != nil {
		t.Fatal(err)
	}
	pitrTo(t, h, ctx, want, "--time", at.UTC().Format(time.RFC3339Nano))

	// To an LSN: after d, before e and the drop.
	want = append(want, batch(t, ctx, "d", 2)...)
	lsn, err := scalar[string](ctx, 5432, "SELECT pg_current_wal_lsn()::text")
	if err != nil {
		t.Fatal(err)
	}
	batch(t, ctx, "e", 2)
	if err := dba(ctx, "DROP TABLE t_pitr"); err != nil {
		t.Fatal(err)
	}
	pitrTo(t, h, ctx, want, "--lsn", lsn)

	// To a transaction, inclusive: f is in, g and the drop are not.
	c, err := connect(ctx, dbaUser, dbaPass, 5432, "meta", "sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var xid int64
	if err := tx.QueryRow(ctx, "INSERT INTO t_pitr SELECT 'f', g, clock_timestamp() FROM generate_series(1, 2) g RETURNING txid_current()").Scan(&xid); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	want = append(want, "f:1", "f:2")
	batch(t, ctx, "g", 2)
	if err := dba(ctx, "DROP TABLE t_pitr"); err != nil {
		t.Fatal(err)
	}
	pitrTo(t, h, ctx, want, "--xid", strconv.FormatInt(xid&0xffffffff, 10))

	// A dry run prints the plan and changes nothing; a target before the
	// oldest backup is refused with what the backups can reach.
	plan := h.must("pitr", "pg-meta", "--immediate", "--dry-run")
	if !strings.Contains(plan, "steps\n") || !strings.Contains(plan, "the end of the backup") {
		t.Fatalf("dry run:\n%s", plan)
	}
	sameRows(t, ctx, 5432, want, "after the dry run")
	out, err := h.run("pitr", "pg-meta", "--yes", "--time", "2001-01-01 00:00:00+00")
	if err == nil || !strings.Contains(out, "before the oldest backup of pg-meta ended") {
		t.Fatalf("a time before every backup: %v\n%s", err, out)
	}
}

// TestPITRRehearsal: a recovery rehearsed in a fork shows the old rows
// while production keeps serving writes; a hot fork of the running
// instance (fork 7, whose Pigsty port 75432 is no port) has the current
// ones.
func TestPITRRehearsal(t *testing.T) {
	h := newHost(t)
	ctx := context.Background()
	h.must("demo", "-i", "127.0.0.1", "--timeout", "2m")
	if err := dba(ctx, "CREATE TABLE t_pitr (batch text, n int, at timestamptz)"); err != nil {
		t.Fatal(err)
	}
	old := batch(t, ctx, "a", 3)
	waitInitial(t, h)
	// A time target lies after the end of a backup, in whole seconds.
	time.Sleep(time.Second)
	at, err := scalar[time.Time](ctx, 5432, "SELECT clock_timestamp()")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	batch(t, ctx, "b", 2)

	// A writer through the primary service for the whole rehearsal.
	var written, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 1; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if err := exec1(ctx, "dbuser_meta", "DBUser.Meta", 5433, "meta", fmt.Sprintf("INSERT INTO t_pitr VALUES ('w', %d, now())", n)); err != nil {
				failed.Add(1)
				continue
			}
			written.Add(1)
		}
	}()
	out := h.must("pitr", "pg-meta", "--rehearse", "--time", at.UTC().Format(time.RFC3339Nano), "--yes")
	close(stop)
	wg.Wait()
	t.Logf("pigsty pitr --rehearse:\n%s", out)
	if failed.Load() > 0 || written.Load() < 10 {
		t.Fatalf("production during the rehearsal: %d writes, %d failed", written.Load(), failed.Load())
	}
	sameRows(t, ctx, 15432, old, "fork 1")
	if now, err := rows(ctx, 5432); err != nil || len(now) != len(old)+2+int(written.Load()) {
		t.Fatalf("production has %d rows (%v), want %d", len(now), err, len(old)+2+int(written.Load()))
	}
	if err := exec1(ctx, dbaUser, dbaPass, 15432, "meta", "INSERT INTO t_pitr VALUES ('fork', 1, now())", "sslmode=require"); err != nil {
		t.Fatalf("the promoted fork takes no write: %v", err)
	}

	out = h.must("fork", "7")
	t.Logf("pigsty fork 7:\n%s", out)
	current, err := rows(ctx, 5432)
	if err != nil {
		t.Fatal(err)
	}
	forked, err := rows(ctx, 12432)
	if err != nil {
		t.Fatalf("fork 7 on 12432: %v", err)
	}
	if len(forked) != len(current) {
		t.Fatalf("fork 7 has %d rows, production %d", len(forked), len(current))
	}
	if archive, err := scalar[string](ctx, 12432, "SHOW archive_mode"); err != nil || archive != "off" {
		t.Fatalf("fork 7 archive_mode %q %v", archive, err)
	}
	ls := h.must("fork", "ls")
	for _, want := range []string{"15432", "12432", "pg-meta-fork1", "pg-meta-fork7"} {
		if !strings.Contains(ls, want) {
			t.Fatalf("fork ls lacks %s:\n%s", want, ls)
		}
	}
	h.must("fork", "rm", "1", "--yes")
	h.must("fork", "rm", "7", "--yes")
	if _, err := os.Stat(filepath.Join(h.root, "pg/data7")); !os.IsNotExist(err) {
		t.Fatalf("fork 7 left its data: %v", err)
	}
	if err := exec1(ctx, "dbuser_meta", "DBUser.Meta", 5433, "meta", "SELECT 1"); err != nil {
		t.Fatalf("production after removing the forks: %v", err)
	}
}

// TestClone: a new cluster, pg-meta2, declared with pg_pitr naming
// pg-meta, is created from pg-meta's backups and has pg-meta's data at
// the chosen time; it then archives into a stanza of its own.
func TestClone(t *testing.T) {
	h := newHost(t)
	ctx := context.Background()
	h.must("demo", "-i", "127.0.0.1", "--timeout", "2m")
	waitInitial(t, h)
	if err := dba(ctx, "CREATE TABLE t_pitr (batch text, n int, at timestamptz)"); err != nil {
		t.Fatal(err)
	}
	want := batch(t, ctx, "a", 3)
	h.must("backup", "pg-meta", "full")
	// A time target lies after the end of a backup, in whole seconds.
	time.Sleep(time.Second)
	want = append(want, batch(t, ctx, "b", 2)...)
	at, err := scalar[time.Time](ctx, 5432, "SELECT clock_timestamp()")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	batch(t, ctx, "c", 2)
	archiveNow(t, ctx)
	h.must("stop")

	path := filepath.Join(h.root, "pigsty.yml")
	inv, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const cls = "        pg_cluster: pg-meta\n"
	if !strings.Contains(string(inv), cls) {
		t.Fatalf("no pg_cluster line in the inventory:\n%s", inv)
	}
	clone := strings.Replace(string(inv), cls, fmt.Sprintf("        pg_cluster: pg-meta2\n        pg_pitr: { cluster: pg-meta, time: '%s' }\n",
		at.UTC().Format(time.RFC3339Nano)), 1)
	if err := os.WriteFile(path, []byte(clone), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out := h.must("demo", "-i", "127.0.0.1", "--timeout", "4m")
	t.Logf("pg-meta2 cloned from pg-meta in %s:\n%s", time.Since(start).Round(100*time.Millisecond), out)
	sameRows(t, ctx, 5432, want, "pg-meta2")
	if name, err := scalar[string](ctx, 5432, "SHOW cluster_name"); err != nil || name != "pg-meta2" {
		t.Fatalf("cluster_name %q %v", name, err)
	}
	if err := exec1(ctx, "dbuser_meta", "DBUser.Meta", 5433, "meta", "INSERT INTO t_pitr VALUES ('clone', 1, now())"); err != nil {
		t.Fatalf("pg-meta2 takes no write through 5433: %v", err)
	}
	archiveNow(t, ctx)
	waitFor(t, time.Minute, "pg-meta2's full backup", func() error {
		if b, ok := backupWith(h.info("pg-meta2"), "pitr"); !ok || b.Type != "full" {
			return fmt.Errorf("none yet")
		}
		return nil
	})
	if failed, err := scalar[int64](ctx, 5432, "SELECT failed_count FROM pg_stat_archiver"); err != nil || failed != 0 {
		t.Fatalf("archiver failures: %d %v", failed, err)
	}
	// pg-meta's repository is left as it was.
	if st := h.info("pg-meta", "--repo1-path="+filepath.Join(h.root, "data/backups/pg-meta-15/backup")); len(st.Backups) != 2 {
		t.Fatalf("pg-meta's stanza: %+v", st.Backups)
	}
}

// stdout runs the binary and returns what it printed on stdout alone.
func (h *host) stdout(args ...string) []byte {
	h.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = h.root
	cmd.Env = append(os.Environ(), "PIGSTY_ROOT="+h.root)
	out, err := cmd.Output()
	if err != nil {
		h.t.Fatalf("pigsty %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// agentLog is the agent's log of the host.
func (h *host) agentLog() string {
	b, _ := os.ReadFile(filepath.Join(h.root, "var/lib/pigsty/log/infra.log"))
	return string(b)
}

// TestScheduledBackup: a pg-backup entry of pg_crontab is run by the
// agent on the primary; while the member is not the primary — held by a
// recovery waiting at its target (--action pause), its Patroni stopped —
// the entry fires and no backup is taken. The recovery then resumes.
// Other crontab entries are reported, not run.
func TestScheduledBackup(t *testing.T) {
	h := newHost(t)
	ctx := context.Background()
	h.must("configure", "-i", "127.0.0.1")
	path := filepath.Join(h.root, "pigsty.yml")
	inv, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const entry = "          - '00 01 * * * /pg/bin/pg-backup full'   # make a full backup every day at 1am\n"
	if !strings.Contains(string(inv), entry) {
		t.Fatalf("no pg_crontab entry to replace in:\n%s", inv)
	}
	inv = []byte(strings.Replace(string(inv), entry, "          - '* * * * * /pg/bin/pg-backup diff'\n          - '00 03 * * * /pg/bin/pg-vacuum'\n", 1))
	if err := os.WriteFile(path, inv, 0o600); err != nil {
		t.Fatal(err)
	}
	h.must("demo", "-i", "127.0.0.1", "--timeout", "2m")
	scheduled := func() []pgbackrest.Backup {
		var out []pgbackrest.Backup
		for _, b := range h.info("pg-meta").Backups {
			if b.Annotation["pigsty_trigger"] == "schedule" {
				out = append(out, b)
			}
		}
		return out
	}
	took := waitFor(t, 3*time.Minute, "a scheduled backup", func() error {
		if len(scheduled()) == 0 {
			return fmt.Errorf("none yet")
		}
		return nil
	})
	first := scheduled()[0]
	t.Logf("scheduled backup %s (%s) %s after demo", first.Label, first.Type, took.Round(time.Second))
	if first.Type != "diff" {
		t.Fatalf("the entry asks for diff, got %s", first.Type)
	}
	if ls := h.must("backup", "ls", "pg-meta"); !strings.Contains(ls, `not run by pigsty: pg_crontab[1] "00 03 * * * /pg/bin/pg-vacuum"`) {
		t.Fatalf("backup ls does not report the ignored entry:\n%s", ls)
	}

	// Held at the target of a recovery, the member is not the primary.
	out := h.must("pitr", "pg-meta", "--immediate", "--action", "pause", "--yes")
	t.Logf("pitr --action pause:\n%s", out)
	if !strings.Contains(out, "recovery paused at the target") {
		t.Fatalf("the recovery did not stop at its target:\n%s", out)
	}
	heldAt := time.Now()
	before := len(scheduled())
	waitFor(t, 2*time.Minute, "a scheduled backup skipped", func() error {
		if !strings.Contains(h.agentLog(), "scheduled backup skipped: this member is not the primary") {
			return fmt.Errorf("no skip logged yet")
		}
		return nil
	})
	if n := len(scheduled()); n != before {
		t.Fatalf("%d scheduled backups taken while held", n-before)
	}
	out = h.must("pitr", "pg-meta", "--resume", "--yes")
	t.Logf("pitr --resume after %s held:\n%s", time.Since(heldAt).Round(time.Second), out)
	waitFor(t, 30*time.Second, "a write through 5433 after the recovery", func() error {
		return exec1(ctx, "dbuser_meta", "DBUser.Meta", 5433, "meta", "CREATE TABLE IF NOT EXISTS t_resumed(x int)")
	})
}

// TestBenchBackupRestore measures pgBackRest's backup and restore
// throughput for a database of about 1 GB (pgbench scale 64): `pigsty
// backup full`, and the restore step of a rehearsal into a fork.
func TestBenchBackupRestore(t *testing.T) {
	if os.Getenv("PIGSTY_BENCH") == "" {
		t.Skip("set PIGSTY_BENCH=1 (make bench)")
	}
	h := newHost(t)
	ctx := context.Background()
	h.must("demo", "-i", "127.0.0.1", "--timeout", "2m")
	waitInitial(t, h)
	load := exec.Command("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "/usr/lib/postgresql/15/bin/pgbench",
		"-i", "-s", "64", "-q", "-h", filepath.Join(h.root, "var/run/postgresql"), "-p", "5432", "meta")
	load.Dir = "/"
	start := time.Now()
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i: %v\n%s", err, out)
	}
	size, err := scalar[int64](ctx, 5432, "SELECT sum(pg_database_size(oid))::bigint FROM pg_database")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded pgbench scale 64 in %s: %.0f MB in all databases", time.Since(start).Round(time.Second), float64(size)/1e6)
	archiveNow(t, ctx)

	start = time.Now()
	h.must("backup", "pg-meta", "full")
	backup := time.Since(start)
	out := h.must("pitr", "pg-meta", "--rehearse", "--immediate", "--yes")
	m := regexp.MustCompile(`restore took ([0-9.]+[a-zµ]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no restore time in:\n%s", out)
	}
	restore, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	repo := h.info("pg-meta")
	latest, _ := repo.Latest()
	mb := float64(size) / 1e6
	t.Logf("database %.0f MB, full backup %s in the repository (zstd)", mb, bytesMB(latest.Info.Repository.Size))
	t.Logf("backup  (pigsty backup full):          %6.1f s  %6.1f MB/s", backup.Seconds(), mb/backup.Seconds())
	t.Logf("restore (pgbackrest restore, rehearsal): %6.1f s  %6.1f MB/s", restore.Seconds(), mb/restore.Seconds())
	h.must("fork", "rm", "1", "--yes")
}

func bytesMB(n int64) string { return strconv.FormatFloat(float64(n)/1e6, 'f', 0, 64) + " MB" }
