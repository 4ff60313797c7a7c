package facts

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// disk measures the filesystem that will hold fsMain. Pigsty tries
// pg_fs_main, then /data, then assumes 40 GiB; before the first deploy
// neither may exist yet, so we measure the nearest existing parent, which
// is where the directory will be created. It returns the directory
// measured and its size, or 0 when nothing could be measured (the tuner
// then assumes 40 GiB, as Pigsty does).
func (h host) disk(fsMain string) (string, int64) {
	dir := filepath.Clean("/" + fsMain)
	for {
		if st, err := os.Stat(h.path(dir)); err == nil && st.IsDir() {
			if size, err := h.statfs(h.path(dir)); err == nil && size > 0 {
				return dir, size
			}
			return dir, 0
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", 0
		}
		dir = parent
	}
}

// statfsSize is the filesystem's total size, as df reports it.
func statfsSize(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	unit := st.Frsize
	if unit == 0 {
		unit = st.Bsize
	}
	return int64(st.Blocks) * int64(unit), nil
}
