package supervisor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// pidRecord is a pid file's content: the pid on the first line, for people
// and scripts, then what proves the process is still the one started.
type pidRecord struct {
	PID   int      `json:"pid"`
	Boot  string   `json:"boot_id"`     // pids and start times begin again after a reboot
	Start uint64   `json:"start_ticks"` // /proc/<pid>/stat field 22
	Argv  []string `json:"argv"`
	Spec  string   `json:"spec"` // launchHash of the Spec it was started with
}

func writePidFile(path string, r pidRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	data := strconv.Itoa(r.PID) + "\n" + string(b) + "\n"
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	_, err = tmp.WriteString(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	return nil
}

func readPidFile(path string) (pidRecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return pidRecord{}, err
	}
	first, rest, _ := strings.Cut(string(b), "\n")
	var r pidRecord
	if err := json.Unmarshal([]byte(strings.TrimSpace(rest)), &r); err != nil {
		return pidRecord{}, fmt.Errorf("pid file %s: %w", path, err)
	}
	if strings.TrimSpace(first) != strconv.Itoa(r.PID) || r.PID <= 1 {
		return pidRecord{}, fmt.Errorf("pid file %s: first line %q does not match the record", path, first)
	}
	return r, nil
}
