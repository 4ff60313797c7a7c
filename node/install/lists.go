package install

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// listsMaxAge bounds how old package lists may be before pigsty refreshes
// them. Older lists point at superseded versions whose files the mirrors
// have already removed, so installs would fail on download.
const listsMaxAge = 24 * time.Hour

// aptPeriodicStamp is touched by apt's own daily job on hosts that run it.
const aptPeriodicStamp = "/var/lib/apt/periodic/update-success-stamp"

// listsStale decides whether `apt-get update` must run before preflight:
// when some configured source has no package list at all, or when neither
// pigsty nor apt's daily job refreshed the lists within listsMaxAge. The
// mtimes of the list files are no guide: apt sets them to the mirror's
// Last-Modified time. It returns the reason, "" when the lists are fine.
func listsStale(targets []indexTarget, refreshed time.Time, now time.Time, exists func(prefix string) bool) string {
	checked := map[string]bool{}
	for _, t := range targets {
		if t.Identifier != "Packages" {
			continue
		}
		source := t.Site + " " + t.Release
		if checked[source] {
			continue
		}
		if exists(t.Filename) {
			checked[source] = true
		}
	}
	for _, t := range targets {
		if t.Identifier == "Packages" && !checked[t.Site+" "+t.Release] {
			return fmt.Sprintf("no package list yet for %s %s", t.Site, t.Release)
		}
	}
	if refreshed.IsZero() {
		return "package lists were never refreshed by pigsty"
	}
	if age := now.Sub(refreshed); age > listsMaxAge {
		return fmt.Sprintf("package lists are %s old", age.Round(time.Hour))
	}
	return ""
}

// listFileExists reports whether a list file exists under any compression
// suffix (apt keeps them compressed on some hosts).
func listFileExists(prefix string) bool {
	m, _ := filepath.Glob(prefix + "*")
	for _, f := range m {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// lastRefresh is the newest of the given stamp files' mtimes.
func lastRefresh(stamps ...string) time.Time {
	var t time.Time
	for _, s := range stamps {
		if st, err := os.Stat(s); err == nil && st.ModTime().After(t) {
			t = st.ModTime()
		}
	}
	return t
}

// refreshLists runs `apt-get update` when listsStale says so and records
// the refresh in stamp. A failed refresh is fatal only when some source has
// no list at all; otherwise the existing lists are used and the caller is
// told why.
func refreshLists(ctx context.Context, which string, a apt, stamp string, extraStamps []string, force bool, progress func(string, ...any)) error {
	targets, err := a.Targets(ctx)
	if err != nil {
		return err
	}
	reason := listsStale(targets, lastRefresh(append([]string{stamp}, extraStamps...)...), time.Now(), listFileExists)
	if force && reason == "" {
		reason = "a source was added"
	}
	if reason == "" {
		return nil
	}
	progress("refreshing %s package lists: %s", which, reason)
	if err := a.Update(ctx); err != nil {
		if missing := listsStale(targets, time.Now(), time.Now(), listFileExists); missing != "" {
			return fmt.Errorf("refreshing %s package lists: %w", which, err)
		}
		progress("refreshing %s package lists failed, using the existing ones: %v", which, err)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(stamp), 0o755); err != nil {
		return err
	}
	return os.WriteFile(stamp, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}
