// Package prepare makes a host ready for an instance, as Pigsty's
// pg_install and pg_dir tasks do: the dbsu user and group, the directory
// layout with Pigsty's owners and modes, the /pg symlinks, the dummy file,
// and the distribution's own services out of the way. Every step is
// idempotent.
package prepare

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// DBSU is the database superuser's OS identity.
type DBSU struct {
	Name string
	UID  int
	GID  int
	Home string
}

// Runner runs a command; inside the agent it is the supervisor's, which
// keeps exit statuses away from the zombie reaper.
type Runner func(cmd *exec.Cmd) ([]byte, error)

// EnsureDBSU creates the dbsu and its group when missing. An existing user
// is kept as it is (Debian's postgresql-common creates postgres before
// pigsty runs), so its uid may differ from pg_dbsu_uid.
func EnsureDBSU(ctx context.Context, p *inventory.Params, run Runner) (DBSU, error) {
	if u, err := user.Lookup(p.PgDbsu); err == nil {
		return toDBSU(u)
	}
	uid := p.PgDbsuUID
	// uid 26 is often taken on Debian: Pigsty uses 543 there.
	if uid == 26 && isDebian() {
		uid = 543
	}
	group := "postgres"
	if _, err := user.LookupGroup(group); err != nil {
		if _, err := run(exec.CommandContext(ctx, "/usr/sbin/groupadd", "-g", strconv.Itoa(uid), group)); err != nil {
			return DBSU{}, fmt.Errorf("create group %s: %w", group, err)
		}
	}
	home := p.PgDbsuHome
	if out, err := run(exec.CommandContext(ctx, "/usr/sbin/useradd", "-u", strconv.Itoa(uid), "-g", group,
		"-d", home, "-m", "-s", "/bin/bash", "-c", "PostgreSQL Server", p.PgDbsu)); err != nil {
		return DBSU{}, fmt.Errorf("create user %s: %w: %s", p.PgDbsu, err, strings.TrimSpace(string(out)))
	}
	u, err := user.Lookup(p.PgDbsu)
	if err != nil {
		return DBSU{}, fmt.Errorf("look up %s: %w", p.PgDbsu, err)
	}
	return toDBSU(u)
}

func toDBSU(u *user.User) (DBSU, error) {
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return DBSU{}, fmt.Errorf("user %s: %w", u.Username, err)
	}
	return DBSU{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir}, nil
}

func isDebian() bool {
	_, err := os.Stat("/etc/debian_version")
	return err == nil
}

// dir is one directory of the layout.
type dir struct {
	path string
	mode fs.FileMode
	dbsu bool // owned by the dbsu, else root
}

// Layout creates the directories and links of the instance's layout. It
// never deletes or truncates anything: existing directories only get
// their owner and mode set.
func Layout(l layout.Layout, p *inventory.Params, u DBSU, log *slog.Logger) error {
	dirs := []dir{
		{l.Path(p.PgFsMain), 0o700, true},
		{l.Path(p.PgFsBackup), 0o700, true},
		{l.ClusterDir(), 0o700, true},
		{filepath.Join(l.BackupDir(), "backup"), 0o700, true},
	}
	for _, d := range dirs {
		if err := ensureDir(d, u); err != nil {
			return err
		}
	}
	// The dbsu must be able to pass through the parents of its data (the
	// node's /data, which another component may have created 0700).
	for _, d := range []string{filepath.Dir(l.Path(p.PgFsMain)), filepath.Dir(l.Path(p.PgFsBackup))} {
		if err := traversable(d); err != nil {
			return err
		}
	}
	if err := ensureLink(l.ClusterDir(), l.PG()); err != nil {
		return err
	}
	if err := ensureLink(filepath.Join(l.BackupDir(), "backup"), l.Backup()); err != nil {
		return err
	}
	dirs = []dir{
		{l.Data(), 0o700, true},
		{l.Bin(), 0o755, false},
		{l.Conf(), 0o700, true},
		{l.Tmp(), 0o700, true},
		{l.Cert(), 0o700, true},
		{l.Spool(), 0o700, true},
		{l.Log(), 0o750, true},
		{l.PostgresLog(), 0o750, true},
		{l.PatroniLog(), 0o750, true},
		{l.PgbouncerLog(), 0o750, true},
		{l.PgbackrestLog(), 0o750, true},
		{l.Socket(), 0o755, true},
		{filepath.Dir(l.PatroniLink()), 0o700, true},
		{l.Pgbouncer(), 0o750, true},
		{l.Pgbackrest(), 0o750, true},
		{l.HAProxy(), 0o755, false},
		{filepath.Join(l.HAProxy(), "conf.d"), 0o755, false},
		{l.Run(), 0o755, false},
	}
	for _, d := range dirs {
		if err := ensureDir(d, u); err != nil {
			return err
		}
	}
	if err := ensureLink(l.PatroniConfig(), l.PatroniLink()); err != nil {
		return err
	}
	return ensureDummy(l.Dummy(), int64(p.PgDummyFilesize), u, log)
}

func ensureDir(d dir, u DBSU) error {
	// Parents (/data, /var/lib) must stay traversable for the dbsu, so
	// they are made 0755 rather than with the directory's own mode.
	if err := os.MkdirAll(filepath.Dir(d.path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(d.path), err)
	}
	if err := os.MkdirAll(d.path, d.mode); err != nil {
		return fmt.Errorf("create %s: %w", d.path, err)
	}
	uid, gid := 0, 0
	if d.dbsu {
		uid, gid = u.UID, u.GID
	}
	if err := os.Chown(d.path, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", d.path, err)
	}
	if err := os.Chmod(d.path, d.mode); err != nil {
		return fmt.Errorf("chmod %s: %w", d.path, err)
	}
	return nil
}

// traversable lets everyone pass through a directory (o+x, g+x), leaving
// its other permissions alone.
func traversable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if mode := st.Mode().Perm(); mode&0o011 != 0o011 {
		if err := os.Chmod(path, mode|0o011); err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
	}
	return nil
}

// ensureLink points link at target, replacing a wrong symlink but never a
// real file or directory.
func ensureLink(target, link string) error {
	if cur, err := os.Readlink(link); err == nil {
		if cur == target {
			return nil
		}
		if err := os.Remove(link); err != nil {
			return fmt.Errorf("re-point %s: %w", link, err)
		}
	} else if _, statErr := os.Lstat(link); statErr == nil {
		return fmt.Errorf("%s exists and is not a symlink: move it away (pigsty links it to %s)", link, target)
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(link), err)
	}
	if err := os.Symlink(target, link); err != nil {
		return fmt.Errorf("link %s → %s: %w", link, target, err)
	}
	return nil
}

// ensureDummy reserves pg_dummy_filesize on the data disk: deleting
// /pg/dummy frees room when the disk is full.
func ensureDummy(path string, size int64, u DBSU, log *slog.Logger) error {
	if size <= 0 {
		return nil
	}
	if st, err := os.Stat(path); err == nil && st.Size() == size {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer f.Close()
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		// Some filesystems cannot preallocate; a sparse file would reserve
		// nothing, so say so rather than pretend.
		log.Warn("cannot preallocate the dummy file", "path", path, "err", err)
		return nil
	}
	return os.Chown(path, u.UID, u.GID)
}
