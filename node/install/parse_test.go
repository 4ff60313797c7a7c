package install

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParsePolicy(t *testing.T) {
	pol := parsePolicy(fixture(t, "policy-bookworm.txt"))
	for name, want := range map[string]candidate{
		"postgresql-15": {Installed: "15.18-0+deb12u1", Candidate: "15.20-0+deb12u1"},
		"patroni":       {Candidate: "3.0.2-1"},
		"python3-yaml":  {Installed: "6.0-3+b2", Candidate: "6.0-3+b2"},
	} {
		if pol[name] != want {
			t.Errorf("%s: %+v, want %+v", name, pol[name], want)
		}
	}
	if _, ok := pol["postgresql-15-pgvector"]; ok {
		t.Error("pgvector should be unknown")
	}
	virtual := parsePolicy("mail-transport-agent:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n")
	if c, ok := virtual["mail-transport-agent"]; !ok || c != (candidate{}) {
		t.Errorf("virtual: %+v %v", c, ok)
	}
}

func TestParseSimulation(t *testing.T) {
	cs := parseSimulation(fixture(t, "simulate-bookworm.txt"))
	if len(cs) != 11 {
		t.Fatalf("%d changes: %+v", len(cs), cs)
	}
	if !slices.Contains(cs, change{Name: "libpq5", Old: "15.18-0+deb12u1", New: "15.20-0+deb12u1"}) ||
		!slices.Contains(cs, change{Name: "pgbouncer", New: "1.18.0-1+deb12u1"}) {
		t.Errorf("%+v", cs)
	}
}

func TestListsStale(t *testing.T) {
	ts := parseTargets(fixture(t, "indextargets-bookworm.txt"))
	if len(ts) != 12 {
		t.Fatalf("%d targets", len(ts))
	}
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	// Debian publishes no separate binary-all list for bookworm; one list
	// per source is enough.
	amd64Only := func(p string) bool { return strings.HasSuffix(p, "amd64_Packages") }
	if r := listsStale(ts, now.Add(-time.Hour), now, amd64Only); r != "" {
		t.Errorf("fresh lists: %q", r)
	}
	if r := listsStale(ts, time.Time{}, now, amd64Only); r != "package lists were never refreshed by pigsty" {
		t.Errorf("never refreshed: %q", r)
	}
	if r := listsStale(ts, now.Add(-50*time.Hour), now, amd64Only); r != "package lists are 50h0m0s old" {
		t.Errorf("old: %q", r)
	}
	none := func(string) bool { return false }
	if r := listsStale(ts, now, now, none); r != "no package list yet for http://deb.debian.org/debian bookworm" {
		t.Errorf("missing: %q", r)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"3.0.2-1", MinPatroni, -1},
		{"4.0.7-3~deb13u1", MinPatroni, 1},
		{"3.0.3", "3.0.3-0", 0},
		{"3.0.3~rc1", "3.0.3", -1},
		{"1:1.0", "2.0", 1},
		{"15.20-0+deb12u1", "15.18-0+deb12u1", 1},
		{"1.0a", "1.0", 1},
		{"4.0.6-1.pgdg120+1", "4.0.6-1", 1},
	} {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := compareVersions(tc.b, tc.a); got != -tc.want {
			t.Errorf("compare(%s, %s) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
	if upstreamVersion("1:4.0.7-3~deb13u1") != "4.0.7" {
		t.Error(upstreamVersion("1:4.0.7-3~deb13u1"))
	}
}
