package store_test

import (
	"slices"
	"testing"
	"time"

	"pigsty/infra/store"
)

// Put stores a whole desired state; PutDesired, which an agent's start
// uses, keeps the files and the removed instances; a confirmation is a new
// request each time, even of the same content.
func TestPutKeepsFilesAndRemovedAndConfirmationsAlwaysWrite(t *testing.T) {
	s := newMember(t).open(t)
	ctx := timeout(t, 10*time.Second)
	d := store.Desired{Inventory: []byte(inventory), Files: map[string][]byte{"cmdb.sql": []byte("CREATE TABLE t ();")},
		Removed: []store.Removal{{Instance: "pg-test-2", Data: true}}}
	rev, changed, err := s.Put(ctx, d, "dba@admin")
	if err != nil || !changed {
		t.Fatalf("Put = %d %v %v", rev, changed, err)
	}
	if again, changed, _ := s.Put(ctx, d, "dba@admin"); changed || again != rev {
		t.Errorf("the same Put again = %d %v", again, changed)
	}
	next, changed, err := s.PutDesired(ctx, []byte(inventory+"# edited\n"), nil, "pigsty infra")
	if err != nil || !changed {
		t.Fatalf("PutDesired = %d %v %v", next, changed, err)
	}
	got, err := s.Desired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Files["cmdb.sql"]) != "CREATE TABLE t ();" || !slices.Equal(got.Removed, d.Removed) {
		t.Errorf("PutDesired lost the files or the removed instances: %+v", got)
	}
	d.Inventory, d.Confirmed = got.Inventory, []string{"recreate pg-test/meta"}
	first, changed, _ := s.Put(ctx, d, "dba@admin")
	second, changed2, _ := s.Put(ctx, d, "dba@admin")
	if !changed || !changed2 || second <= first {
		t.Errorf("confirmations: %d %v, then %d %v", first, changed, second, changed2)
	}
	if got, _ := s.Desired(ctx); !slices.Equal(got.Confirmed, d.Confirmed) {
		t.Errorf("confirmed %q", got.Confirmed)
	}
}
