package provision

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// ident quotes an identifier, qualified when given several parts: names
// may hold '.', '-', '@' or '$'.
func ident(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// literal quotes a string constant the way quote_literal does, so it reads
// the same whatever standard_conforming_strings is.
func literal(s string) string {
	s = strings.ReplaceAll(s, "'", "''")
	if strings.Contains(s, `\`) {
		return `E'` + strings.ReplaceAll(s, `\`, `\\`) + `'`
	}
	return "'" + s + "'"
}

// dollar quotes a DO body with a tag the body does not contain.
func dollar(body string) string {
	tag := "$$"
	for n := 0; strings.Contains(body, tag); n++ {
		tag = "$do" + strings.Repeat("_", n) + "$"
	}
	return tag + body + tag
}
