package backup

import (
	"strings"
	"testing"
	"time"

	"pigsty/pgsql/inventory"
)

func TestSchedule(t *testing.T) {
	p := &inventory.Params{
		NodeCrontab: []string{
			"00 01 * * * postgres /pg/bin/pg-backup full",
			"00 03 * * * root /usr/sbin/logrotate /etc/logrotate.conf",
		},
		PgCrontab: []string{
			"00 01 * * 2,3,4,5,6,7 /pg/bin/pg-backup",
			"30 * * * * pg-backup diff",
			"@weekly /pg/bin/pg-backup full",
			"00 02 * * * /pg/bin/pg-backup partial",
			"@reboot /pg/bin/pg-backup",
		},
	}
	entries, ignored := Schedule(p)
	var got []string
	for _, e := range entries {
		got = append(got, e.Origin+":"+e.Type)
	}
	if want := "node_crontab[0]:full pg_crontab[0]:incr pg_crontab[1]:diff pg_crontab[2]:full"; strings.Join(got, " ") != want {
		t.Fatalf("entries %s, want %s", strings.Join(got, " "), want)
	}
	var why []string
	for _, i := range ignored {
		why = append(why, i.Origin+": "+i.Reason)
	}
	for n, want := range []string{"node_crontab[1]: not a backup entry", "pg_crontab[3]: pg-backup partial: allowed", "pg_crontab[4]: @reboot"} {
		if n >= len(why) || !strings.HasPrefix(why[n], want) {
			t.Fatalf("ignored %q, want %q at %d", why, want, n)
		}
	}

	// Tuesday 01:00: the daily full entry and the incremental one fire;
	// one full backup covers both.
	tue := time.Date(2026, 11, 24, 1, 0, 0, 0, time.Local)
	if e, ok := Due(entries, tue); !ok || e.Type != "full" || e.Origin != "node_crontab[0]" {
		t.Fatalf("due at %s: %+v %v", tue, e, ok)
	}
	if e, ok := Due(entries, tue.Add(30*time.Minute)); !ok || e.Type != "diff" {
		t.Fatalf("due at 01:30: %+v %v", e, ok)
	}
	if _, ok := Due(entries, tue.Add(10*time.Minute)); ok {
		t.Fatal("nothing is due at 01:10")
	}
}
