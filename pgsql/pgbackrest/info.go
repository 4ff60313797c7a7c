package pgbackrest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Stanza is one stanza of `pgbackrest info --output=json`.
type Stanza struct {
	Name    string   `json:"name"`
	Status  Status   `json:"status"`
	Backups []Backup `json:"backup"`
	Archive []struct {
		ID  string `json:"id"` // <pg version>-<db history id>
		Min string `json:"min"`
		Max string `json:"max"`
	} `json:"archive"`
	DB []struct {
		ID       int    `json:"id"`
		SystemID uint64 `json:"system-id"`
		Version  string `json:"version"`
	} `json:"db"`
}

// Status is a stanza's health: code 0 is ok, 1 "missing stanza path",
// 2 "no valid backups", 3 "missing stanza data", 99 another error.
type Status struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Lock    struct {
		Backup struct {
			Held bool `json:"held"`
		} `json:"backup"`
	} `json:"lock"`
}

// Status codes of a stanza that pigsty acts on.
const (
	StatusOK          = 0
	StatusMissingPath = 1
	StatusNoBackup    = 2
	StatusMissingData = 3
)

// Backup is one backup set.
type Backup struct {
	Label      string            `json:"label"`
	Type       string            `json:"type"` // full, diff, incr
	Prior      string            `json:"prior"`
	Error      bool              `json:"error"`
	Annotation map[string]string `json:"annotation"`
	Archive    struct {
		Start string `json:"start"`
		Stop  string `json:"stop"`
	} `json:"archive"`
	LSN struct {
		Start string `json:"start"`
		Stop  string `json:"stop"`
	} `json:"lsn"`
	Info struct {
		Size       int64 `json:"size"`  // database size
		Delta      int64 `json:"delta"` // what this backup copied
		Repository struct {
			Size  int64 `json:"size"`
			Delta int64 `json:"delta"`
		} `json:"repository"`
	} `json:"info"`
	Timestamp struct {
		Start int64 `json:"start"`
		Stop  int64 `json:"stop"`
	} `json:"timestamp"`
}

// Start and Stop are when the backup began and ended.
func (b Backup) Start() time.Time { return time.Unix(b.Timestamp.Start, 0) }
func (b Backup) Stop() time.Time  { return time.Unix(b.Timestamp.Stop, 0) }

// ParseInfo reads `pgbackrest info --output=json`.
func ParseInfo(out []byte) ([]Stanza, error) {
	var st []Stanza
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("read pgbackrest info: %w", err)
	}
	for i := range st {
		sort.SliceStable(st[i].Backups, func(a, b int) bool { return st[i].Backups[a].Timestamp.Start < st[i].Backups[b].Timestamp.Start })
	}
	return st, nil
}

// Exists reports whether the stanza has been created in the repository.
func (s Stanza) Exists() bool {
	return s.Status.Code != StatusMissingPath && s.Status.Code != StatusMissingData
}

// SystemID is the system identifier of the database the stanza's
// archive and backups currently belong to.
func (s Stanza) SystemID() uint64 {
	if len(s.DB) == 0 {
		return 0
	}
	cur := s.DB[0]
	for _, d := range s.DB {
		if d.ID > cur.ID {
			cur = d
		}
	}
	return cur.SystemID
}

// Window is the span a point-in-time recovery can reach from the
// backups: from the end of the oldest good backup to the newest WAL
// segment in the archive (whose time the repository does not record).
func (s Stanza) Window() (from time.Time, lastWAL string, ok bool) {
	for _, b := range s.Backups {
		if !b.Error {
			from, ok = b.Stop(), true
			break
		}
	}
	for _, a := range s.Archive {
		if a.Max > lastWAL {
			lastWAL = a.Max
		}
	}
	return from, lastWAL, ok
}

// SetFor is the backup pgBackRest restores for a time target: the newest
// good backup that ended before t — in whole seconds, as pgBackRest
// compares them. ok is false when none did, so the time cannot be
// reached.
func (s Stanza) SetFor(t time.Time) (Backup, bool) {
	var found Backup
	ok := false
	for _, b := range s.Backups {
		if !b.Error && b.Stop().Before(t.Truncate(time.Second)) {
			found, ok = b, true
		}
	}
	return found, ok
}

// Latest is the newest good backup.
func (s Stanza) Latest() (Backup, bool) {
	for i := len(s.Backups) - 1; i >= 0; i-- {
		if !s.Backups[i].Error {
			return s.Backups[i], true
		}
	}
	return Backup{}, false
}

// Find is the backup labelled label.
func (s Stanza) Find(label string) (Backup, bool) {
	for _, b := range s.Backups {
		if b.Label == label {
			return b, true
		}
	}
	return Backup{}, false
}

// Annotations formats a backup's annotations as k=v, sorted.
func (b Backup) Annotations() string {
	keys := make([]string, 0, len(b.Annotation))
	for k := range b.Annotation {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+b.Annotation[k])
	}
	return strings.Join(parts, ",")
}
