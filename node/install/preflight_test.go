package install

import (
	"context"
	"slices"
	"strings"
	"testing"

	"pigsty/pgsql/pkgmap"
)

var bookworm = pkgmap.OS{Family: pkgmap.FamilyDeb, ID: "debian", Major: 12, Codename: "bookworm", Arch: "x86_64"}

func pkgmapRepo(name, suite string, pkgs ...string) pkgmap.Repo {
	return pkgmap.Repo{Name: name, BaseURL: "http://deb.debian.org/debian", Suite: suite, Components: []string{"main"}, Packages: pkgs}
}

func expand(t *testing.T, pgVersion int, items ...string) []pkgmap.Package {
	t.Helper()
	pkgs, _, err := pkgmap.Expand(items, pgVersion, bookworm)
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func noPatroni() (Patroni, error) { return Patroni{}, ErrNoPatroni }

func env(host apt, private ...*privateSource) preflightEnv {
	return preflightEnv{
		host:        host,
		private:     private,
		refresh:     func(context.Context, *privateSource) error { return nil },
		findPatroni: noPatroni,
	}
}

func plannedNames(ps []planned) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.pkg.Name+" "+p.version)
	}
	return out
}

func TestPreflightDefaultsOnBookworm(t *testing.T) {
	p, err := preflight(context.Background(), env(bookwormApt(t), trixieSource(t)), expand(t, 15, "pgsql-main", "pgsql-common"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.problems) != 0 {
		t.Fatalf("problems: %v", p.problems)
	}
	if p.vendor == nil || p.vendor.version != "4.0.7-3~deb13u1" || p.vendor.alias != "pgsql-common" {
		t.Fatalf("patroni should come from trixie: %+v", p.vendor)
	}
	install := plannedNames(p.install)
	for _, want := range []string{"postgresql-15-repack 1.4.8-1+deb12u1", "pgbouncer 1.18.0-1+deb12u1", "haproxy 2.6.12-1+deb12u4", "python3-psycopg2 2.9.5-1+b1", "python3-etcd 0.4.5-4"} {
		if !slices.Contains(install, want) {
			t.Errorf("install lacks %q: %v", want, install)
		}
	}
	for _, n := range install {
		if strings.HasPrefix(n, "patroni ") {
			t.Errorf("bookworm's patroni must not be installed: %v", install)
		}
	}
	if present := plannedNames(p.present); !slices.Contains(present, "postgresql-15 15.18-0+deb12u1") || !slices.Contains(present, "python3-yaml 6.0-3+b2") {
		t.Errorf("present: %v", present)
	}
	if len(p.skipped) != 1 || p.skipped[0].pkg.Name != "postgresql-15-pgvector" || p.skipped[0].pkg.Alias != "pgsql-main" {
		t.Errorf("skipped: %v", p.skipped)
	}
}

func TestPreflightWrongMajor(t *testing.T) {
	p, err := preflight(context.Background(), env(bookwormApt(t), trixieSource(t)), expand(t, 17, "pgsql-main", "pgsql-common"))
	if err != nil {
		t.Fatal(err)
	}
	want := "pg_version 17: alias pgsql-main → postgresql-17: no such package here; available instead: postgresql-15 (15.20-0+deb12u1)"
	if len(p.problems) == 0 || p.problems[0] != want {
		t.Fatalf("problems:\n%s\nwant first:\n%s", strings.Join(p.problems, "\n"), want)
	}
	// Every required package is reported, not only the first.
	if !slices.Contains(p.problems, "pg_version 17: alias pgsql-main → postgresql-client-17: no such package here; available instead: postgresql-client-15 (15.20-0+deb12u1)") {
		t.Errorf("client missing from problems: %v", p.problems)
	}
	if !slices.Contains(p.problems, "pg_version 17: alias pgsql-main → postgresql-17-repack: no such package here; available instead: postgresql-15-repack (1.4.8-1+deb12u1)") {
		t.Errorf("repack missing from problems: %v", p.problems)
	}
	if len(p.problems) != 7 {
		t.Errorf("want the 7 required packages of pgsql-main, got %d: %v", len(p.problems), p.problems)
	}
}

func TestPreflightExplicitExtension(t *testing.T) {
	p, err := preflight(context.Background(), env(bookwormApt(t), trixieSource(t)), expand(t, 15, "pgsql-main", "pgvector"))
	if err != nil {
		t.Fatal(err)
	}
	// pgvector came first through pgsql-main, so that is the alias named;
	// asking for it explicitly makes it required.
	want := []string{"pgvector → postgresql-15-pgvector: not available from the configured sources"}
	if !slices.Equal(p.problems, want) {
		t.Errorf("problems %q, want %q", p.problems, want)
	}
	p, _ = preflight(context.Background(), env(bookwormApt(t), trixieSource(t)), expand(t, 15, "pgvector"))
	if !slices.Equal(p.problems, []string{"pgvector → postgresql-15-pgvector: not available from the configured sources"}) {
		t.Errorf("problems %q", p.problems)
	}
}

func TestPreflightCategory(t *testing.T) {
	// Debian 12 has postgis and pgrouting but no h3: install what exists.
	p, _ := preflight(context.Background(), env(&fakeApt{policy: map[string]candidate{
		"postgresql-15-postgis-3":  {Candidate: "3.3.2+dfsg-1"},
		"postgresql-15-pgrouting":  {Candidate: "3.4.2-1"},
		"postgresql-15-pointcloud": {Candidate: "1.2.4-2"},
	}}), expand(t, 15, "pgsql-gis"))
	if len(p.problems) != 0 || len(p.install) != 3 || len(p.skipped) == 0 {
		t.Errorf("gis: problems %v install %v skipped %v", p.problems, plannedNames(p.install), p.skipped)
	}
	// A category with nothing available was asked for in vain.
	p, _ = preflight(context.Background(), env(&fakeApt{}), expand(t, 15, "pgsql-rag"))
	if len(p.problems) != 1 || !strings.HasPrefix(p.problems[0], "pgsql-rag: none of the packages it adds is available") {
		t.Errorf("rag: %v", p.problems)
	}
}

func TestPreflightPatroniAlreadyInstalled(t *testing.T) {
	e := env(bookwormApt(t), trixieSource(t))
	// A system package brings its own dependencies.
	e.findPatroni = func() (Patroni, error) { return Patroni{Version: "4.0.7", Source: "test"}, nil }
	p, err := preflight(context.Background(), e, expand(t, 15, "pgsql-common"))
	if err != nil {
		t.Fatal(err)
	}
	if p.patroni == nil || p.vendor != nil || len(p.problems) != 0 {
		t.Fatalf("%+v", p)
	}
	for _, n := range plannedNames(append(p.install, p.present...)) {
		if strings.HasPrefix(n, "patroni") || strings.HasPrefix(n, "python3-psycopg2") {
			t.Errorf("unexpected %s", n)
		}
	}
	// An unpacked one needs the host's Python modules kept installed.
	e.findPatroni = func() (Patroni, error) { return Patroni{Version: "4.0.7", PythonPath: "/x"}, nil }
	p, _ = preflight(context.Background(), e, expand(t, 15, "pgsql-common"))
	if !slices.Contains(plannedNames(p.install), "python3-psycopg2 2.9.5-1+b1") || p.vendor != nil {
		t.Errorf("install %v", plannedNames(p.install))
	}
}

func TestPreflightPatroniFromHost(t *testing.T) {
	// A host with PGDG configured offers a safe Patroni itself.
	host := bookwormApt(t)
	host.policy["patroni"] = candidate{Candidate: "4.0.6-1.pgdg120+1"}
	p, _ := preflight(context.Background(), env(host, trixieSource(t)), expand(t, 15, "pgsql-common"))
	if p.vendor != nil || !slices.Contains(plannedNames(p.install), "patroni 4.0.6-1.pgdg120+1") {
		t.Errorf("vendor %+v install %v", p.vendor, plannedNames(p.install))
	}
}

func TestPreflightPatroniUnavailable(t *testing.T) {
	p, _ := preflight(context.Background(), env(bookwormApt(t)), expand(t, 15, "pgsql-common"))
	want := "pgsql-common → patroni: needs Patroni 3.0.3 or newer (older releases can lose acknowledged writes with etcd3); the host's sources offer patroni 3.0.2-1; and no private Patroni source in repo_upstream applies to this OS"
	if !slices.Equal(p.problems, []string{want}) {
		t.Errorf("problems %q", p.problems)
	}
	old := trixieSource(t)
	old.apt = &fakeApt{policy: map[string]candidate{"patroni": {Candidate: "3.0.2-1"}, "python3-ydiff": {Candidate: "1"}}}
	p, _ = preflight(context.Background(), env(bookwormApt(t), old), expand(t, 15, "patroni"))
	if len(p.problems) != 1 || !strings.HasSuffix(p.problems[0], "patroni-trixie offers patroni 3.0.2-1") {
		t.Errorf("problems %q", p.problems)
	}
}

func TestPreflightErrorText(t *testing.T) {
	err := &PreflightError{Problems: []string{"a: b", "c: d"}}
	if got := err.Error(); got != "preflight found 2 problem(s); nothing was installed:\n  a: b\n  c: d" {
		t.Errorf("%q", got)
	}
}
