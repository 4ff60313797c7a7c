package pkgmap

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Repo is one package source, Pigsty's repo_upstream entry. Pigsty packs
// "URL suite components" into one baseurl string per region; Repo keeps them
// apart, and UnmarshalYAML accepts both spellings.
//
// How the installer uses a source:
//   - Packages set: a private source. Only those packages are taken from
//     it, through an apt configuration of pigsty's own; the host's sources
//     are never touched. Used unless Enabled is false.
//   - Enabled unset: used when the host already has it configured.
//   - Enabled true: written into the host's sources when missing.
//   - Enabled false: ignored.
type Repo struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description,omitempty"`
	Module      string   `yaml:"module,omitempty"`
	Releases    []string `yaml:"releases,omitempty"` // OS majors or codenames this source serves; empty: all
	Arch        []string `yaml:"arch,omitempty"`     // x86_64, aarch64; empty: all
	BaseURL     string   `yaml:"baseurl"`
	Suite       string   `yaml:"suite,omitempty"` // may use ${distro_codename}
	Components  []string `yaml:"components,omitempty"`
	Keyring     string   `yaml:"keyring,omitempty"` // signed-by file
	Packages    []string `yaml:"packages,omitempty"`
	Enabled     *bool    `yaml:"enabled,omitempty"`
}

// Private reports whether the source serves only its listed packages.
func (r Repo) Private() bool { return len(r.Packages) > 0 }

// Applies reports whether the source serves os.
func (r Repo) Applies(os OS) bool {
	if len(r.Arch) > 0 && !slices.Contains(r.Arch, os.Arch) {
		return false
	}
	if len(r.Releases) == 0 {
		return true
	}
	return slices.Contains(r.Releases, strconv.Itoa(os.Major)) ||
		(os.Codename != "" && slices.Contains(r.Releases, os.Codename))
}

// Resolve fills Pigsty's ${distro_codename} and ${distro_name} placeholders.
func (r Repo) Resolve(os OS) Repo {
	sub := strings.NewReplacer("${distro_codename}", os.Codename, "${distro_name}", os.ID)
	r.BaseURL = sub.Replace(r.BaseURL)
	r.Suite = sub.Replace(r.Suite)
	r.Components = slices.Clone(r.Components)
	for i, c := range r.Components {
		r.Components[i] = sub.Replace(c)
	}
	return r
}

// UnmarshalYAML accepts Pigsty's spelling, where baseurl is a map of
// regions to "URL suite components…" strings, besides Repo's own fields.
// Only the default region is used.
func (r *Repo) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("repo: line %d: want a mapping", n.Line)
	}
	var baseNode, relNode *yaml.Node
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "baseurl":
			baseNode = v
		case "releases":
			relNode = v
		default:
			rest.Content = append(rest.Content, k, v)
		}
	}
	type plain Repo
	var p plain
	if err := rest.Decode(&p); err != nil {
		return err
	}
	*r = Repo(p)
	var base string
	switch {
	case baseNode == nil:
	case baseNode.Kind == yaml.ScalarNode:
		base = baseNode.Value
	case baseNode.Kind == yaml.MappingNode:
		var regions map[string]string
		if err := baseNode.Decode(&regions); err != nil {
			return fmt.Errorf("repo %s: baseurl: %w", r.Name, err)
		}
		base = regions["default"]
	default:
		return fmt.Errorf("repo %s: line %d: baseurl must be a string or a map of regions", r.Name, baseNode.Line)
	}
	// Pigsty's deb form: "URL suite component…".
	f := strings.Fields(base)
	if len(f) > 1 && r.Suite == "" {
		r.Suite, r.Components = f[1], f[2:]
	}
	if len(f) > 0 {
		r.BaseURL = f[0]
	}
	if relNode != nil {
		if relNode.Kind != yaml.SequenceNode {
			return fmt.Errorf("repo %s: line %d: releases must be a list", r.Name, relNode.Line)
		}
		for _, rel := range relNode.Content {
			r.Releases = append(r.Releases, rel.Value)
		}
	}
	return nil
}

const debianKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// DefaultRepos is the built-in repo_upstream.
//
// The distribution's own sources are listed for completeness; they are
// normally configured on the host already. The trixie source exists only to
// give Debian 12 a Patroni without the etcd3 write-loss bug and is limited
// to Patroni. PGDG is used only where the host already has it configured or
// the user sets enabled: true.
func DefaultRepos() []Repo {
	return []Repo{
		{Name: "base", Description: "Debian Basic", Module: "node", Releases: []string{"12", "13"},
			BaseURL: "http://deb.debian.org/debian", Suite: "${distro_codename}", Components: []string{"main"}, Keyring: debianKeyring},
		{Name: "updates", Description: "Debian Updates", Module: "node", Releases: []string{"12", "13"},
			BaseURL: "http://deb.debian.org/debian", Suite: "${distro_codename}-updates", Components: []string{"main"}, Keyring: debianKeyring},
		{Name: "security", Description: "Debian Security", Module: "node", Releases: []string{"12", "13"},
			BaseURL: "http://deb.debian.org/debian-security", Suite: "${distro_codename}-security", Components: []string{"main"}, Keyring: debianKeyring},
		{Name: "patroni-trixie", Description: "Debian 13 Patroni for Debian 12 (Patroni >= 3.0.3)", Module: "pgsql", Releases: []string{"12"},
			BaseURL: "http://deb.debian.org/debian", Suite: "trixie", Components: []string{"main"}, Keyring: debianKeyring,
			Packages: []string{"patroni", "python3-ydiff"}},
		{Name: "pgdg", Description: "PGDG", Module: "pgsql", Releases: []string{"11", "12", "13", "20", "22", "24"},
			BaseURL: "http://apt.postgresql.org/pub/repos/apt", Suite: "${distro_codename}-pgdg", Components: []string{"main"},
			Keyring: "/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc"},
	}
}
