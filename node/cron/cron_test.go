package cron

import (
	"context"
	"strings"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04 Mon", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		spec string
		yes  []string
		no   []string
	}{
		// Pigsty's daily full backup at 01:00.
		{"00 01 * * *", []string{"2026-11-25 01:00 Wed"}, []string{"2026-11-25 01:01 Wed", "2026-11-25 13:00 Wed"}},
		// Full on Monday, incremental the other days.
		{"00 01 * * 1", []string{"2026-11-23 01:00 Mon"}, []string{"2026-11-24 01:00 Tue"}},
		{"00 01 * * 2,3,4,5,6,7", []string{"2026-11-29 01:00 Sun", "2026-11-24 01:00 Tue"}, []string{"2026-11-23 01:00 Mon"}},
		{"*/15 9-17 * * mon-fri", []string{"2026-11-23 09:45 Mon", "2026-11-27 17:00 Fri"}, []string{"2026-11-23 09:50 Mon", "2026-11-28 10:00 Sat"}},
		{"5/20 * * * *", []string{"2026-11-23 09:05 Mon", "2026-11-23 09:25 Mon", "2026-11-23 09:45 Mon"}, []string{"2026-11-23 09:00 Mon", "2026-11-23 09:15 Mon"}},
		// Both day fields restricted: either matches (the 1st, or any Friday).
		{"0 0 1 * fri", []string{"2026-12-01 00:00 Tue", "2026-11-27 00:00 Fri"}, []string{"2026-11-26 00:00 Thu"}},
		// One restricted, the other a step from *: both must match.
		{"0 0 1 * */1", []string{"2026-12-01 00:00 Tue"}, []string{"2026-11-27 00:00 Fri"}},
		{"0 3 * jan,jul *", []string{"2026-07-04 03:00 Sat"}, []string{"2026-08-04 03:00 Tue"}},
	} {
		s, n, err := Parse(strings.Fields(c.spec + " /pg/bin/pg-backup"))
		if err != nil || n != 5 {
			t.Fatalf("%s: %v (%d fields)", c.spec, err, n)
		}
		for _, y := range c.yes {
			if !s.Matches(at(y)) {
				t.Errorf("%s should fire at %s", c.spec, y)
			}
		}
		for _, no := range c.no {
			if s.Matches(at(no)) {
				t.Errorf("%s should not fire at %s", c.spec, no)
			}
		}
	}
}

func TestMacros(t *testing.T) {
	s, n, err := Parse([]string{"@daily", "pg-backup"})
	if err != nil || n != 1 || !s.Matches(at("2026-11-25 00:00 Wed")) || s.Matches(at("2026-11-25 01:00 Wed")) {
		t.Fatalf("@daily: %v %d", err, n)
	}
	if _, _, err := Parse([]string{"@reboot", "pg-backup"}); err == nil {
		t.Fatal("@reboot has no time and must be refused")
	}
}

func TestParseRefuses(t *testing.T) {
	for spec, want := range map[string]string{
		"60 * * * *":     "minute \"60\": 60 is out of range 0-59",
		"* 24 * * *":     "hour",
		"* * 0 * *":      "day of month \"0\"",
		"* * * 13 *":     "month",
		"* * * * 8":      "day of week",
		"*/0 * * * *":    "step",
		"5-1 * * * *":    "runs backwards",
		"* * * * funday": "is not a number",
		"* * *":          "want five time fields",
	} {
		_, _, err := Parse(strings.Fields(spec))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", spec, err, want)
		}
	}
}

func TestMinutesStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Minutes(ctx, func(time.Time) {}); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Minutes did not return when its context ended")
	}
}
