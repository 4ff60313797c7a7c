package tune

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenCases cover the three sizes a user is most likely to run on, each
// with the PostgreSQL major it would typically carry: the Debian 12 major
// on the small hosts and Pigsty's default on the large one.
var goldenCases = []struct {
	name    string
	spec    Spec
	version int
}{
	{"1c1g10g-pg15", spec1, 15},
	{"2c24g252g-pg15", spec2, 15},
	{"64c512g3t-pg18", spec64, 18},
}

func TestGolden(t *testing.T) {
	for _, tmpl := range Templates() {
		for _, c := range goldenCases {
			name := tmpl + "-" + c.name
			t.Run(name, func(t *testing.T) {
				r := mustCompute(t, Input{
					Template:       tmpl,
					Version:        c.version,
					Spec:           c.spec,
					OSFamily:       "deb",
					OSMajor:        12,
					ArchiveCommand: "pgbackrest --stanza=pg-meta archive-push %p",
					PrimaryDB:      "meta",
				})
				var b strings.Builder
				fmt.Fprintf(&b, "# %s %s PG%d\n", tmpl, c.spec.Tag(), c.version)
				for _, p := range r.Params {
					fmt.Fprintf(&b, "%s = %s\n", p.Name, p.Value)
				}
				b.WriteString("# local\n")
				for _, p := range r.LocalParams {
					fmt.Fprintf(&b, "%s = %s\n", p.Name, p.Value)
				}
				path := filepath.Join("testdata", name+".golden")
				if *update {
					if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if b.String() != string(want) {
					t.Errorf("%s differs from the output; diff it with -update and git diff\n%s", path, b.String())
				}
			})
		}
	}
}
