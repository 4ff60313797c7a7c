package change

import (
	"fmt"
	"regexp"
	"strings"
)

// contextLines is how many unchanged lines a diff shows around a change.
const contextLines = 2

// lineDiff is a unified diff of two texts, each line passed through show
// (which masks secrets); "" when they are equal.
func lineDiff(old, cur string, show func(string) string) string {
	a, b := lines(old), lines(cur)
	ops := editScript(a, b)
	var out strings.Builder
	for start := 0; start < len(ops); {
		for start < len(ops) && ops[start].kind == ' ' {
			start++
		}
		if start == len(ops) {
			break
		}
		from := max(start-contextLines, 0)
		end := start
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run-end > 2*contextLines || run == len(ops) {
				break
			}
			end = run
		}
		to := min(end+contextLines, len(ops))
		fmt.Fprintf(&out, "@@ -%d +%d @@\n", ops[from].aLine+1, ops[from].bLine+1)
		for _, op := range ops[from:to] {
			fmt.Fprintf(&out, "%c %s\n", op.kind, show(op.text))
		}
		start = to
	}
	return out.String()
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

type edit struct {
	kind         byte // ' ', '-', '+'
	text         string
	aLine, bLine int // positions before the edit
}

// editScript is the shortest edit script by longest common subsequence;
// the files a plan compares are a few hundred lines.
func editScript(a, b []string) []edit {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []edit
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			out = append(out, edit{' ', a[i], i, j})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, edit{'-', a[i], i, j})
			i++
		default:
			out = append(out, edit{'+', b[j], i, j})
			j++
		}
	}
	return out
}

// masker hides secrets in what a plan prints: on a line that speaks of a
// password, the inventory's passwords and whatever follows the word.
// Passwords are masked nowhere else: a short one ("pigsty") would blank
// paths and comments.
type masker []string

var rePassword = regexp.MustCompile(`(?i)(password\S*\s+)(\S+)`)

func (m masker) mask(s string) string {
	if !strings.Contains(strings.ToLower(s), "password") {
		return s
	}
	for _, secret := range m {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "********")
		}
	}
	return rePassword.ReplaceAllString(s, "${1}********")
}

// userlistLine shows a line of pgbouncer's userlist without its verifier.
func userlistLine(s string) string {
	if name, _, ok := strings.Cut(s, `" "`); ok {
		return name + `" ********`
	}
	return s
}
