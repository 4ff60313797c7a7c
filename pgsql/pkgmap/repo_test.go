package pkgmap

import (
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestRepoYAMLPigstySpelling(t *testing.T) {
	src := `
- { name: pgdg ,description: 'PGDG' ,module: pgsql ,releases: [11,12,13,22,24] ,arch: [x86_64, aarch64] ,baseurl: { default: 'http://apt.postgresql.org/pub/repos/apt/ ${distro_codename}-pgdg main' ,china: 'https://mirrors.example/postgresql/repos/apt/ ${distro_codename}-pgdg main' }}
- name: own
  baseurl: http://deb.example/debian
  suite: trixie
  components: [main, contrib]
  packages: [patroni]
  enabled: false
`
	var repos []Repo
	if err := yaml.Unmarshal([]byte(src), &repos); err != nil {
		t.Fatal(err)
	}
	p := repos[0]
	if p.Name != "pgdg" || p.Module != "pgsql" || p.BaseURL != "http://apt.postgresql.org/pub/repos/apt/" ||
		p.Suite != "${distro_codename}-pgdg" || !slices.Equal(p.Components, []string{"main"}) ||
		!slices.Equal(p.Releases, []string{"11", "12", "13", "22", "24"}) || p.Enabled != nil {
		t.Errorf("pgdg: %+v", p)
	}
	if r := p.Resolve(bookworm); r.Suite != "bookworm-pgdg" || !r.Applies(bookworm) {
		t.Errorf("resolved: %+v", r)
	}
	o := repos[1]
	if o.Suite != "trixie" || !slices.Equal(o.Components, []string{"main", "contrib"}) || !o.Private() || o.Enabled == nil || *o.Enabled {
		t.Errorf("own: %+v", o)
	}
}

func TestRepoYAMLRoundTrip(t *testing.T) {
	out, err := yaml.Marshal(DefaultRepos())
	if err != nil {
		t.Fatal(err)
	}
	var back []Repo
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	for i, r := range DefaultRepos() {
		b := back[i]
		if r.Name != b.Name || r.BaseURL != b.BaseURL || r.Suite != b.Suite || !slices.Equal(r.Components, b.Components) ||
			!slices.Equal(r.Releases, b.Releases) || !slices.Equal(r.Packages, b.Packages) || r.Keyring != b.Keyring {
			t.Errorf("round trip %d:\n%+v\n%+v", i, r, b)
		}
	}
}

func TestDefaultRepos(t *testing.T) {
	trixie := OS{Family: FamilyDeb, ID: "debian", Major: 13, Codename: "trixie", Arch: "x86_64"}
	var private, pgdg int
	for _, r := range DefaultRepos() {
		if r.Private() {
			private++
			if !r.Applies(bookworm) || r.Applies(trixie) || !slices.Contains(r.Packages, "patroni") {
				t.Errorf("patroni source: %+v", r)
			}
		}
		if r.Name == "pgdg" {
			pgdg++
			if r.Enabled != nil || r.Resolve(bookworm).Suite != "bookworm-pgdg" {
				t.Errorf("pgdg must be opt-in: %+v", r)
			}
		}
		if r.Applies(el9) {
			t.Errorf("%s applies to EL9", r.Name)
		}
	}
	if private != 1 || pgdg != 1 {
		t.Errorf("private %d pgdg %d", private, pgdg)
	}
}

func TestParseOSRelease(t *testing.T) {
	for _, tc := range []struct {
		text, arch string
		want       OS
	}{
		{"ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n", "amd64", bookworm},
		{"ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\nVERSION_CODENAME=jammy\n", "arm64",
			OS{Family: FamilyDeb, ID: "ubuntu", Major: 22, Codename: "jammy", Arch: "aarch64"}},
		{"ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n", "x86_64", el9},
	} {
		got, err := ParseOSRelease([]byte(tc.text), tc.arch)
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v %v", tc.text, got, err)
		}
	}
	if _, err := ParseOSRelease([]byte("ID=arch\n"), "amd64"); err == nil {
		t.Error("arch linux accepted")
	}
}
