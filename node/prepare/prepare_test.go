package prepare

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"pigsty/assets"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

func TestLayoutIdempotent(t *testing.T) {
	data, _ := assets.Conf("meta")
	inv, err := inventory.Parse("meta.yml", data, []string{"pg_version=15", "pg_dummy_filesize=1MiB"})
	if err != nil {
		t.Fatal(err)
	}
	i := inv.Instances()[0]
	root := t.TempDir()
	l := layout.New(root, i)
	u := DBSU{Name: "me", UID: os.Getuid(), GID: os.Getgid()}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for n := 0; n < 2; n++ {
		if err := Layout(l, i.Params, u, log); err != nil {
			t.Fatalf("run %d: %v", n, err)
		}
	}
	if target, err := os.Readlink(filepath.Join(root, "pg")); err != nil || target != filepath.Join(root, "data/postgres/pg-meta-15") {
		t.Fatalf("/pg → %q %v", target, err)
	}
	for _, p := range []string{"pg/data", "pg/log/patroni", "pg/cert", "etc/pgbouncer", "etc/haproxy/conf.d", "var/run/postgresql"} {
		if st, err := os.Stat(filepath.Join(root, p)); err != nil || !st.IsDir() {
			t.Errorf("%s: %v", p, err)
		}
	}
	if st, err := os.Stat(filepath.Join(root, "pg/data")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v", st.Mode())
	}
	if st, err := os.Stat(filepath.Join(root, "pg/dummy")); err != nil || st.Size() != 1<<20 {
		t.Errorf("dummy: %v %v", st, err)
	}
	// a real directory where a link belongs is reported, not deleted
	os.Remove(filepath.Join(root, "etc/patroni/patroni.yml"))
	os.MkdirAll(filepath.Join(root, "etc/patroni/patroni.yml"), 0o755)
	if err := Layout(l, i.Params, u, log); err == nil {
		t.Fatal("replaced a directory with a symlink")
	}
}
