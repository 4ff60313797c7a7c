package recovery

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"pigsty/internal/testkit"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/pitr"
)

func tree(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, f)
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func list(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	return out
}

// A hot copy takes the files a base backup takes and keeps the
// directories PostgreSQL needs to start.
func TestCopyLeavesOut(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "data1")
	tree(t, src, "PG_VERSION", "base/1/1249", "base/1/pgsql_tmp/pgsql_tmp1.0", "global/pg_control", "pg_wal/000000010000000000000001",
		"pg_wal/archive_status/", "pg_replslot/slot/state", "pg_stat_tmp/global.stat", "postmaster.pid", "postmaster.opts",
		"postgresql.auto.conf", "pg_notify/")
	if err := os.Symlink("/elsewhere/wal", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	var n copied
	if err := copyTree(src, dst, leftOut, &n); err != nil {
		t.Fatal(err)
	}
	want := []string{"PG_VERSION", "base/", "base/1/", "base/1/1249", "global/", "global/pg_control", "link",
		"pg_notify/", "pg_replslot/", "pg_stat_tmp/", "postgresql.auto.conf"}
	if got := list(t, dst); !slices.Equal(got, want) {
		t.Fatalf("copied %q\nwant   %q", got, want)
	}
	if n.files != 4 || n.bytes != int64(len("PG_VERSION")+len("base/1/1249")+len("global/pg_control")+len("postgresql.auto.conf")) {
		t.Fatalf("counted %+v", n)
	}
	if l, _ := os.Readlink(filepath.Join(dst, "link")); l != "/elsewhere/wal" {
		t.Fatalf("symlink copied as %q", l)
	}
}

// A vanished file — a temporary file a running server removed while it
// was copied — is not an error.
func TestCopyFileVanished(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := copyFile(filepath.Join(dir, "gone"), filepath.Join(dir, "copy")); !os.IsNotExist(err) {
		t.Fatalf("copying a missing file: %v", err)
	}
}

func self() *syscall.Credential {
	return &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}
}

// A fork's settings go last in its postgresql.auto.conf, replace those of
// an earlier fork in the same directory, and are what fork ls reads.
func TestForkSettings(t *testing.T) {
	i := testkit.Instance(t, "meta", "pg-meta-1")
	l := layout.New(t.TempDir(), i)
	data := pitr.ForkData(l, 3)
	tree(t, data, "pg_hba.conf", "postgresql.auto.conf")
	os.WriteFile(filepath.Join(data, "postgresql.auto.conf"), []byte("work_mem = '64MB'\n"), 0o600)
	e := Env{Layout: l, Cred: self()}
	f := &flow{e: e}
	for _, port := range []int{35432, 35433} {
		fk := Fork{ID: 3, Data: data, Port: port, Socket: pitr.ForkDir(l, 3), Cluster: "pg-meta-fork3"}
		if err := f.configureFork(i, fk); err != nil {
			t.Fatal(err)
		}
	}
	auto, _ := os.ReadFile(filepath.Join(data, "postgresql.auto.conf"))
	if strings.Count(string(auto), forkMark) != 1 || !strings.HasPrefix(string(auto), "work_mem = '64MB'\n") ||
		!strings.Contains(string(auto), "port = '35433'\n") || !strings.Contains(string(auto), "archive_mode = 'off'\n") {
		t.Fatalf("postgresql.auto.conf:\n%s", auto)
	}
	hba, _ := os.ReadFile(filepath.Join(data, "pg_hba.conf"))
	if !strings.HasPrefix(string(hba), trustLocal) || strings.Count(string(hba), trustLocal) != 1 {
		t.Fatalf("pg_hba.conf:\n%s", hba)
	}
	forks := Forks(i, e)
	if len(forks) != 1 || forks[0].ID != 3 || forks[0].Port != 35433 || forks[0].Cluster != "pg-meta-fork3" || forks[0].PID != 0 {
		t.Fatalf("forks %+v", forks)
	}
}

// This host's hold file is the instance's own: another instance's, or no
// file, is no hold here.
func TestLocalHold(t *testing.T) {
	i := testkit.Instance(t, "meta", "pg-meta-1")
	l := layout.New(t.TempDir(), i)
	ctx := context.Background()
	if _, held := HoldOf(ctx, nil, l, "pg-meta-1"); held {
		t.Fatal("held without a hold")
	}
	if err := HoldHere(l, "pg-meta-1", "cloning", "pg_pitr"); err != nil {
		t.Fatal(err)
	}
	h, held := HoldOf(ctx, nil, l, "pg-meta-1")
	if !held || h.Reason != "cloning" || h.Since.IsZero() {
		t.Fatalf("hold %+v %v", h, held)
	}
	if _, held := HoldOf(ctx, nil, l, "pg-meta-2"); held {
		t.Fatal("another instance is held by this host's file")
	}
	hs := holds{l: l, by: "pg_pitr"}
	if err := hs.note("pg-meta-1", "failed at restore"); err != nil {
		t.Fatal(err)
	}
	if h, _ := HoldOf(ctx, nil, l, "pg-meta-1"); h.Reason != "failed at restore" || !h.Since.Equal(h.Since) {
		t.Fatalf("noted %+v", h)
	}
	if err := hs.release(ctx, "pg-meta-1"); err != nil {
		t.Fatal(err)
	}
	if _, held := HoldOf(ctx, nil, l, "pg-meta-1"); held {
		t.Fatal("still held after release")
	}
}

func TestLogMessage(t *testing.T) {
	line := "2026-11-25 20:02:56.226 UTC [9720] LOG:  recovery stopping before commit of transaction 1022, time 2026-11-25 20:14:01.54036+00"
	if m := message(line); m != "LOG:  recovery stopping before commit of transaction 1022, time 2026-11-25 20:14:01.54036+00" {
		t.Fatalf("%q", m)
	}
}
