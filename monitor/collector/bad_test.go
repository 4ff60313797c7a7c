package collector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadConfigs parses every file of testdata/bad as "bad.yml" and
// compares the errors, one per line, with the file's `# want:` lines: each
// problem is reported with its place, branch and field, and what is
// allowed, and nothing of the file is kept.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, line := range strings.Split(string(data), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					want = append(want, w)
				}
			}
			if len(want) == 0 {
				t.Fatalf("%s has no # want: line", f)
			}
			cfg, err := Parse([]File{{Name: "bad.yml", Data: data}}, DefaultTTLs)
			if err == nil {
				t.Fatalf("parsed, %d branches; want errors:\n%s", len(cfg.Branches), strings.Join(want, "\n"))
			}
			if cfg != nil {
				t.Errorf("a configuration with errors came back with it")
			}
			if got := err.Error(); got != strings.Join(want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
			}
		})
	}
}
