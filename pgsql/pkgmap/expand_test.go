package pkgmap

import (
	"slices"
	"strings"
	"testing"
)

var (
	bookworm = OS{Family: FamilyDeb, ID: "debian", Major: 12, Codename: "bookworm", Arch: "x86_64"}
	el9      = OS{Family: FamilyEL, ID: "rocky", Major: 9, Arch: "x86_64"}
)

func names(pkgs []Package) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.Name)
	}
	return out
}

func TestExpandDefaultsDebian(t *testing.T) {
	pkgs, skipped, err := Expand([]string{"pgsql-main", "pgsql-common"}, 15, bookworm)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"postgresql-15", "postgresql-client-15", "postgresql-plpython3-15", "postgresql-plperl-15", "postgresql-pltcl-15",
		"postgresql-15-repack", "postgresql-15-wal2json", "postgresql-15-pgvector",
		"patroni", "python3-etcd", "pgbouncer", "pgbackrest", "haproxy",
	}
	if got := names(pkgs); !slices.Equal(got, want) {
		t.Fatalf("names\n got %v\nwant %v", got, want)
	}
	for _, p := range pkgs {
		if p.Optional != (p.Name == "postgresql-15-pgvector") {
			t.Errorf("%s: optional = %v", p.Name, p.Optional)
		}
		if (p.Via == ViaPatroni) != (p.Name == "patroni") {
			t.Errorf("%s: via = %q", p.Name, p.Via)
		}
		if strings.Contains(p.Name, "15") && p.Major != 15 {
			t.Errorf("%s: major = %d", p.Name, p.Major)
		}
		if p.Name == "haproxy" && (p.Alias != "pgsql-common" || p.Major != 0) {
			t.Errorf("haproxy: %+v", p)
		}
	}
	var comps []string
	for _, s := range skipped {
		comps = append(comps, s.Name)
		if s.Reason == "" || s.Alias != "pgsql-common" {
			t.Errorf("skipped %+v", s)
		}
	}
	if !slices.Equal(comps, []string{"pg_exporter", "pgbouncer_exporter", "pgbackrest_exporter", "vip-manager"}) {
		t.Errorf("skipped = %v", comps)
	}
}

func TestExpandSeparators(t *testing.T) {
	a, _, _ := Expand([]string{"pgsql-main", "pgsql-common"}, 15, bookworm)
	for _, items := range [][]string{{"pgsql-main pgsql-common"}, {"pgsql-main,pgsql-common"}, {" pgsql-main ,  pgsql-common "}} {
		b, _, err := Expand(items, 15, bookworm)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names(a), names(b)) {
			t.Errorf("%q: got %v", items, names(b))
		}
	}
}

func TestExpandDocExamples(t *testing.T) {
	// The $v table of Pigsty's documentation, pg_version 17.
	for _, tc := range []struct{ alias, el, deb string }{
		{"postgresql", "postgresql17*", "postgresql-17"},
		{"pgvector", "pgvector_17*", "postgresql-17-pgvector"},
		{"timescaledb", "timescaledb-tsl_17*", "postgresql-17-timescaledb-tsl"},
		{"postgis", "postgis36_17*", "postgresql-17-postgis-3"},
	} {
		for _, c := range []struct {
			os   OS
			want string
		}{{el9, tc.el}, {bookworm, tc.deb}} {
			pkgs, _, err := Expand([]string{tc.alias}, 17, c.os)
			if err != nil {
				t.Fatal(err)
			}
			if len(pkgs) != 1 || pkgs[0].Name != c.want || pkgs[0].Alias != tc.alias || pkgs[0].Optional || pkgs[0].Major != 17 {
				t.Errorf("%s on %s: %+v, want %s", tc.alias, c.os.Family, pkgs, c.want)
			}
		}
	}
}

func TestExpandPassThroughAndSubstitution(t *testing.T) {
	pkgs, skipped, err := Expand([]string{"postgresql-$v-postgis-3 postgresql-${pg_version}-cron", "htop"}, 15, bookworm)
	if err != nil || len(skipped) != 0 {
		t.Fatal(err, skipped)
	}
	want := []Package{
		{Alias: "postgresql-$v-postgis-3", Name: "postgresql-15-postgis-3", Major: 15},
		{Alias: "postgresql-${pg_version}-cron", Name: "postgresql-15-cron", Major: 15},
		{Alias: "htop", Name: "htop"},
	}
	if !slices.Equal(pkgs, want) {
		t.Errorf("got %+v", pkgs)
	}
}

func TestExpandExplicitWinsOverOptional(t *testing.T) {
	pkgs, _, _ := Expand([]string{"pgsql-main", "pgvector"}, 15, bookworm)
	for _, p := range pkgs {
		if p.Name == "postgresql-15-pgvector" {
			if p.Optional || p.Alias != "pgvector" {
				t.Errorf("pgvector: %+v", p)
			}
			return
		}
	}
	t.Fatal("pgvector missing")
}

func TestExpandVersionedAliases(t *testing.T) {
	pkgs, _, err := Expand([]string{"pg16-gis", "pg14"}, 15, bookworm)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		switch p.Alias {
		case "pg16-gis":
			if !strings.Contains(p.Name, "-16-") || p.Major != 16 || !p.Optional {
				t.Errorf("%+v", p)
			}
		case "pg14":
			if !strings.HasSuffix(p.Name, "-14") || p.Major != 14 || p.Optional {
				t.Errorf("%+v", p)
			}
		default:
			t.Errorf("unexpected %+v", p)
		}
	}
	if pkgs, _, _ := Expand([]string{"pg16-nosuchthing"}, 15, bookworm); len(pkgs) != 1 || pkgs[0].Name != "pg16-nosuchthing" {
		t.Errorf("unknown versioned name should pass through: %+v", pkgs)
	}
}

func TestExpandProvided(t *testing.T) {
	for _, os := range []OS{bookworm, el9} {
		pkgs, skipped, err := Expand([]string{"etcd pg-exporter node_exporter vip-manager pgbackrest_exporter"}, 15, os)
		if err != nil {
			t.Fatal(err)
		}
		if len(pkgs) != 0 || len(skipped) != 5 {
			t.Errorf("%s: pkgs %v skipped %v", os.Family, pkgs, skipped)
		}
	}
}

func TestExpandEL(t *testing.T) {
	pkgs, skipped, err := Expand([]string{"pgsql-main pgsql-common"}, 17, el9)
	if err != nil {
		t.Fatal(err)
	}
	got := names(pkgs)
	for _, want := range []string{"postgresql17-server", "postgresql17-contrib", "pg_repack_17*", "wal2json_17*", "pgvector_17*", "patroni", "patroni-etcd", "haproxy"} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %s in %v", want, got)
		}
	}
	for _, p := range pkgs {
		if p.Optional {
			t.Errorf("EL pgsql-main should be all required: %+v", p)
		}
	}
	if len(skipped) != 4 {
		t.Errorf("skipped %v", skipped)
	}
}

func TestCategories(t *testing.T) {
	if len(Categories) != 16 {
		t.Fatalf("%d categories", len(Categories))
	}
	for _, os := range []OS{bookworm, el9} {
		for _, c := range Categories {
			pkgs, _, err := Expand([]string{"pgsql-" + c}, 15, os)
			if err != nil {
				t.Fatal(err)
			}
			if len(pkgs) < 3 {
				t.Errorf("%s pgsql-%s: only %v", os.Family, c, names(pkgs))
			}
			for _, p := range pkgs {
				if !p.Optional {
					t.Errorf("%s pgsql-%s: %s not optional", os.Family, c, p.Name)
				}
			}
		}
	}
	pkgs, _, _ := Expand([]string{"pgsql-olap"}, 15, bookworm)
	if slices.Contains(names(pkgs), "postgresql-15-pg-mooncake") {
		t.Error("pg_mooncake conflicts with pg_duckdb and must stay out of pgsql-olap")
	}
}

func TestExpandErrors(t *testing.T) {
	if _, _, err := Expand([]string{"pgsql-main"}, 15, OS{Family: "arch"}); err == nil {
		t.Error("unknown family accepted")
	}
	if _, _, err := Expand([]string{"pgsql-main"}, 9, bookworm); err == nil {
		t.Error("pg_version 9 accepted")
	}
}

func TestAliases(t *testing.T) {
	a := Aliases(bookworm)
	for _, want := range []string{"pgsql-main", "pgsql-common", "postgresql", "pgsql-client", "pgsql-server", "postgis", "pgvector", "timescaledb", "citus", "pg_cron", "pgaudit", "wal2json", "pg_repack", "hypopg", "pgsql-fdw", "pg18-gis", "pg15", "pg_exporter", "etcd"} {
		if !slices.Contains(a, want) {
			t.Errorf("Aliases lacks %s", want)
		}
	}
	if !slices.IsSorted(a) || len(slices.Compact(slices.Clone(a))) != len(a) {
		t.Error("Aliases not sorted and unique")
	}
}
