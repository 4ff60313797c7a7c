package agent

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a rendered file the agent keeps on disk.
type File struct {
	Path string
	Data []byte
	Mode fs.FileMode
	UID  int
	GID  int
}

// write puts f in place when its content, mode or owner differ, through a
// temporary file and a rename so that a reader never sees half a file.
// It reports whether anything changed.
func write(f File) (bool, error) {
	cur, err := os.ReadFile(f.Path)
	if err == nil && bytes.Equal(cur, f.Data) {
		return fixAttrs(f)
	}
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
		return false, fmt.Errorf("write %s: %w", f.Path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), "."+filepath.Base(f.Path)+".*")
	if err != nil {
		return false, fmt.Errorf("write %s: %w", f.Path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(f.Data)
	if err == nil {
		err = tmp.Chmod(f.Mode)
	}
	if err == nil {
		err = tmp.Chown(f.UID, f.GID)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.Path)
	}
	if err != nil {
		return false, fmt.Errorf("write %s: %w", f.Path, err)
	}
	return true, nil
}

func fixAttrs(f File) (bool, error) {
	st, err := os.Stat(f.Path)
	if err != nil {
		return false, err
	}
	changed := false
	if st.Mode().Perm() != f.Mode {
		if err := os.Chmod(f.Path, f.Mode); err != nil {
			return false, err
		}
		changed = true
	}
	if uid, gid, ok := owner(st); ok && (uid != f.UID || gid != f.GID) {
		if err := os.Chown(f.Path, f.UID, f.GID); err != nil {
			return false, err
		}
		changed = true
	}
	return changed, nil
}
