package recovery

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"

	"pigsty/node/supervisor"
)

// CopyRequest is a copy of a data directory made by the dbsu (so that
// what it creates is the dbsu's): plain, or hot — of a running instance,
// between pg_backup_start and pg_backup_stop, as Pigsty's pg-fork does.
type CopyRequest struct {
	Src, Dst string
	Hot      bool
	Socket   string // the running instance's socket directory, port and dbsu role (hot)
	Port     int
	User     string
	Label    string // the backup label and temporary slot name (hot)
}

// copyEvent is one line the copying child writes.
type copyEvent struct {
	Say   string `json:"say,omitempty"`
	Final bool   `json:"final,omitempty"`
	Error string `json:"error,omitempty"`
}

// copyAs runs the copy in `pigsty run copy` (exe) as the dbsu and says
// its progress.
func copyAs(ctx context.Context, exe string, cred *syscall.Credential, home string, req CopyRequest, say func(string)) error {
	in, err := json.Marshal(req)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, exe, "run", "copy")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "LANG=C.UTF-8"}
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(string(in))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := supervisor.StartCommand(cmd); err != nil {
		return fmt.Errorf("start the copy as the dbsu: %w", err)
	}
	var failed error
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var ev copyEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch {
		case ev.Final && ev.Error != "":
			failed = errors.New(ev.Error)
		case ev.Say != "":
			say(ev.Say)
		}
	}
	werr := supervisor.WaitCommand(cmd)
	if failed != nil {
		return failed
	}
	if werr != nil {
		return fmt.Errorf("copy %s: %w: %s", req.Src, werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// CopyMain is the child, `pigsty run copy`, running as the dbsu: a JSON
// CopyRequest on stdin, JSON lines on stdout.
func CopyMain(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	enc := json.NewEncoder(stdout)
	var req CopyRequest
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		return fmt.Errorf("read request: %w", err)
	}
	say := func(format string, args ...any) { enc.Encode(copyEvent{Say: fmt.Sprintf(format, args...)}) }
	var err error
	if req.Hot {
		err = hotCopy(ctx, req, say)
	} else {
		var n copied
		if err = copyTree(req.Src, req.Dst, nil, &n); err == nil {
			say("copied %s: %s", req.Src, n)
		}
	}
	final := copyEvent{Final: true}
	if err != nil {
		final.Error = err.Error()
	}
	return enc.Encode(final)
}

// hotCopy copies a running instance: a temporary replication slot keeps
// the WAL from the start on, pg_backup_start marks where recovery must
// begin, the files are copied (copy-on-write where the filesystem can),
// pg_backup_stop ends the backup, and the WAL is copied last, so the copy
// holds every record up to the backup's end. The backup label goes into
// the copy: started, it recovers to a consistent state by itself.
func hotCopy(ctx context.Context, req CopyRequest, say func(string, ...any)) error {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return err
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Database = req.Socket, uint16(req.Port), req.User, "postgres"
	cfg.RuntimeParams["application_name"] = "pigsty fork"
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", req.Src, err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	var version int
	if err := c.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return err
	}
	if _, err := c.Exec(ctx, "SELECT pg_create_physical_replication_slot($1, true, true)", req.Label); err != nil {
		return fmt.Errorf("reserve WAL: %w", err)
	}
	var start string
	startSQL, stopSQL := "SELECT pg_backup_start($1, true)::text", "SELECT labelfile, spcmapfile FROM pg_backup_stop(false)"
	if version < 150000 {
		startSQL, stopSQL = "SELECT pg_start_backup($1, true, false)::text", "SELECT labelfile, spcmapfile FROM pg_stop_backup(false, false)"
	}
	if err := c.QueryRow(ctx, startSQL, req.Label).Scan(&start); err != nil {
		return fmt.Errorf("backup start: %w", err)
	}
	say("backup started at %s", start)
	// A copy must not share the production's WAL or tablespaces through
	// their links.
	if entries, _ := os.ReadDir(filepath.Join(req.Src, "pg_tblspc")); len(entries) > 0 {
		return fmt.Errorf("%s has tablespaces: a fork would share them", req.Src)
	}
	wal, err := filepath.EvalSymlinks(filepath.Join(req.Src, "pg_wal"))
	if err != nil {
		return err
	}
	began := time.Now()
	var n copied
	if err := copyTree(req.Src, req.Dst, leftOut, &n); err != nil {
		return err
	}
	say("copied %s in %s", n, time.Since(began).Round(time.Millisecond))
	var label, spcmap string
	if err := c.QueryRow(ctx, stopSQL).Scan(&label, &spcmap); err != nil {
		return fmt.Errorf("backup stop: %w", err)
	}
	var walCopied copied
	if err := copyTree(wal, filepath.Join(req.Dst, "pg_wal"), func(rel string) bool {
		return strings.HasPrefix(rel, "archive_status/")
	}, &walCopied); err != nil {
		return err
	}
	say("copied the WAL to the backup's end: %s", walCopied)
	if err := os.WriteFile(filepath.Join(req.Dst, "backup_label"), []byte(label), 0o600); err != nil {
		return err
	}
	if spcmap != "" {
		return os.WriteFile(filepath.Join(req.Dst, "tablespace_map"), []byte(spcmap), 0o600)
	}
	return nil
}

// leftOut is what a base backup leaves out of a data directory: the pid
// file, the WAL (copied after the backup's end), a label of its own,
// replication slots, temporary files. The top directories that hold them
// are kept empty, as PostgreSQL needs them.
func leftOut(rel string) bool {
	switch rel {
	case "pg_wal", "postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map", "backup_label.old":
		return true
	}
	for _, dir := range []string{"pg_wal/", "pg_replslot/", "pg_dynshmem/", "pg_notify/", "pg_serial/", "pg_snapshots/", "pg_stat_tmp/", "pg_subtrans/"} {
		if strings.HasPrefix(rel, dir) {
			return true
		}
	}
	return strings.Contains(rel, "pgsql_tmp")
}

// copied counts what copyTree did.
type copied struct {
	files, cloned int
	bytes         int64
}

func (n copied) String() string {
	return fmt.Sprintf("%d files, %s (%d copy-on-write)", n.files, bytesHuman(n.bytes), n.cloned)
}

// copyTree copies src to dst, which it creates; skip (by path relative
// to src) leaves files and directories out. Files that vanish while the
// tree is copied — a running server's temporary files — are not an error.
func copyTree(src, dst string, skip func(rel string) bool, n *copied) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path != src {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return nil
			}
			if rel != "." && skip != nil && skip(rel) {
				return fs.SkipDir
			}
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			return nil
		}
		if skip != nil && skip(rel) {
			return nil
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return nil
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			size, cloned, err := copyFile(path, target)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			n.files++
			n.bytes += size
			if cloned {
				n.cloned++
			}
		}
		return nil
	})
}

// copyFile clones a file where the filesystem shares extents (FICLONE:
// btrfs, XFS with reflink), else copies it.
func copyFile(src, dst string) (int64, bool, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, false, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return 0, false, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return 0, false, err
	}
	if unix.IoctlFileClone(int(out.Fd()), int(in.Fd())) == nil {
		return st.Size(), true, out.Close()
	}
	size, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return size, false, err
}
