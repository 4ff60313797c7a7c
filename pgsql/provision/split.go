package provision

import (
	"strings"
	"unicode"
)

// splitSQL splits a script into its statements, each without the comments
// and blank lines before it and ending with its semicolon. It knows what
// may hide a semicolon: quoted strings ('…', E'…' with backslashes),
// quoted identifiers, dollar quotes and comments. psql meta-commands are
// not SQL and are not understood.
func splitSQL(script string) []string {
	var out []string
	start := 0
	i := 0
	n := len(script)
	emit := func(end int) {
		if st := trimStatement(script[start:end]); st != "" {
			out = append(out, st)
		}
		start = end
	}
	for i < n {
		c := script[i]
		switch {
		case c == '-' && i+1 < n && script[i+1] == '-':
			for i < n && script[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && script[i+1] == '*':
			depth := 0
			for i < n {
				if strings.HasPrefix(script[i:], "/*") {
					depth++
					i += 2
					continue
				}
				if strings.HasPrefix(script[i:], "*/") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
					continue
				}
				i++
			}
		case c == '\'':
			escapes := i > 0 && (script[i-1] == 'E' || script[i-1] == 'e') && (i < 2 || !isIdentChar(script[i-2]))
			i++
			for i < n {
				if escapes && script[i] == '\\' {
					i += 2
					continue
				}
				if script[i] == '\'' {
					if i+1 < n && script[i+1] == '\'' {
						i += 2
						continue
					}
					break
				}
				i++
			}
			i++
		case c == '"':
			i++
			for i < n && script[i] != '"' {
				i++
			}
			i++
		case c == '$' && (i == 0 || !isIdentChar(script[i-1])):
			if tag, ok := dollarTag(script[i:]); ok {
				end := strings.Index(script[i+len(tag):], tag)
				if end < 0 {
					i = n
				} else {
					i += len(tag) + end + len(tag)
				}
				continue
			}
			i++
		case c == ';':
			i++
			emit(i)
		default:
			i++
		}
	}
	emit(n)
	return out
}

// dollarTag reads the opening tag of a dollar quote: $$ or $name$.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		switch {
		case s[j] == '$':
			return s[:j+1], true
		case s[j] == '_' || unicode.IsLetter(rune(s[j])) || (j > 1 && unicode.IsDigit(rune(s[j]))):
		default:
			return "", false
		}
	}
	return "", false
}

func isIdentChar(c byte) bool {
	return c == '_' || c == '$' || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))
}

// trimStatement drops the comments and blank lines before a statement
// and the space after it; a piece holding only comments is empty.
func trimStatement(s string) string {
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		switch {
		case strings.HasPrefix(s, "--"):
			if nl := strings.IndexByte(s, '\n'); nl >= 0 {
				s = s[nl+1:]
			} else {
				s = ""
			}
		case strings.HasPrefix(s, "/*"):
			if end := strings.Index(s, "*/"); end >= 0 {
				s = s[end+2:]
			} else {
				s = ""
			}
		default:
			return strings.TrimRight(s, " \t\r\n")
		}
	}
}
