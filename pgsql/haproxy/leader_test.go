package haproxy

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"pigsty/pgsql/inventory"
)

func TestFollows(t *testing.T) {
	// pg-test2 is a standby cluster of pg-test: its leader key names a
	// standby leader, which /primary never passes.
	standby := strings.Replace(delegated, "  vars: { pg_version: 15", `    pg-test2:
      hosts: { 10.10.10.13: { pg_seq: 1, pg_role: primary, pg_upstream: 10.10.10.11 } }
      vars: { pg_cluster: pg-test2 }
  vars: { pg_version: 15`, 1)
	inv, err := inventory.Parse("delegated.yml", []byte(standby), nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*inventory.Instance{}
	for _, i := range inv.Instances() {
		byName[i.Name] = i
	}
	show := func(fs []Follow) string {
		var b strings.Builder
		for _, f := range fs {
			fmt.Fprintf(&b, "%s %s %v;", f.Cluster, f.LeaderKey, f.Backends)
		}
		return b.String()
	}
	// the infra node serves its own cluster's services and pg-test's
	if got, want := show(Follows(byName["pg-meta-1"])),
		"pg-meta /pg/pg-meta/leader [{pg-meta-primary [pg-meta-1]} {pg-meta-default [pg-meta-1]}];"+
			"pg-test /pg/pg-test/leader [{pg-test-primary [pg-test-1 pg-test-2]}];"; got != want {
		t.Errorf("infra node follows\n%s\nwant\n%s", got, want)
	}
	// pg-test's own nodes hand their services to the infra group
	if got := Follows(byName["pg-test-1"]); len(got) != 0 {
		t.Errorf("pg-test-1 follows %s, want nothing", show(got))
	}
	if got := Follows(byName["pg-test2-1"]); len(got) != 0 {
		t.Errorf("a standby cluster follows %s, want nothing", show(got))
	}

	f := Follows(byName["pg-meta-1"])[1]
	cmds := FollowCommands(f, "pg-test-2")
	if want := []string{"set server pg-test-primary/pg-test-1 health down", "set server pg-test-primary/pg-test-2 health up"}; !slices.Equal(cmds, want) {
		t.Errorf("commands %q, want %q", cmds, want)
	}
	for _, c := range FollowCommands(f, "") {
		if !strings.HasSuffix(c, " health down") {
			t.Errorf("without a leader: %q", c)
		}
	}
}
