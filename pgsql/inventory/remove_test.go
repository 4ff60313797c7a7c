package inventory

import (
	"strings"
	"testing"
)

// A removed member leaves its cluster: its host is no instance, and the
// services of the others no longer route to it. The last member takes the
// cluster with it.
func TestRemove(t *testing.T) {
	inv, err := Parse("test3.yml", []byte(test3(`        10.10.10.11: { pg_seq: 1, pg_role: primary }
        10.10.10.12: { pg_seq: 2, pg_role: replica }
        10.10.10.13: { pg_seq: 3, pg_role: replica }
`)), nil)
	if err != nil {
		t.Fatal(err)
	}
	servers := func(ins string) string {
		for _, i := range inv.Instances() {
			if i.Name != ins {
				continue
			}
			var out []string
			for _, s := range i.Services[0].Servers {
				out = append(out, s.Name)
			}
			return strings.Join(out, ",")
		}
		return "(gone)"
	}
	if got := servers("pg-test-1"); got != "pg-test-1,pg-test-2,pg-test-3" {
		t.Fatalf("before: %s", got)
	}
	inv.Remove("pg-test-3")
	if got := servers("pg-test-1"); got != "pg-test-1,pg-test-2" || inv.Host("10.10.10.13").Instance != nil || servers("pg-test-3") != "(gone)" {
		t.Errorf("after removing pg-test-3: %s", got)
	}
	inv.Remove("pg-test-1", "pg-test-2")
	if len(inv.Clusters) != 0 || len(inv.Instances()) != 0 {
		t.Errorf("clusters left: %d", len(inv.Clusters))
	}
}
