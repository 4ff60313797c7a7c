package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// run runs the CLI in-process and returns its output and exit code.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &out
	app.ExitErrHandler = func(*cli.Context, error) {}
	err := app.RunContext(context.Background(), interspersed(app, append([]string{"pigsty"}, args...)))
	if err == nil {
		return out.String(), 0
	}
	out.WriteString(err.Error())
	var ex cli.ExitCoder
	if errors.As(err, &ex) {
		return out.String(), ex.ExitCode()
	}
	return out.String(), 1
}

// snapshot lists a directory's files with their contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every bad inventory of the inventory package's table makes the commands
// that read it exit 2 with the expected file:line and field path, and
// nothing is written.
func TestBadInventoryChangesNothing(t *testing.T) {
	files, err := filepath.Glob("pgsql/inventory/testdata/bad/*.yml")
	if err != nil || len(files) < 25 {
		t.Fatalf("bad cases: %v (%d)", err, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			text, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var want, extra []string
			for _, line := range strings.Split(string(text), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					want = append(want, w)
				}
				if e, ok := strings.CutPrefix(line, "# extra: "); ok {
					extra = append(extra, "-e", e)
				}
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "bad.yml"), text, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Chdir(dir)
			before := snapshot(t, dir)
			for _, cmd := range [][]string{{"config", "validate"}, {"config", "show", "pg-meta"}, {"install"}} {
				args := append(append(append([]string(nil), cmd...), "-f", "bad.yml"), extra...)
				out, code := run(t, args...)
				if code != 2 {
					t.Errorf("%v: exit %d, want 2\n%s", cmd, code, out)
				}
				for _, w := range want {
					if !strings.Contains(out, w) {
						t.Errorf("%v: output lacks %q\n%s", cmd, w, out)
					}
				}
				if !strings.Contains(out, "nothing was changed") {
					t.Errorf("%v: output does not say nothing was changed\n%s", cmd, out)
				}
			}
			if after := snapshot(t, dir); len(after) != len(before) || after[filepath.Join(dir, "bad.yml")] != string(text) {
				t.Errorf("files changed: %v", after)
			}
		})
	}
}

func TestConfigureWritesValidInventory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	out, code := run(t, "configure", "-i", "127.0.0.1", "--pg-version", "15")
	if code != 0 {
		t.Fatalf("configure: exit %d\n%s", code, out)
	}
	st, err := os.Stat("pigsty.yml")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("pigsty.yml: %v %v", err, st)
	}
	if out, code := run(t, "config", "validate"); code != 0 {
		t.Fatalf("validate: exit %d\n%s", code, out)
	}
	if out, code := run(t, "config", "show", "pg-meta-1", "--json"); code != 0 || !strings.Contains(out, `"max_connections"`) {
		t.Fatalf("show: exit %d\n%s", code, out)
	}
	// never overwrites without --force
	before, _ := os.ReadFile("pigsty.yml")
	if out, code := run(t, "configure", "-i", "127.0.0.2", "--pg-version", "15"); code != 2 || !strings.Contains(out, "--force") {
		t.Fatalf("second configure: exit %d\n%s", code, out)
	}
	if after, _ := os.ReadFile("pigsty.yml"); !bytes.Equal(before, after) {
		t.Fatal("pigsty.yml was overwritten")
	}
	if _, code := run(t, "configure", "-i", "127.0.0.2", "--pg-version", "15", "--force"); code != 0 {
		t.Fatal("--force did not overwrite")
	}
}

func TestHelpListsCommands(t *testing.T) {
	out, code := run(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, c := range []string{"configure", "config", "install"} {
		if !strings.Contains(out, c) {
			t.Errorf("--help lacks %s", c)
		}
	}
}

func TestInterspersedFlags(t *testing.T) {
	app := newApp()
	got := strings.Join(interspersed(app, []string{"pigsty", "config", "show", "pg-meta", "--json", "-e", "pg_port=1", "x"}), " ")
	if got != "pigsty config show --json -e pg_port=1 -- pg-meta x" {
		t.Fatalf("got %q", got)
	}
}
