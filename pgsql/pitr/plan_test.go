package pitr

import (
	"strings"
	"testing"
	"time"

	"pigsty/internal/testkit"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/pgbackrest"
)

// catalogue is a stanza with a full backup that ended at 01:00:30 UTC
// and an incremental one that ended at 13:00:20.
const catalogue = `[{"name": "%s", "status": {"code": 0, "message": "ok"},
  "archive": [{"id": "15-1", "min": "000000010000000000000001", "max": "00000001000000000000002A"}],
  "db": [{"id": 1, "system-id": 7712192332521877674, "version": "15"}],
  "backup": [
    {"label": "20261125-010000F", "type": "full", "timestamp": {"start": 1795568400, "stop": 1795568430}},
    {"label": "20261125-010000F_20261125-130000I", "type": "incr", "prior": "20261125-010000F", "timestamp": {"start": 1795611600, "stop": 1795611620}}
  ]}]`

func stanza(t *testing.T, name string) pgbackrest.Stanza {
	st, err := pgbackrest.ParseInfo([]byte(strings.Replace(catalogue, "%s", name, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return st[0]
}

var now = time.Unix(1795613600, 0) // 2026-11-25 13:33:20 UTC

func facts(t *testing.T, i *inventory.Instance, source string) Facts {
	return Facts{Instance: i, Layout: layout.New("/", i), Source: stanza(t, source), Running: true, Now: now}
}

func TestPlans(t *testing.T) {
	meta := testkit.Instance(t, "meta", "pg-meta-1")
	test := testkit.Instance(t, "ha", "pg-test-1")
	for _, c := range []struct {
		name string
		req  Request
		f    Facts
	}{
		{"in-place-time", Request{Cluster: "pg-meta", Target: pgbackrest.Target{Type: "time", Value: "2026-11-25 12:00:00+00"}}, facts(t, meta, "pg-meta")},
		{"in-place-xid-pause", Request{Cluster: "pg-meta", Target: pgbackrest.Target{Type: "xid", Value: "250000", Exclusive: true, Action: "pause"}, CopyAside: true}, facts(t, meta, "pg-meta")},
		{"from-other-cluster", Request{Cluster: "pg-test", From: "pg-meta", Target: pgbackrest.Target{Type: "lsn", Value: "0/4001c80", Set: "20261125-010000F"},
			Repo: map[string]inventory.Scalar{"path": "/data/backups/pg-meta-15/backup"}}, facts(t, test, "pg-meta")},
		{"rehearsal-fork-7", Request{Cluster: "pg-meta", Rehearse: true, Fork: 7, Target: pgbackrest.Target{Type: "immediate"}}, facts(t, meta, "pg-meta")},
		{"clone", Request{Cluster: "pg-meta", From: "pg-src", Target: pgbackrest.Target{Type: "name", Value: "before_upgrade"}},
			Facts{Instance: meta, Layout: layout.New("/", meta), Source: stanza(t, "pg-src"), Fresh: true, Now: now}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := New(c.req, c.f)
			if err != nil {
				t.Fatal(err)
			}
			out := p.String() + "\nrestore: " + strings.Join(p.Restore.Args(), " ") + "\n"
			testkit.Golden(t, c.name, []byte(out))
		})
	}
}

func TestPlanRefuses(t *testing.T) {
	meta := testkit.Instance(t, "meta", "pg-meta-1")
	guarded := testkit.Instance(t, "meta", "pg-meta-1", "pg_safeguard=true")
	empty := stanza(t, "pg-meta")
	empty.Backups = nil
	missing := pgbackrest.Stanza{Name: "pg-x", Status: pgbackrest.Status{Code: pgbackrest.StatusMissingPath, Message: "missing stanza path"}}
	for _, c := range []struct {
		name string
		req  Request
		f    Facts
		want string
	}{
		{"before the oldest backup", Request{Cluster: "pg-meta", Target: pgbackrest.Target{Type: "time", Value: "2026-11-25 01:00:00+00"}}, facts(t, meta, "pg-meta"),
			"before the oldest backup of pg-meta ended (2026-11-25 01:00:30+00)"},
		{"in the future", Request{Cluster: "pg-meta", Target: pgbackrest.Target{Type: "time", Value: "2026-11-26 00:00:00+00"}}, facts(t, meta, "pg-meta"), "in the future"},
		{"before its set", Request{Cluster: "pg-meta", Target: pgbackrest.Target{Type: "time", Value: "2026-11-25 12:00:00+00", Set: "20261125-010000F_20261125-130000I"}},
			facts(t, meta, "pg-meta"), "before backup 20261125-010000F_20261125-130000I ended"},
		{"unknown set", Request{Cluster: "pg-meta", Target: pgbackrest.Target{Set: "20201125-010000F"}}, facts(t, meta, "pg-meta"), "backup set 20201125-010000F is not in stanza pg-meta"},
		{"no backup", Request{Cluster: "pg-meta"}, Facts{Instance: meta, Layout: layout.New("/", meta), Source: empty, Now: now}, "has no backup"},
		{"no stanza", Request{Cluster: "pg-meta", From: "pg-x"}, Facts{Instance: meta, Layout: layout.New("/", meta), Source: missing, Now: now}, "stanza pg-x: missing stanza path"},
		{"safeguard", Request{Cluster: "pg-meta"}, facts(t, guarded, "pg-meta"), "pg_safeguard is on"},
		{"fork 10", Request{Cluster: "pg-meta", Rehearse: true, Fork: 10}, facts(t, meta, "pg-meta"), "fork 10: allowed: 1-9"},
		{"rehearsal on production", Request{Cluster: "pg-meta", Rehearse: true, Data: "/pg/data"}, facts(t, meta, "pg-meta"), "beside production"},
		{"bad target", Request{Cluster: "pg-meta", Target: pgbackrest.Target{Type: "lsn", Value: "yesterday"}}, facts(t, meta, "pg-meta"), `lsn "yesterday"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.req, c.f)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestForkPort(t *testing.T) {
	var got []int
	for n := 1; n <= 9; n++ {
		got = append(got, ForkPort(5432, n))
	}
	want := []int{15432, 25432, 35432, 45432, 55432, 65432, 12432, 13432, 14432}
	for n := range want {
		if got[n] != want[n] {
			t.Fatalf("fork ports %v, want %v", got, want)
		}
	}
	if p := ForkPort(6543, 6); p != 12543 {
		t.Fatalf("fork 6 of pg_port 6543: %d", p)
	}
}

func TestFromInventory(t *testing.T) {
	p := &inventory.PITR{Cluster: "pg-src", Time: "2026-11-25 12:00:00+00", Exclusive: true, Action: "promote", Backup: true, Data: "/pg/data2", Port: 25432}
	r := FromInventory("pg-meta", p, "/pg/data")
	if r.From != "pg-src" || r.Target.Type != "time" || !r.Target.Exclusive || !r.CopyAside || !r.Rehearse || r.Data != "/pg/data2" || r.Port != 25432 {
		t.Fatalf("%+v", r)
	}
	own := FromInventory("pg-meta", &inventory.PITR{Cluster: "pg-meta", LSN: "0/1", Data: "/pg/data/"}, "/pg/data")
	if own.From != "" || own.Rehearse || own.Target.Type != "lsn" {
		t.Fatalf("%+v", own)
	}
	if own.Fingerprint() == r.Fingerprint() || own.Fingerprint() != FromInventory("pg-meta", &inventory.PITR{Cluster: "pg-meta", LSN: "0/1"}, "/pg/data").Fingerprint() {
		t.Fatal("fingerprints do not tell requests apart")
	}
}
