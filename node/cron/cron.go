// Package cron reads crontab time specifications and runs a function at
// every minute boundary, so that the agent can follow crontab entries of
// the inventory without a cron daemon on the host.
package cron

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Spec is the five time fields of a crontab line.
type Spec struct {
	minute, hour, dom, month, dow uint64 // bit n set: value n matches
	// Vixie cron's rule: when both day fields are restricted (do not
	// start with *), a day matches either; otherwise both must match.
	domStar, dowStar bool
}

var macros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

var (
	months = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}
	days   = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
)

// Parse reads the time fields at the start of fields (a crontab line
// split on blanks) and returns the spec and how many fields it used: 5,
// or 1 for a macro such as @daily. @reboot has no time and is refused.
func Parse(fields []string) (Spec, int, error) {
	if len(fields) > 0 && strings.HasPrefix(fields[0], "@") {
		m, ok := macros[strings.ToLower(fields[0])]
		if !ok {
			return Spec{}, 0, fmt.Errorf("%s: allowed: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly", fields[0])
		}
		s, _, err := Parse(strings.Fields(m))
		return s, 1, err
	}
	if len(fields) < 5 {
		return Spec{}, 0, fmt.Errorf("want five time fields <minute> <hour> <day> <month> <weekday>, got %d", len(fields))
	}
	var s Spec
	var err error
	for i, f := range []struct {
		dst      *uint64
		lo, hi   int
		names    map[string]int
		what     string
		wrapHigh bool // weekday 7 is Sunday
	}{
		{&s.minute, 0, 59, nil, "minute", false},
		{&s.hour, 0, 23, nil, "hour", false},
		{&s.dom, 1, 31, nil, "day of month", false},
		{&s.month, 1, 12, months, "month", false},
		{&s.dow, 0, 7, days, "day of week", true},
	} {
		if *f.dst, err = field(fields[i], f.lo, f.hi, f.names); err != nil {
			return Spec{}, 0, fmt.Errorf("%s %q: %w", f.what, fields[i], err)
		}
		if f.wrapHigh && *f.dst&(1<<7) != 0 {
			*f.dst |= 1
		}
	}
	s.domStar, s.dowStar = strings.HasPrefix(fields[2], "*"), strings.HasPrefix(fields[4], "*")
	return s, 5, nil
}

// field reads one field: *, n, a-b, with /step, comma-separated.
func field(f string, lo, hi int, names map[string]int) (uint64, error) {
	var bits uint64
	for _, part := range strings.Split(f, ",") {
		base, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("step %q: allowed: a positive number", stepText)
			}
			step = n
		}
		from, to := lo, hi
		switch {
		case base == "*":
		case strings.Contains(base, "-"):
			a, b, _ := strings.Cut(base, "-")
			var err error
			if from, err = value(a, lo, hi, names); err != nil {
				return 0, err
			}
			if to, err = value(b, lo, hi, names); err != nil {
				return 0, err
			}
			if to < from {
				return 0, fmt.Errorf("range %s runs backwards", base)
			}
		default:
			n, err := value(base, lo, hi, names)
			if err != nil {
				return 0, err
			}
			from = n
			if !hasStep {
				to = n // "5/10" means 5, 15, 25, … as in Vixie cron
			}
		}
		for v := from; v <= to; v += step {
			bits |= 1 << v
		}
	}
	return bits, nil
}

func value(s string, lo, hi int, names map[string]int) (int, error) {
	if n, ok := names[strings.ToLower(s)]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range %d-%d", n, lo, hi)
	}
	return n, nil
}

// Matches reports whether the minute t falls on the spec, in t's location.
func (s Spec) Matches(t time.Time) bool {
	has := func(bits uint64, v int) bool { return bits&(1<<v) != 0 }
	if !has(s.minute, t.Minute()) || !has(s.hour, t.Hour()) || !has(s.month, int(t.Month())) {
		return false
	}
	dom, dow := has(s.dom, t.Day()), has(s.dow, int(t.Weekday()))
	if s.domStar || s.dowStar {
		return dom && dow
	}
	return dom || dow
}

// Minutes calls fire with the start of every minute, at that minute's
// boundary, until ctx ends. A minute the loop wakes up late for — a busy
// host, a suspended machine — still fires, when it is at most catchUp
// old; older ones are skipped, as cron skips what happened while it was
// down.
func Minutes(ctx context.Context, fire func(minute time.Time)) {
	const catchUp = 5 * time.Minute
	last := time.Now().Truncate(time.Minute)
	for {
		next := last.Add(time.Minute)
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		now := time.Now()
		for m := next; !m.After(now); m = m.Add(time.Minute) {
			if now.Sub(m) <= catchUp {
				fire(m)
			}
			last = m
		}
	}
}
