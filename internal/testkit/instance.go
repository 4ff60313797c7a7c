package testkit

import (
	"testing"

	"pigsty/assets"
	"pigsty/pgsql/inventory"
)

// Instance is instance ins of the shipped inventory template conf (a name
// under assets/conf, without .yml), on PostgreSQL 15, the major Debian 12
// has; extra are further extra vars, as -e takes them, applied after it.
func Instance(t *testing.T, conf, ins string, extra ...string) *inventory.Instance {
	t.Helper()
	data, err := assets.Conf(conf)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Parse(conf+".yml", data, append([]string{"pg_version=15"}, extra...))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range inv.Instances() {
		if i.Name == ins {
			return i
		}
	}
	t.Fatalf("no instance %s in %s", ins, conf)
	return nil
}
