package install

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"pigsty/pgsql/pkgmap"
)

// PreflightError lists every requested package that cannot be installed.
// Preflight collects all of them before anything is installed.
type PreflightError struct{ Problems []string }

func (e *PreflightError) Error() string {
	return fmt.Sprintf("preflight found %d problem(s); nothing was installed:\n  %s",
		len(e.Problems), strings.Join(e.Problems, "\n  "))
}

type planned struct {
	pkg     pkgmap.Package
	version string // installed version when present, candidate otherwise
}

// vendoring is a Patroni to fetch from a private source and unpack.
type vendoring struct {
	source  *privateSource
	alias   string
	version string // Debian version offered, e.g. 4.0.7-3~deb13u1
}

// plan is what preflight decided.
type plan struct {
	install  []planned
	present  []planned
	skipped  []planned // optional packages the sources lack
	patroni  *Patroni  // a usable Patroni that is already installed
	vendor   *vendoring
	problems []string
}

type preflightEnv struct {
	host        apt
	private     []*privateSource // sources that serve Patroni, in repo_upstream order
	refresh     func(context.Context, *privateSource) error
	findPatroni func() (Patroni, error)
}

// preflight resolves every package against the configured sources without
// changing anything but pigsty's private package lists. Unavailable
// packages become problems (or skips, for optional ones); the error is for
// apt itself failing.
func preflight(ctx context.Context, env preflightEnv, pkgs []pkgmap.Package) (*plan, error) {
	p := &plan{}
	var query []pkgmap.Package
	seen := map[string]bool{}
	want := func(pkg pkgmap.Package) {
		if !seen[pkg.Name] {
			seen[pkg.Name] = true
			query = append(query, pkg)
		}
	}
	for _, pkg := range pkgs {
		if pkg.Via != pkgmap.ViaPatroni {
			want(pkg)
			continue
		}
		fromHost, err := resolvePatroni(ctx, env, pkg, p)
		if err != nil {
			return nil, err
		}
		if fromHost {
			want(pkg)
		}
		// An unpacked Patroni, planned or present, runs on the host's
		// Python modules; keep them installed.
		if p.vendor != nil || (p.patroni != nil && p.patroni.PythonPath != "") {
			for _, d := range patroniDeps {
				want(pkgmap.Package{Alias: pkg.Alias, Name: d})
			}
		}
	}
	names := make([]string, len(query))
	for i, pkg := range query {
		names[i] = pkg.Name
	}
	pol, err := env.host.Policy(ctx, names)
	if err != nil {
		return nil, err
	}
	// accounted: the alias contributes packages, or its failure is reported.
	accounted := map[string]bool{}
	var missingOptional []pkgmap.Package
	for _, pkg := range query {
		c := pol[pkg.Name]
		switch {
		case c.Installed != "":
			p.present = append(p.present, planned{pkg, c.Installed})
			accounted[pkg.Alias] = true
		case c.Candidate != "":
			p.install = append(p.install, planned{pkg, c.Candidate})
			accounted[pkg.Alias] = true
		case pkg.Optional:
			missingOptional = append(missingOptional, pkg)
		default:
			msg, err := missingMessage(ctx, env.host, pkg)
			if err != nil {
				return nil, err
			}
			p.problems = append(p.problems, msg)
			accounted[pkg.Alias] = true
		}
	}
	// Optional packages may be skipped, but an alias that adds nothing at
	// all was asked for in vain.
	empty := map[string][]string{}
	var emptyOrder []string
	for _, pkg := range missingOptional {
		if accounted[pkg.Alias] {
			p.skipped = append(p.skipped, planned{pkg: pkg})
			continue
		}
		if empty[pkg.Alias] == nil {
			emptyOrder = append(emptyOrder, pkg.Alias)
		}
		empty[pkg.Alias] = append(empty[pkg.Alias], pkg.Name)
	}
	for _, a := range emptyOrder {
		p.problems = append(p.problems, fmt.Sprintf("%s: none of the packages it adds is available from the configured sources (%s)",
			a, strings.Join(empty[a], ", ")))
	}
	return p, nil
}

// resolvePatroni decides where Patroni comes from: an installed one that is
// recent enough, the host's sources when they offer MinPatroni or newer
// (PGDG does), else a private source. It reports whether the host's apt
// should install the package; the other outcomes are recorded in p.
func resolvePatroni(ctx context.Context, env preflightEnv, pkg pkgmap.Package, p *plan) (bool, error) {
	if pat, err := env.findPatroni(); err == nil {
		p.patroni = &pat
		return false, nil
	}
	pol, err := env.host.Policy(ctx, []string{pkg.Name})
	if err != nil {
		return false, err
	}
	hc := pol[pkg.Name]
	if hc.Candidate != "" && compareVersions(hc.Candidate, MinPatroni) >= 0 {
		return true, nil
	}
	offers := []string{"the host's sources offer " + offerText(hc.Candidate)}
	for _, src := range env.private {
		if err := env.refresh(ctx, src); err != nil {
			offers = append(offers, fmt.Sprintf("%s: %v", src.repo.Name, err))
			continue
		}
		sp, err := src.apt.Policy(ctx, src.repo.Packages)
		if err != nil {
			offers = append(offers, fmt.Sprintf("%s: %v", src.repo.Name, err))
			continue
		}
		c := sp[pkg.Name].Candidate
		if c == "" || compareVersions(c, MinPatroni) < 0 {
			offers = append(offers, fmt.Sprintf("%s offers %s", src.repo.Name, offerText(c)))
			continue
		}
		var lacking []string
		for _, n := range src.repo.Packages {
			if sp[n].Candidate == "" {
				lacking = append(lacking, n)
			}
		}
		if len(lacking) > 0 {
			offers = append(offers, fmt.Sprintf("%s lacks %s", src.repo.Name, strings.Join(lacking, ", ")))
			continue
		}
		p.vendor = &vendoring{source: src, alias: pkg.Alias, version: c}
		return false, nil
	}
	if len(env.private) == 0 {
		offers = append(offers, "and no private Patroni source in repo_upstream applies to this OS")
	}
	head := pkg.Name
	if pkg.Alias != pkg.Name {
		head = pkg.Alias + " → " + pkg.Name
	}
	p.problems = append(p.problems, fmt.Sprintf("%s: needs Patroni %s or newer (older releases can lose acknowledged writes with etcd3); %s",
		head, MinPatroni, strings.Join(offers, "; ")))
	return false, nil
}

func offerText(version string) string {
	if version == "" {
		return "no patroni"
	}
	return "patroni " + version
}

// missingMessage explains a required package the sources lack. When its
// name carries the PostgreSQL major, it lists the majors that are
// available instead, so a wrong pg_version is obvious.
func missingMessage(ctx context.Context, host apt, pkg pkgmap.Package) (string, error) {
	head := pkg.Name
	if pkg.Alias != pkg.Name {
		head = pkg.Alias + " → " + pkg.Name
	}
	alts, err := otherMajors(ctx, host, pkg)
	if err != nil {
		return "", err
	}
	if len(alts) == 0 {
		return head + ": not available from the configured sources", nil
	}
	if pkg.Alias != pkg.Name {
		head = "alias " + head
	}
	return fmt.Sprintf("pg_version %d: %s: no such package here; available instead: %s", pkg.Major, head, strings.Join(alts, ", ")), nil
}

// otherMajors finds the same package built for other PostgreSQL majors,
// newest first, as "name (candidate)".
func otherMajors(ctx context.Context, host apt, pkg pkgmap.Package) ([]string, error) {
	if pkg.Major == 0 {
		return nil, nil
	}
	loc := regexp.MustCompile(`(?:^|\D)(` + strconv.Itoa(pkg.Major) + `)(?:\D|$)`).FindStringSubmatchIndex(pkg.Name)
	if loc == nil {
		return nil, nil
	}
	prefix, suffix := pkg.Name[:loc[2]], pkg.Name[loc[3]:]
	same := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + `(\d+)` + regexp.QuoteMeta(suffix) + "$")
	names, err := host.Names(ctx, prefix)
	if err != nil {
		return nil, err
	}
	type alt struct {
		name  string
		major int
	}
	var alts []alt
	var query []string
	for _, n := range names {
		m := same.FindStringSubmatch(n)
		if m == nil || n == pkg.Name {
			continue
		}
		major, _ := strconv.Atoi(m[1])
		alts = append(alts, alt{n, major})
		query = append(query, n)
	}
	if len(alts) == 0 {
		return nil, nil
	}
	pol, err := host.Policy(ctx, query)
	if err != nil {
		return nil, err
	}
	sort.Slice(alts, func(i, j int) bool { return alts[i].major > alts[j].major })
	var out []string
	for _, a := range alts {
		if c := pol[a.name].Candidate; c != "" {
			out = append(out, fmt.Sprintf("%s (%s)", a.name, c))
		}
	}
	return out, nil
}
