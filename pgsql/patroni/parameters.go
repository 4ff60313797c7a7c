package patroni

import (
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"pigsty/pgsql/layout"
	"pigsty/pgsql/tune"
)

// parameters is a postgresql.parameters mapping. Every value is written as
// a YAML string (quoted where a YAML reader would take it for something
// else, see quoteForPyYAML), because PostgreSQL parses the text itself.
type parameters []tune.Param

func (ps parameters) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, p := range ps {
		n.Content = append(n.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.Name},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.Value})
	}
	return n, nil
}

// hostPaths are the parameters that name files of the host. They are
// resolved from the Layout and written to the member's local parameters,
// which Patroni lets override the DCS: the DCS is shared by the cluster,
// and hosts of the multi-host harness keep their trees under different
// roots. Pigsty writes them to the DCS, with the same values on every host.
var hostPaths = map[string]func(l layout.Layout) string{
	"ssl_cert_file":          func(l layout.Layout) string { return filepath.Join(l.Cert(), "server.crt") },
	"ssl_key_file":           func(l layout.Layout) string { return filepath.Join(l.Cert(), "server.key") },
	"ssl_ca_file":            func(l layout.Layout) string { return filepath.Join(l.Cert(), "ca.crt") },
	"log_directory":          func(l layout.Layout) string { return l.PostgresLog() },
	"pgsodium.getkey_script": func(l layout.Layout) string { return filepath.Join(l.Bin(), "pgsodium_getkey") },
}

// splitParameters divides the template's parameters into the cluster-wide
// set for bootstrap.dcs and the member's own set. unix_socket_directories
// becomes the layout's socket directory alone: Patroni connects through the
// first entry, and /tmp would be shared by every host of the harness.
func splitParameters(r tune.Result, l layout.Layout) (dcs, local parameters) {
	for _, p := range r.Params {
		if path, ok := hostPaths[p.Name]; ok {
			local = append(local, tune.Param{Name: p.Name, Value: path(l)})
			continue
		}
		dcs = append(dcs, p)
	}
	for _, p := range r.LocalParams {
		if p.Name == "unix_socket_directories" {
			p.Value = l.Socket()
		}
		local = append(local, p)
	}
	if !slices.ContainsFunc(local, func(p tune.Param) bool { return p.Name == "unix_socket_directories" }) {
		local = append(local, tune.Param{Name: "unix_socket_directories", Value: l.Socket()})
	}
	slices.SortFunc(local, func(a, b tune.Param) int { return strings.Compare(a.Name, b.Name) })
	return dcs, local
}
