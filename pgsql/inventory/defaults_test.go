package inventory

import (
	"testing"
)

// Every parameter has its default in defaults.yml, except the identity
// and task parameters that have none, and defaults.yml names nothing else.
func TestDefaultsCoverParams(t *testing.T) {
	defs, err := defaults()
	if err != nil {
		t.Fatal(err)
	}
	noDefault := map[string]bool{
		"pg_cluster": true, "pg_seq": true, "pg_role": true, "pg_instances": true, "pg_upstream": true,
		"pg_shard": true, "pg_group": true, "gp_role": true, "pg_pitr": true,
		"pgsodium_key": true, "pgsodium_getkey_script": true,
	}
	si := fieldsOf(paramsType)
	for _, name := range si.names {
		if _, ok := defs[name]; !ok && !noDefault[name] {
			t.Errorf("parameter %s has no default in defaults.yml", name)
		}
	}
	for name := range defs {
		if _, ok := si.byName[name]; !ok {
			t.Errorf("defaults.yml sets %s, which is not a parameter", name)
		}
	}
	// and the defaults decode without a problem
	c := &collector{}
	(&parser{c: c}).decodeParams(defs)
	if len(c.list) > 0 {
		t.Fatalf("defaults do not decode: %v", c.list)
	}
}
