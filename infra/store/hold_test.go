package store_test

import (
	"testing"
	"time"

	"pigsty/infra/store"
)

func TestHold(t *testing.T) {
	s := newMember(t).open(t)
	ctx := timeout(t, 10*time.Second)
	if _, ok, err := s.GetHold(ctx, "pg-meta-1"); ok || err != nil {
		t.Fatalf("hold before any: %v %v", ok, err)
	}
	for _, h := range []store.Hold{
		{Instance: "pg-meta-1", Reason: "point-in-time recovery", By: "pigsty pitr"},
		{Instance: "pg-meta-2", Reason: "point-in-time recovery", By: "pigsty pitr"},
	} {
		if err := s.PutHold(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	h, ok, err := s.GetHold(ctx, "pg-meta-2")
	if !ok || err != nil || h.By != "pigsty pitr" || h.Since.IsZero() || h.Reinit {
		t.Fatalf("hold %+v %v %v", h, ok, err)
	}
	h.Reinit = true
	if err := s.PutHold(ctx, h); err != nil {
		t.Fatal(err)
	}
	if h, _, _ := s.GetHold(ctx, "pg-meta-2"); !h.Reinit {
		t.Fatal("the update did not stick")
	}
	if err := s.DeleteHold(ctx, "pg-meta-1"); err != nil {
		t.Fatal(err)
	}
	all, err := s.Holds(ctx)
	if err != nil || len(all) != 1 || all[0].Instance != "pg-meta-2" {
		t.Fatalf("holds %+v %v", all, err)
	}
	if err := s.PutHold(ctx, store.Hold{Instance: "a/b"}); err == nil {
		t.Fatal("an instance name with a slash was accepted")
	}
}
