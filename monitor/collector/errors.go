package collector

import (
	"fmt"
	"strings"
)

// Pos is a place in a configuration file.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is one problem of a configuration: where, which branch and field,
// and what is allowed.
type Error struct {
	Pos     Pos
	Path    string // branch key and field, e.g. pg_db.metrics.datname.usage
	Msg     string
	Allowed string
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
	switch {
	case strings.HasPrefix(e.Allowed, "did you mean"):
		b.WriteString("; ")
		b.WriteString(e.Allowed)
	case e.Allowed != "":
		b.WriteString("; allowed: ")
		b.WriteString(e.Allowed)
	}
	return b.String()
}

// Errors is every problem found, so that one run reports them all.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
