package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BadCase is one bad inventory of testdata/bad: the file, the extra vars
// it is loaded with, and the lines its error must contain. The expected
// lines come last in the file as `# want:` and `# extra:` comments, so the
// positions in them are those of the file as written.
type badCase struct {
	name  string
	text  []byte
	extra []string
	want  []string
}

func badCases(t *testing.T) []badCase {
	t.Helper()
	files, err := filepath.Glob("testdata/bad/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	var out []badCase
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := badCase{name: strings.TrimSuffix(filepath.Base(f), ".yml"), text: text}
		for _, line := range strings.Split(string(text), "\n") {
			if w, ok := strings.CutPrefix(line, "# want: "); ok {
				c.want = append(c.want, w)
			}
			if e, ok := strings.CutPrefix(line, "# extra: "); ok {
				c.extra = append(c.extra, e)
			}
		}
		if len(c.want) == 0 {
			t.Fatalf("%s has no # want: line", f)
		}
		out = append(out, c)
	}
	return out
}

// Every bad inventory fails with every problem at once, each naming
// file:line:col, the field path, the value and what is allowed. (The CLI's
// tests run the same files through `pigsty config validate` and check the
// exit code and that nothing is written.)
func TestBadInventories(t *testing.T) {
	cases := badCases(t)
	if len(cases) < 25 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv, err := Parse("bad.yml", c.text, c.extra)
			if err == nil {
				t.Fatalf("accepted:\n%s", c.text)
			}
			if inv != nil {
				t.Fatal("an inventory was returned along with errors")
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain\n  %s\ngot\n  %s", w, strings.ReplaceAll(msg, "\n", "\n  "))
				}
			}
		})
	}
}
