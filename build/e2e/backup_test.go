package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
func (h *host) info(stanza string) pgbackrest.Stanza {
	h.t.Helper()
	cmd := exec.Command("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "/usr/bin/pgbackrest",
		"--config="+filepath.Join(h.root, "etc/pgbackrest/pgbackrest.conf"), "--stanza="+stanza, "--output=json", "info")
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

// TestBackupArchiving: after `pigsty demo` the stanza exists, WAL is
// archived without a single failure and the initial full backup is in
// the repository, with its marker.
func TestBackupArchiving(t *testing.T) {
	h := newHost(t)
	ctx := context.Background()
	h.must("demo", "-i", "127.0.0.1", "--timeout", "2m")

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
}
