package testkit

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update is the -update flag of every test binary that imports testkit;
// such a package must not define its own.
var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// Updating reports whether the run was asked to rewrite golden files, for
// a test whose golden files do not have the shape Golden expects.
func Updating() bool { return *update }

// Golden compares got with testdata/<name>.golden, or with -update writes
// got there instead.
func Golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the output; regenerate with -update and review the diff\n%s", path, got)
	}
}
