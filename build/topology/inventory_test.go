package topology

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"pigsty/build/harness"
)

// inventory is the test's pigsty.yml: the harness's single-cluster file
// with more groups added, edited as a user would between applies.
type inventory struct {
	c    *harness.Cluster
	path string
}

// doc reads the file as plain YAML values.
func (inv *inventory) doc(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(inv.path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", inv.path, err)
	}
	return doc
}

// children is all.children of a document.
func children(doc map[string]any) map[string]any {
	return doc["all"].(map[string]any)["children"].(map[string]any)
}

// write stores the document, with a comment at the top (pgsql add must
// keep what the user wrote), and checks it with pigsty config validate.
func (inv *inventory) write(t *testing.T, doc map[string]any) {
	t.Helper()
	raw, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	raw = append([]byte("# the topology test's inventory: pg-test, its standby and delayed clusters\n"), raw...)
	if err := os.WriteFile(inv.path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := inv.c.Hosts[0].Command(ctx, harness.Binary(), "config", "validate", "-f", inv.path).CombinedOutput(); err != nil {
		t.Fatalf("%s does not validate: %v\n%s", inv.path, err, out)
	}
}

// cluster adds a group for a cluster whose hosts carry vars (pg_seq and
// pg_role are numbered in order, the first the primary).
func cluster(doc map[string]any, name string, hosts []*harness.Host, hostVars map[*harness.Host]map[string]any, vars map[string]any) {
	members := map[string]any{}
	for i, h := range hosts {
		role := "replica"
		if i == 0 {
			role = "primary"
		}
		v := map[string]any{"pg_seq": i + 1, "pg_role": role}
		for k, x := range hostVars[h] {
			v[k] = x
		}
		members[h.IP] = v
	}
	all := map[string]any{"pg_cluster": name}
	for k, v := range vars {
		all[k] = v
	}
	children(doc)[name] = map[string]any{"hosts": members, "vars": all}
}

// setHostVar sets (or, with nil, deletes) a var of a member of a cluster.
func (inv *inventory) setHostVar(t *testing.T, cls string, h *harness.Host, key string, value any) {
	t.Helper()
	doc := inv.doc(t)
	group, ok := children(doc)[cls].(map[string]any)
	if !ok {
		t.Fatalf("no group %s in %s", cls, inv.path)
	}
	vars, ok := group["hosts"].(map[string]any)[h.IP].(map[string]any)
	if !ok {
		t.Fatalf("%s is not a host of %s in %s", h.IP, cls, inv.path)
	}
	if value == nil {
		delete(vars, key)
	} else {
		vars[key] = value
	}
	inv.write(t, doc)
}

// apply runs pigsty apply on the infra host and logs how long it took.
func (inv *inventory) apply(t *testing.T, args ...string) {
	t.Helper()
	start := time.Now()
	out := run(t, inv.c.Hosts[0], append([]string{"apply", "-f", inv.path}, args...)...)
	t.Logf("pigsty apply %v: %s\n%s", args, time.Since(start).Round(100*time.Millisecond), tail(out, 12))
}

func tail(s string, n int) string {
	lines := 0
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' && i < len(s)-1 {
			lines++
			if lines == n {
				return "…\n" + s[i+1:]
			}
		}
	}
	return s
}

func ipOf(hs []*harness.Host) []string {
	var out []string
	for _, h := range hs {
		out = append(out, fmt.Sprintf("%s=%s", h.Name, h.IP))
	}
	return out
}

// run runs the pigsty binary on a host and fails the test on an error.
func run(t *testing.T, h *harness.Host, args ...string) string {
	t.Helper()
	out, err := h.Run(args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}
