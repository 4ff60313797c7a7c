package recovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"pigsty/pgsql/layout"
	"pigsty/pgsql/pitr"
)

// Record is what the last recovery run on this host did, kept in
// /pg/conf/pitr.conf (where Pigsty's PITR role writes its task): it
// tells `pigsty pitr --resume` what to continue, and the agent which
// pg_pitr it has run.
type Record struct {
	Request     pitr.Request `json:"request"`
	Fingerprint string       `json:"fingerprint"`
	Kind        string       `json:"kind"`
	Status      string       `json:"status"`
	Step        string       `json:"step,omitempty"` // the step running, failed or stopped at
	Error       string       `json:"error,omitempty"`
	By          string       `json:"by"`
	// Config is the cluster's dynamic configuration before the recovery
	// paused it, put back when it resumes.
	Config  map[string]any `json:"config,omitempty"`
	Started time.Time      `json:"started"`
	Updated time.Time      `json:"updated"`
}

// Record statuses.
const (
	StatusRunning = "running"
	StatusPaused  = "paused" // stopped at the target until --resume
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// RecordPath is /pg/conf/pitr.conf.
func RecordPath(l layout.Layout) string { return filepath.Join(l.Conf(), "pitr.conf") }

// ReadRecord reads the record; ok is false when there is none.
func ReadRecord(l layout.Layout) (Record, bool, error) {
	b, err := os.ReadFile(RecordPath(l))
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, false, fmt.Errorf("%s: %w", RecordPath(l), err)
	}
	return r, true, nil
}

func (f *flow) record(r Record) error {
	r.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(RecordPath(f.e.Layout), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("record the recovery: %w", err)
	}
	return nil
}

// Failed records a request that could not even be planned, so that the
// agent does not try the same pg_pitr again; a hold on the instance now
// says why it stays held.
func Failed(l layout.Layout, req pitr.Request, by string, err error) error {
	f := &flow{e: Env{Layout: l}, holds: holds{l: l, by: by}}
	now := time.Now().UTC()
	if exists(HoldFile(l)) {
		f.holds.note(req.Cluster, fmt.Sprintf("pg_pitr cannot be done: %v", err))
	}
	return f.record(Record{Request: req, Fingerprint: req.Fingerprint(), Status: StatusFailed, Error: err.Error(), By: by, Started: now})
}
