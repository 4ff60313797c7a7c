package pkgmap

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Package is one real package to install.
type Package struct {
	Alias string // what the user wrote ("pgsql-main", "postgis", or the real name itself)
	Name  string // real package name after $v (EL names may carry wildcards)
	Via   string // "" normally; ViaPatroni marks the Patroni package handled specially by the installer
	// Optional packages come from category aliases and from the parts of
	// pgsql-main that not every source carries: the installer skips them
	// with a note when they are unavailable instead of failing.
	Optional bool
	// Major is the PostgreSQL major substituted into Name, 0 when Name does
	// not depend on pg_version. The installer uses it to suggest the majors
	// that are available when this one is not.
	Major int
}

// Skipped is an item that maps to a component pigsty provides itself.
type Skipped struct {
	Alias  string // what the user wrote
	Name   string // the component
	Reason string
}

// Majors are the PostgreSQL majors listed by Aliases as pg<NN>-* aliases;
// Expand accepts any major from 10 on.
var Majors = []int{13, 14, 15, 16, 17, 18}

type member struct {
	template string // package name template with $v
	optional bool
	provided string // component pigsty provides; template is empty then
}

var tables = map[string]map[string][]member{
	FamilyDeb: buildTable(debAliases, func(e extension) string { return e.deb }),
	FamilyEL:  buildTable(elAliases, func(e extension) string { return e.el }),
}

func buildTable(base map[string]string, pick func(extension) string) map[string][]member {
	t := map[string][]member{}
	for alias, list := range base {
		for _, f := range strings.Fields(list) {
			switch {
			case strings.HasPrefix(f, "?"):
				t[alias] = append(t[alias], member{template: f[1:], optional: true})
			case strings.HasPrefix(f, "@"):
				t[alias] = append(t[alias], member{provided: f[1:]})
			default:
				t[alias] = append(t[alias], member{template: f})
			}
		}
	}
	for comp := range provided {
		t[comp] = []member{{provided: comp}}
		t[strings.ReplaceAll(comp, "_", "-")] = []member{{provided: comp}}
	}
	for _, e := range extensions {
		name := pick(e)
		if name == "" {
			continue
		}
		t[e.alias] = []member{{template: name}}
		for _, c := range strings.Fields(e.cats) {
			cat := "pgsql-" + c
			t[cat] = append(t[cat], member{template: name, optional: true})
		}
	}
	return t
}

// versioned matches pg<NN> and pg<NN>-<alias>, Pigsty's spelling for an
// alias pinned to one major regardless of pg_version.
var versioned = regexp.MustCompile(`^pg(\d{2})(?:-(.+))?$`)

// Expand translates pg_packages / pg_extensions items into real packages for
// os. Each item may hold several names separated by spaces or commas. The
// result is deduplicated in first-seen order; names that are not aliases
// pass through as real package names. Items that pigsty provides itself are
// returned as Skipped, never as packages.
func Expand(items []string, pgVersion int, os OS) ([]Package, []Skipped, error) {
	table, ok := tables[os.Family]
	if !ok {
		return nil, nil, fmt.Errorf("pkgmap: unknown OS family %q (want %s or %s)", os.Family, FamilyDeb, FamilyEL)
	}
	if pgVersion < 10 || pgVersion > 99 {
		return nil, nil, fmt.Errorf("pkgmap: pg_version %d is not a PostgreSQL major from 10 on", pgVersion)
	}
	var (
		pkgs    []Package
		skipped []Skipped
		index   = map[string]int{}
		seen    = map[string]bool{}
	)
	add := func(p Package) {
		if p.Name == patroniPackage {
			p.Via = ViaPatroni
		}
		if i, dup := index[p.Name]; dup {
			// Asked for both optionally and explicitly: the explicit ask
			// wins, and so does its alias in what the user is told.
			if pkgs[i].Optional && !p.Optional {
				pkgs[i].Alias = p.Alias
			}
			pkgs[i].Optional = pkgs[i].Optional && p.Optional
			return
		}
		index[p.Name] = len(pkgs)
		pkgs = append(pkgs, p)
	}
	for _, item := range items {
		for _, tok := range strings.FieldsFunc(item, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
			members, major := lookup(table, tok, pgVersion)
			if members == nil {
				name, subst := substitute(tok, pgVersion)
				p := Package{Alias: tok, Name: name}
				if subst {
					p.Major = pgVersion
				}
				add(p)
				continue
			}
			for _, m := range members {
				if m.provided != "" {
					if !seen[m.provided] {
						seen[m.provided] = true
						skipped = append(skipped, Skipped{Alias: tok, Name: m.provided, Reason: provided[m.provided]})
					}
					continue
				}
				name, subst := substitute(m.template, major)
				p := Package{Alias: tok, Name: name, Optional: m.optional}
				if subst {
					p.Major = major
				}
				add(p)
			}
		}
	}
	return pkgs, skipped, nil
}

// lookup resolves tok as an alias, returning its members and the major they
// are built for; nil members mean tok is not an alias.
func lookup(table map[string][]member, tok string, pgVersion int) ([]member, int) {
	if m, ok := table[tok]; ok {
		return m, pgVersion
	}
	sm := versioned.FindStringSubmatch(tok)
	if sm == nil {
		return nil, 0
	}
	major, _ := strconv.Atoi(sm[1])
	if major < 10 {
		return nil, 0
	}
	base := "pgsql"
	if sm[2] != "" {
		base = "pgsql-" + sm[2]
	}
	m, ok := table[base]
	if !ok {
		return nil, 0
	}
	return m, major
}

// substitute replaces ${pg_version} and $v with the major and reports
// whether the name depended on it.
func substitute(s string, major int) (string, bool) {
	v := strconv.Itoa(major)
	out := strings.ReplaceAll(s, "${pg_version}", v)
	out = strings.ReplaceAll(out, "$v", v)
	return out, out != s
}

// Aliases lists every alias known for os's family, sorted, including the
// pg<NN>-* forms for the majors in Majors. Expand also accepts pg<NN>-*
// forms for other majors.
func Aliases(os OS) []string {
	table := tables[os.Family]
	var out []string
	for a := range table {
		out = append(out, a)
		if a == "pgsql" || strings.HasPrefix(a, "pgsql-") {
			for _, v := range Majors {
				out = append(out, "pg"+strconv.Itoa(v)+strings.TrimPrefix(a, "pgsql"))
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}
