package agent

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"pigsty/node/backup"
	"pigsty/pgsql/inventory"
)

// The same schedule lives on every member: an entry that fires takes a
// backup where the member is the primary at that minute, and nowhere else.
func TestScheduleFiresOnThePrimaryOnly(t *testing.T) {
	entries, _ := backup.Schedule(&inventory.Params{PgCrontab: []string{"00 01 * * * /pg/bin/pg-backup full", "*/5 * * * * /pg/bin/pg-backup"}})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	member := func(primary bool) (*backupJobs, chan string) {
		took := make(chan string, 4)
		j := &backupJobs{}
		j.sched = &schedule{entries: entries, log: log,
			primary: func(context.Context) bool { return primary },
			take:    func(_ context.Context, typ string, _ *slog.Logger) error { took <- typ; return nil },
		}
		return j, took
	}
	ctx := context.Background()
	at := func(h, m int) time.Time { return time.Date(2026, 11, 24, h, m, 0, 0, time.Local) }

	primary, onPrimary := member(true)
	replica, onReplica := member(false)
	for _, j := range []*backupJobs{primary, replica} {
		j.fire(ctx, at(1, 0))
	}
	select {
	case typ := <-onPrimary:
		if typ != "full" {
			t.Fatalf("01:00 took a %s backup, want the full one (both entries fire)", typ)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the primary took no backup at 01:00")
	}
	waitIdle(t, primary)
	primary.fire(ctx, at(1, 5))
	if typ := <-onPrimary; typ != "incr" {
		t.Fatalf("01:05 took %s, want incr", typ)
	}
	primary.fire(ctx, at(1, 7))
	select {
	case typ := <-onReplica:
		t.Fatalf("the replica took a %s backup", typ)
	case typ := <-onPrimary:
		t.Fatalf("01:07 took a %s backup: nothing is due", typ)
	case <-time.After(200 * time.Millisecond):
	}
}

// A backup that runs when an entry fires is not doubled.
func TestScheduleSkipsWhileABackupRuns(t *testing.T) {
	entries, _ := backup.Schedule(&inventory.Params{PgCrontab: []string{"* * * * * /pg/bin/pg-backup diff"}})
	var mu sync.Mutex
	taken := 0
	release := make(chan struct{})
	j := &backupJobs{sched: &schedule{entries: entries, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		primary: func(context.Context) bool { return true },
		take: func(context.Context, string, *slog.Logger) error {
			mu.Lock()
			taken++
			mu.Unlock()
			<-release
			return nil
		}}}
	now := time.Now().Truncate(time.Minute)
	j.fire(context.Background(), now)
	time.Sleep(50 * time.Millisecond)
	j.fire(context.Background(), now.Add(time.Minute))
	close(release)
	waitIdle(t, j)
	if taken != 1 {
		t.Fatalf("%d backups, want 1", taken)
	}
}

func waitIdle(t *testing.T, j *backupJobs) {
	t.Helper()
	for n := 0; n < 100; n++ {
		j.mu.Lock()
		idle := j.running == ""
		j.mu.Unlock()
		if idle {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the backup did not end")
}
