package inventory

import (
	"testing"

	"pigsty/assets"
)

// FuzzParse feeds the parser arbitrary inventories, seeded with the
// shipped examples: it must never panic, and must return either an
// inventory or errors that each carry a position.
func FuzzParse(f *testing.F) {
	for _, name := range assets.Confs() {
		data, _ := assets.Conf(name)
		f.Add(data)
	}
	f.Add([]byte(meta("pg_weight: 3", "pg_users: [ { name: x, roles: [ a, { name: b, admin: true } ] } ]")))
	f.Add([]byte(test3("        10.10.10.11: { pg_seq: 1, pg_role: primary }\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse("fuzz.yml", data, nil)
		if err == nil {
			if inv == nil {
				t.Fatal("no inventory and no error")
			}
			return
		}
		errs, ok := err.(Errors)
		if !ok || len(errs) == 0 {
			t.Fatalf("error is not a list of problems: %v", err)
		}
		for _, e := range errs {
			if e.Pos.File == "" {
				t.Fatalf("problem without a position: %v", e)
			}
		}
	})
}
