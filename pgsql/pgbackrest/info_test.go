package pgbackrest

import (
	"os"
	"testing"
	"time"
)

func TestParseInfo(t *testing.T) {
	raw, err := os.ReadFile("testdata/info.json")
	if err != nil {
		t.Fatal(err)
	}
	st, err := ParseInfo(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].Name != "pg-meta" || !st[0].Exists() || st[1].Exists() {
		t.Fatalf("stanzas: %+v", st)
	}
	m := st[0]
	if m.Backups[0].Type != "full" || m.Backups[1].Prior != m.Backups[0].Label {
		t.Fatalf("backups are not oldest first: %s, %s", m.Backups[0].Label, m.Backups[1].Label)
	}
	if got := m.SystemID(); got != 7712192332521877999 {
		t.Fatalf("system id %d: want the newest db history entry's", got)
	}
	if a := m.Backups[1].Annotations(); a != "pg_cluster=pg-meta,pigsty_trigger=schedule" {
		t.Fatalf("annotations %q", a)
	}
	from, wal, ok := m.Window()
	if !ok || !from.Equal(time.Unix(1795634799, 0)) || wal != "000000020000000000000009" {
		t.Fatalf("window %v %s %v", from, wal, ok)
	}
	for _, c := range []struct {
		at   int64
		want string
	}{
		{1795634798, ""}, // before the first backup ended: unreachable
		{1795634799, ""}, // in the second it ended: pgBackRest wants a later one
		{1795634800, "20261125-192636F"},
		{1795635002, "20261125-192636F"}, // the incremental had not ended yet
		{1795635600, "20261125-192636F_20261125-193000I"},
	} {
		b, ok := m.SetFor(time.Unix(c.at, 0))
		if (c.want == "") == ok || b.Label != c.want {
			t.Errorf("SetFor(%d) = %q, %v; want %q", c.at, b.Label, ok, c.want)
		}
	}
	if l, _ := m.Latest(); l.Type != "incr" {
		t.Fatalf("latest %s", l.Label)
	}
}
