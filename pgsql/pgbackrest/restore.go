package pgbackrest

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Target is a recovery target in pg_pitr's vocabulary.
type Target struct {
	// Type is latest (the end of the archived WAL, pgBackRest's
	// "default"), immediate (the end of the backup), time, xid, lsn or name.
	Type      string
	Value     string // the time, transaction id, LSN or restore point
	Exclusive bool   // stop just before the target rather than after it
	Timeline  string // "" (pgBackRest's choice), latest, current or a number
	Set       string // backup label to restore; "" lets pgBackRest choose
	Action    string // at the target: pause, promote or shutdown
}

var (
	reLSN      = regexp.MustCompile(`^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$`)
	reXID      = regexp.MustCompile(`^[0-9]{1,20}$`)
	reSetLabel = regexp.MustCompile(`^[0-9]{8}-[0-9]{6}F(_[0-9]{8}-[0-9]{6}[DI])?$`)
	timeLayout = []string{
		time.RFC3339Nano,
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999Z07",
		"2006-01-02 15:04:05.999999999Z0700",
	}
	localLayout = []string{
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04",
		"2006-01-02",
	}
)

// Check validates the target and returns it normalized: a time becomes
// UTC with an explicit offset, which PostgreSQL reads the same whatever
// its TimeZone; a time without a zone is this host's local time.
func (t Target) Check() (Target, error) {
	if t.Type == "" || t.Type == "default" {
		t.Type = "latest"
	}
	switch t.Type {
	case "latest", "immediate":
		if t.Value != "" {
			return t, fmt.Errorf("target %s takes no value (got %q)", t.Type, t.Value)
		}
		if t.Exclusive {
			return t, fmt.Errorf("exclusive applies to a time, xid, lsn or name target, not %s", t.Type)
		}
	case "time":
		at, err := ParseTime(t.Value)
		if err != nil {
			return t, err
		}
		t.Value = FormatTime(at)
	case "xid":
		if !reXID.MatchString(t.Value) {
			return t, fmt.Errorf("xid %q: allowed: a transaction id, digits only", t.Value)
		}
	case "lsn":
		if !reLSN.MatchString(t.Value) {
			return t, fmt.Errorf("lsn %q: allowed: an LSN like 0/4001C80", t.Value)
		}
		t.Value = strings.ToUpper(t.Value)
	case "name":
		if t.Value == "" || len(t.Value) > 63 || strings.ContainsAny(t.Value, "'\"\n\\") {
			return t, fmt.Errorf("restore point %q: allowed: a name of pg_create_restore_point, at most 63 characters, no quotes", t.Value)
		}
	default:
		return t, fmt.Errorf("target type %q: allowed: latest, immediate, time, xid, lsn, name", t.Type)
	}
	switch t.Action {
	case "":
		t.Action = "promote"
	case "pause", "promote", "shutdown":
	default:
		return t, fmt.Errorf("action %q: allowed: pause, promote, shutdown", t.Action)
	}
	switch {
	case t.Timeline == "", t.Timeline == "latest", t.Timeline == "current":
	default:
		if n, err := strconv.Atoi(t.Timeline); err != nil || n < 1 {
			return t, fmt.Errorf("timeline %q: allowed: latest, current or a timeline number", t.Timeline)
		}
	}
	if t.Set != "" && t.Set != "latest" && !reSetLabel.MatchString(t.Set) {
		return t, fmt.Errorf("backup set %q: allowed: a label of `pigsty backup ls`, like 20250713-010000F", t.Set)
	}
	if t.Set == "latest" {
		t.Set = ""
	}
	return t, nil
}

// ParseTime reads a recovery target time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayout {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	for _, l := range localLayout {
		if t, err := time.ParseInLocation(l, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: allowed: a timestamp like '2025-07-13 10:00:00+00' or RFC 3339", s)
}

// FormatTime writes a time as recovery_target_time takes it.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999") + "+00" }

// Pinned reports whether the target stops recovery before the end of
// the WAL, so that the target action applies.
func (t Target) Pinned() bool { return t.Type != "latest" }

// String says the target in words, for plans and logs.
func (t Target) String() string {
	var b strings.Builder
	switch t.Type {
	case "latest":
		b.WriteString("the end of the archived WAL")
	case "immediate":
		b.WriteString("the end of the backup (the first consistent point)")
	default:
		before := "up to and including"
		if t.Exclusive {
			before = "just before"
		}
		fmt.Fprintf(&b, "%s %s %s", before, t.Type, t.Value)
	}
	if t.Timeline != "" {
		fmt.Fprintf(&b, ", timeline %s", t.Timeline)
	}
	return b.String()
}

// Restore is one `pgbackrest restore`.
type Restore struct {
	Target    Target
	PgPath    string   // the data directory restored into
	DBInclude []string // restore only these databases
	DBExclude []string
	LinkMap   map[string]string // symlink → new destination (pg_wal, tablespaces)
	Process   int               // process-max; 0 keeps the configuration's
	// LockPath and SpoolPath keep a restore that runs beside the
	// production instance (a fork) out of the production's locks and
	// archive-get queue; they end up in the restore_command.
	LockPath, SpoolPath string
	// Repo overrides repository options of the configuration
	// (pg_pitr.repo), as RepoOptions renders them.
	Repo []string
}

// Args are restore's arguments after --config and --stanza. The data
// directory is always restored with --delta: only files that differ are
// copied, and files the backup does not have are removed.
func (r Restore) Args() []string {
	args := []string{"--pg1-path=" + r.PgPath, "--delta"}
	t := r.Target
	switch t.Type {
	case "latest":
		args = append(args, "--type=default")
	case "immediate":
		args = append(args, "--type=immediate", "--target-action="+t.Action)
	default:
		args = append(args, "--type="+t.Type, "--target="+t.Value, "--target-action="+t.Action)
		if t.Exclusive {
			args = append(args, "--target-exclusive")
		}
	}
	if t.Timeline != "" {
		args = append(args, "--target-timeline="+t.Timeline)
	}
	if t.Set != "" {
		args = append(args, "--set="+t.Set)
	}
	for _, db := range r.DBInclude {
		args = append(args, "--db-include="+db)
	}
	for _, db := range r.DBExclude {
		args = append(args, "--db-exclude="+db)
	}
	links := make([]string, 0, len(r.LinkMap))
	for k := range r.LinkMap {
		links = append(links, k)
	}
	sort.Strings(links)
	for _, k := range links {
		args = append(args, "--link-map="+k+"="+r.LinkMap[k])
	}
	if r.Process > 0 {
		args = append(args, "--process-max="+strconv.Itoa(r.Process))
	}
	if r.LockPath != "" {
		args = append(args, "--lock-path="+r.LockPath)
	}
	if r.SpoolPath != "" {
		args = append(args, "--spool-path="+r.SpoolPath)
	}
	for _, o := range r.Repo {
		args = append(args, "--"+o)
	}
	return append(args, "--log-level-console=detail", "restore")
}

// StripRecovery removes from postgresql.auto.conf what a restore wrote
// there — its comment, restore_command and the recovery_target settings —
// so that the instance no longer recovers when Patroni starts it.
func StripRecovery(auto []byte) []byte {
	var out []string
	for _, line := range strings.SplitAfter(string(auto), "\n") {
		key := strings.TrimSpace(strings.SplitN(line, "=", 2)[0])
		if strings.HasPrefix(line, "# Recovery settings generated by pgBackRest") ||
			key == "restore_command" || strings.HasPrefix(key, "recovery_target") {
			continue
		}
		out = append(out, line)
	}
	return []byte(strings.Join(out, ""))
}
