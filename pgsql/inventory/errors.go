package inventory

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is where a value was written: a file position, or a named source
// such as an extra var given on the command line.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return "(unknown)"
	case p.Line == 0:
		return p.File
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
}

// Origin records where an object of the inventory came from, so that
// checks made after decoding can still point at the user's text.
type Origin struct {
	Pos    Pos
	Path   string
	fields map[string]Pos // where each key of an object was written
}

// Field is the origin of one key of the object: its value's position when
// the key was written, the object's otherwise.
func (o Origin) Field(name string) Origin {
	at, ok := o.fields[name]
	if !ok {
		at = o.Pos
	}
	return Origin{Pos: at, Path: keyPath(o.Path, name)}
}

// Error is one problem found in an inventory: where it is, which field,
// the bad value and what would have been accepted.
type Error struct {
	Pos     Pos
	Path    string
	Value   string
	Msg     string
	Allowed string
	Warning bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Value != "" {
		fmt.Fprintf(&b, " (got %s)", e.Value)
	}
	if e.Allowed != "" {
		b.WriteString("; ")
		b.WriteString(e.Allowed)
	}
	return b.String()
}

// Errors collects every problem of an inventory, so that one run reports
// them all instead of stopping at the first.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, 0, len(es))
	for _, e := range es {
		lines = append(lines, e.Error())
	}
	return strings.Join(lines, "\n")
}

// Problems returns the errors, warnings excluded.
func (es Errors) Problems() Errors {
	var out Errors
	for _, e := range es {
		if !e.Warning {
			out = append(out, e)
		}
	}
	return out
}

// Warnings returns the warnings only.
func (es Errors) Warnings() Errors {
	var out Errors
	for _, e := range es {
		if e.Warning {
			out = append(out, e)
		}
	}
	return out
}

// collector gathers problems once each: the same bad value inherited by
// several hosts is reported at its one position.
type collector struct {
	list Errors
	seen map[string]bool
}

func (c *collector) add(e *Error) {
	key := e.Error()
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.list = append(c.list, e)
}

func (c *collector) errorf(o Origin, value, allowed, format string, args ...any) {
	c.add(&Error{Pos: o.Pos, Path: o.Path, Value: value, Allowed: allowed, Msg: fmt.Sprintf(format, args...)})
}

func (c *collector) warnf(o Origin, format string, args ...any) {
	c.add(&Error{Pos: o.Pos, Path: o.Path, Msg: fmt.Sprintf(format, args...), Warning: true})
}

func (c *collector) sorted() Errors {
	out := append(Errors(nil), c.list...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return out
}

// quote renders a value for an error message.
func quote(s string) string { return fmt.Sprintf("%q", s) }
