package backup

import (
	"fmt"
	"path"
	"strings"
	"time"

	"pigsty/node/cron"
	"pigsty/pgsql/inventory"
)

// Entry is a backup entry of node_crontab or pg_crontab: Pigsty's
// `/pg/bin/pg-backup [full|diff|incr]` at a cron time.
type Entry struct {
	Spec   cron.Spec `json:"-"`
	Type   string    `json:"type"`   // full, diff or incr
	Line   string    `json:"line"`   // the entry as written
	Origin string    `json:"origin"` // pg_crontab[0], node_crontab[2]
}

// Ignored is an entry the agent does not run, and why.
type Ignored struct {
	Line   string `json:"line"`
	Origin string `json:"origin"`
	Reason string `json:"reason"`
}

// Schedule reads the backup entries of node_crontab and pg_crontab. The
// agent runs pg-backup itself, as pigsty has no /pg/bin scripts and the
// host no cron daemon; any other command is reported as ignored: it
// belongs in the host's own crontab. The user field of a node_crontab
// entry is not used: backups always run as the dbsu, as pg-backup does.
func Schedule(p *inventory.Params) ([]Entry, []Ignored) {
	var entries []Entry
	var ignored []Ignored
	read := func(param string, lines []string, withUser bool) {
		for n, line := range lines {
			origin := fmt.Sprintf("%s[%d]", param, n)
			fields := strings.Fields(line)
			spec, used, err := cron.Parse(fields)
			if err != nil {
				ignored = append(ignored, Ignored{line, origin, err.Error()})
				continue
			}
			cmd := fields[used:]
			if withUser && len(cmd) > 0 {
				cmd = cmd[1:]
			}
			typ, err := pgBackup(cmd)
			if err != nil {
				ignored = append(ignored, Ignored{line, origin, err.Error()})
				continue
			}
			entries = append(entries, Entry{Spec: spec, Type: typ, Line: line, Origin: origin})
		}
	}
	read("node_crontab", p.NodeCrontab, true)
	read("pg_crontab", p.PgCrontab, false)
	return entries, ignored
}

// pgBackup reads `pg-backup [full|diff|incr]` (any directory, as Pigsty's
// /pg/bin/pg-backup): no type is an incremental backup, which pgBackRest
// makes full when no full backup exists.
func pgBackup(cmd []string) (string, error) {
	if len(cmd) == 0 {
		return "", fmt.Errorf("no command")
	}
	if path.Base(cmd[0]) != "pg-backup" {
		return "", fmt.Errorf("not a backup entry: pigsty runs pg-backup entries only; put other commands in the host's crontab")
	}
	switch len(cmd) {
	case 1:
		return "incr", nil
	case 2:
		if t := cmd[1]; t == "full" || t == "diff" || t == "incr" {
			return t, nil
		}
	}
	return "", fmt.Errorf("pg-backup %s: allowed: pg-backup [full|diff|incr]", strings.Join(cmd[1:], " "))
}

// Due are the entries that fire at minute m. When several fire at once,
// one backup of the strongest type is enough: a full backup includes
// what a diff or incr would add.
func Due(entries []Entry, m time.Time) (Entry, bool) {
	rank := map[string]int{"incr": 1, "diff": 2, "full": 3}
	var due Entry
	found := false
	for _, e := range entries {
		if e.Spec.Matches(m) && (!found || rank[e.Type] > rank[due.Type]) {
			due, found = e, true
		}
	}
	return due, found
}
