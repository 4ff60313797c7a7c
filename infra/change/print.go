package change

import (
	"fmt"
	"io"
	"strings"
)

// Print writes the plan for a reader: per instance the SQL steps with the
// statements that will run, the files with their diffs, the notes; then
// a summary line.
func (p *Plan) Print(w io.Writer) {
	against := "no desired state stored yet"
	if p.Stored > 0 {
		against = fmt.Sprintf("the desired state at revision %d", p.Stored)
	}
	fmt.Fprintf(w, "plan: %s against %s\n", p.Request.File, against)
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  warning: %s\n", n)
	}
	var changing, steps, statements, files int
	for _, i := range p.Instances {
		fmt.Fprintf(w, "\n%s [%s] @ %s", i.Name, i.Role, i.IP)
		if !i.Local && len(i.Notes) == 0 {
			fmt.Fprint(w, " (another host: its agent plans and applies its own changes)")
		}
		fmt.Fprintln(w)
		for _, s := range i.SQL {
			if s.Secret {
				fmt.Fprintf(w, "  ~ sql %s: %s (the statement holds a password and is not shown)\n", s.Database, s.Title)
			} else {
				fmt.Fprintf(w, "  ~ sql %s: %s\n", s.Database, s.Title)
			}
			for _, st := range s.Statements {
				fmt.Fprintln(w, indent(st, "      "))
			}
			steps++
			statements += max(len(s.Statements), 1)
		}
		for _, f := range i.Files {
			reload := ""
			if f.Reload != "" {
				reload = ", reloads " + f.Reload
			}
			fmt.Fprintf(w, "  ~ file %s: %s%s\n", f.Path, f.Action, reload)
			if f.Diff != "" {
				fmt.Fprint(w, indent(strings.TrimSuffix(f.Diff, "\n"), "      ")+"\n")
			}
			files++
		}
		for _, n := range i.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		if i.Changes() {
			changing++
		} else if i.Local {
			fmt.Fprintln(w, "  nothing to change")
		}
	}
	fmt.Fprintln(w)
	if changing == 0 {
		fmt.Fprintln(w, "plan: nothing to change")
		return
	}
	fmt.Fprintf(w, "plan: %d %s to change: %d SQL %s (%d statements), %d %s\n",
		changing, plural(changing, "instance"), steps, plural(steps, "step"), statements, files, plural(files, "file"))
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
