package patroni_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// listenLine is the listen line of the restapi and postgresql sections.
var listenLine = regexp.MustCompile(`(?m)^  listen: \S+$`)

// Patroni's own schema check (--validate-config) accepts every golden. It
// also checks that the listen addresses can be bound, so those move to free
// loopback ports; the goldens' bin_dir must exist.
func TestPatroniValidatesGoldens(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the vendored Patroni")
	}
	pythonPath := vendoredPatroni(t)
	goldens, err := filepath.Glob(filepath.Join("testdata", "*.yml"))
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	dir := t.TempDir()
	for _, g := range goldens {
		data, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(listenLine.FindAll(data, -1)); n != 2 {
			t.Fatalf("%s: %d listen lines, want restapi's and postgresql's", g, n)
		}
		data = listenLine.ReplaceAllFunc(data, func([]byte) []byte { return []byte("  listen: " + freeAddr(t)) })
		f := filepath.Join(dir, filepath.Base(g))
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(livePython, "-m", "patroni", "--validate-config", f)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "PYTHONPATH=" + pythonPath}
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("%s: Patroni says %v: %s", filepath.Base(g), err, out)
		}
	}
}
