package pgbackrest

import (
	"regexp"
	"strconv"
	"strings"
)

// Event is what one console line of a backup or restore run at
// log-level-console=detail tells.
type Event struct {
	// Percent is how far the copy is, as pgBackRest reports it with every
	// file it backs up or restores (0 when the line has no percentage).
	Percent float64
	File    string // the file just copied
	Label   string // "new backup label = …"
	Size    string // "full backup size = 32.9MB", "restore size = …"
	Error   string // an ERROR line, with its code
	Info    string // any other INFO line, without the prefix
}

var (
	reFile  = regexp.MustCompile(`(?:backup|restore) file (\S+) \(([^,]+), ([0-9.]+)%\)`)
	reLabel = regexp.MustCompile(`new backup label = (\S+)`)
	reSize  = regexp.MustCompile(`((?:full|diff|incr) backup size|restore size) = ([^,]+)`)
	reLevel = regexp.MustCompile(`^\S+ \S+ P\d+ +(INFO|DETAIL|WARN|ERROR): (.*)$`)
)

// ParseLine reads one console line; ok is false for lines that say
// nothing pigsty shows (DEBUG, the "command begin" echo of every option).
func ParseLine(line string) (Event, bool) {
	line = strings.TrimSpace(line)
	m := reLevel.FindStringSubmatch(line)
	if m == nil {
		// An ERROR reaches the console without the timestamp prefix when
		// it happens before logging starts (a bad option).
		if strings.HasPrefix(line, "ERROR: ") {
			return Event{Error: strings.TrimPrefix(line, "ERROR: ")}, true
		}
		return Event{}, false
	}
	level, msg := m[1], m[2]
	switch {
	case level == "ERROR":
		return Event{Error: msg}, true
	case reFile.MatchString(msg):
		f := reFile.FindStringSubmatch(msg)
		pct, _ := strconv.ParseFloat(f[3], 64)
		return Event{Percent: pct, File: f[1]}, true
	case reLabel.MatchString(msg):
		return Event{Label: reLabel.FindStringSubmatch(msg)[1]}, true
	case reSize.MatchString(msg):
		s := reSize.FindStringSubmatch(msg)
		return Event{Size: s[1] + " = " + strings.TrimSpace(s[2])}, true
	case level == "WARN":
		return Event{Info: "warning: " + msg}, true
	case level == "INFO" && !strings.Contains(msg, "command begin"):
		return Event{Info: msg}, true
	}
	return Event{}, false
}
