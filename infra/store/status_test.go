package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"pigsty/infra/store"
)

func TestStatuses(t *testing.T) {
	m := newMember(t)
	s := m.open(t)
	ctx := timeout(t, 10*time.Second)

	for _, st := range []store.Status{
		{Instance: "pg-test-2", Revision: 7, Error: "patroni: not running", Phase: "patroni"},
		{Instance: "pg-test-1", Revision: 7, OK: true, Children: []store.ChildHealth{{Name: "patroni", PID: 42, Healthy: true}}},
	} {
		if err := s.PutStatus(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutStatus(ctx, store.Status{Instance: "a/b"}); err == nil {
		t.Error("instance with '/' accepted")
	}
	got, err := s.Statuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Instance != "pg-test-1" || got[1].Instance != "pg-test-2" {
		t.Fatalf("Statuses = %+v", got)
	}
	if !got[0].OK || got[0].Children[0].PID != 42 || got[1].Error != "patroni: not running" || got[1].UpdatedAt.IsZero() {
		t.Errorf("Statuses = %+v", got)
	}
}

func TestWaitConverged(t *testing.T) {
	m := newMember(t)
	s := m.open(t)
	ctx := timeout(t, 20*time.Second)

	rev, _, err := s.PutDesired(ctx, []byte("a: 1\n"), nil, "t")
	if err != nil {
		t.Fatal(err)
	}
	// An older result is already there; it does not count.
	if err := s.PutStatus(ctx, store.Status{Instance: "pg-test-1", Revision: rev - 1, OK: true}); err != nil {
		t.Fatal(err)
	}

	type result struct {
		got map[string]store.Status
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := s.WaitConverged(ctx, []string{"pg-test-1", "pg-test-2"}, rev)
		done <- result{got, err}
	}()

	agent := m.open(t)
	if err := agent.PutStatus(ctx, store.Status{Instance: "pg-test-2", Revision: rev, Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		t.Fatalf("returned before pg-test-1 converged: %+v %v", r.got, r.err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := agent.PutStatus(ctx, store.Status{Instance: "pg-test-9", Revision: rev, OK: true}); err != nil {
		t.Fatal(err)
	}
	if err := agent.PutStatus(ctx, store.Status{Instance: "pg-test-1", Revision: rev + 1, OK: true}); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("WaitConverged did not return")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.got) != 2 || r.got["pg-test-1"].Revision != rev+1 || r.got["pg-test-2"].Error != "boom" {
		t.Errorf("WaitConverged = %+v", r.got)
	}

	// Already converged: returns from the first read.
	if got, err := s.WaitConverged(ctx, []string{"pg-test-2"}, rev); err != nil || len(got) != 1 {
		t.Errorf("WaitConverged on converged = %+v %v", got, err)
	}

	// Timeout: what is there, and who is missing.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	got, err := s.WaitConverged(short, []string{"pg-test-1", "pg-test-3"}, rev+1)
	if err == nil || !strings.Contains(err.Error(), "pg-test-3 not at revision") {
		t.Errorf("err = %v", err)
	}
	if len(got) != 1 || !got["pg-test-1"].OK {
		t.Errorf("partial result = %+v", got)
	}
}
