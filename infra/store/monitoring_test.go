package store_test

import (
	"testing"
	"time"

	"pigsty/infra/store"
)

func names(ms []store.Monitor) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Instance)
	}
	return out
}

// Monitors are added once, listed, watched and deleted.
func TestMonitors(t *testing.T) {
	s := newMember(t).open(t)
	ctx := timeout(t, 30*time.Second)
	watch := s.WatchMonitors(ctx)
	if got := <-watch; len(got) != 0 {
		t.Fatalf("initially %v", got)
	}
	if err := s.PutMonitor(ctx, store.Monitor{Instance: "pg-rds-2", Cluster: "pg-rds", AddedBy: "first"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMonitor(ctx, store.Monitor{Instance: "pg-rds-1", Cluster: "pg-rds"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMonitor(ctx, store.Monitor{Instance: "pg-rds-2", Cluster: "pg-rds", AddedBy: "second"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.Monitors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(list); len(got) != 2 || got[0] != "pg-rds-1" || got[1] != "pg-rds-2" || list[1].AddedBy != "first" {
		t.Fatalf("monitors %+v", list)
	}
	for got := <-watch; len(got) != 2; got = <-watch {
	}
	if ok, err := s.DeleteMonitor(ctx, "pg-rds-2"); err != nil || !ok {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if ok, _ := s.DeleteMonitor(ctx, "pg-rds-2"); ok {
		t.Error("deleted twice")
	}
	for got := <-watch; len(got) != 1; got = <-watch {
	}
	if err := s.PutMonitor(ctx, store.Monitor{Instance: "a/b"}); err == nil {
		t.Error("a name with / was taken")
	}
}

// The alert state of an infra host round-trips.
func TestAlertState(t *testing.T) {
	s := newMember(t).open(t)
	ctx := timeout(t, 10*time.Second)
	if got, err := s.LoadAlerts(ctx, "10.10.10.10"); err != nil || got != nil {
		t.Fatalf("before: %q %v", got, err)
	}
	if err := s.SaveAlerts(ctx, "10.10.10.10", []byte(`[{"name":"PostgresDown"}]`)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LoadAlerts(ctx, "10.10.10.10"); err != nil || string(got) != `[{"name":"PostgresDown"}]` {
		t.Fatalf("after: %q %v", got, err)
	}
	if got, _ := s.LoadAlerts(ctx, "10.10.10.11"); got != nil {
		t.Errorf("another host's: %q", got)
	}
}
