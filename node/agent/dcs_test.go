package agent

import (
	"reflect"
	"testing"
)

func TestDCSPatch(t *testing.T) {
	rendered := []byte(`
bootstrap:
  dcs:
    ttl: 30
    loop_wait: 10
    synchronous_mode: true
    pg_cluster: pg-test
    postgresql: {parameters: {work_mem: 64MB}}
`)
	want, err := desiredDCS(rendered)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := want["postgresql"]; ok {
		t.Fatal("postgresql.parameters are not the inventory's to reconcile")
	}
	cur := map[string]any{
		"ttl": 30.0, "loop_wait": 5.0, "synchronous_mode": false,
		"standby_cluster": map[string]any{"host": "10.10.10.11", "port": 5432.0},
		"postgresql":      map[string]any{"parameters": map[string]any{"work_mem": "8MB"}},
	}
	got := dcsPatch(want, cur)
	exp := map[string]any{"loop_wait": 10.0, "synchronous_mode": true, "standby_cluster": nil}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("patch %v, want %v", got, exp)
	}
	cur["loop_wait"], cur["synchronous_mode"], cur["standby_cluster"] = 10.0, true, nil
	if p := dcsPatch(want, cur); len(p) != 0 {
		t.Fatalf("converged config patched again: %v", p)
	}
}
