package inventory

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Member is a host to declare in a cluster's group, as `pigsty pgsql add`
// does it.
type Member struct {
	Cluster string
	IP      string
	Seq     int
	Role    string
}

// AddMember declares m in the hosts of its cluster's group in an
// inventory's text, the way a user would: one entry after the group's last
// host, at its indentation and in its style (`ip: { pg_seq: 3, pg_role:
// replica }` after flow-style hosts, a block after block-style ones).
// Every other byte of the text — comments, order, quoting, blank lines —
// stays as it was. It returns the new text and the line the entry starts
// on. The text must be an inventory that loads; the result is not
// validated here.
func AddMember(file string, src []byte, m Member) ([]byte, int, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, 0, fmt.Errorf("%s: invalid YAML: %w", file, err)
	}
	root := resolve(&doc)
	at := func(n *yaml.Node) Pos { return Pos{File: file, Line: n.Line, Col: n.Column} }
	var all *yaml.Node
	if root != nil && root.Kind == yaml.MappingNode {
		all = lookup(root, "all")
	}
	if all == nil {
		return nil, 0, &Error{Pos: Pos{File: file}, Msg: "missing `all:` group", Allowed: "allowed: an Ansible inventory with a top-level `all:` key"}
	}
	group, path := findGroup(all, "all", m.Cluster)
	if group == nil {
		return nil, 0, &Error{Pos: at(all), Path: "all.children", Msg: fmt.Sprintf("no group %s", m.Cluster),
			Allowed: "allowed: a cluster declared as a group all.children.<pg_cluster> with its hosts"}
	}
	hostsKey, hosts := keyed(group, "hosts")
	path = keyPath(path, "hosts")
	switch {
	case hosts == nil || isNull(hosts):
		return nil, 0, &Error{Pos: at(group), Path: path, Msg: fmt.Sprintf("group %s declares no hosts", m.Cluster),
			Allowed: "allowed: a cluster with its members under hosts:, one per line; add the first by hand"}
	case hosts.Kind != yaml.MappingNode || hosts.Style&yaml.FlowStyle != 0 || len(hosts.Content) == 0:
		return nil, 0, &Error{Pos: at(hosts), Path: path, Msg: fmt.Sprintf("the hosts of %s are written on one line ({…})", m.Cluster),
			Allowed: "allowed: hosts as a block, one host per line (pigsty pgsql add inserts a line); add the host by hand"}
	}
	for i := 0; i+1 < len(hosts.Content); i += 2 {
		if k := hosts.Content[i]; k.Value == m.IP {
			return nil, 0, &Error{Pos: at(k), Path: keyPath(path, m.IP), Msg: fmt.Sprintf("%s is already a host of %s", m.IP, m.Cluster)}
		}
	}
	lastKey, lastVal := hosts.Content[len(hosts.Content)-2], resolve(hosts.Content[len(hosts.Content)-1])
	if lastKey.Line <= hostsKey.Line {
		return nil, 0, &Error{Pos: at(lastKey), Path: path, Msg: "a host written on the line of hosts:",
			Allowed: "allowed: hosts as a block, one host per line; add the host by hand"}
	}

	nl := "\n"
	if bytes.Contains(src, []byte("\r\n")) {
		nl = "\r\n"
	}
	lines := strings.SplitAfter(string(src), "\n")
	indent := lastKey.Column - 1
	end := entryEnd(lines, lastKey.Line-1, indent)
	pad := strings.Repeat(" ", indent)
	key := quoteLike(lastKey, m.IP)
	var add string
	if lastVal != nil && lastVal.Kind == yaml.MappingNode && lastVal.Style&yaml.FlowStyle == 0 && len(lastVal.Content) > 0 {
		inner := strings.Repeat(" ", lastVal.Content[0].Column-1)
		add = pad + key + ":" + nl + inner + "pg_seq: " + strconv.Itoa(m.Seq) + nl + inner + "pg_role: " + m.Role + nl
	} else {
		add = pad + key + ": { pg_seq: " + strconv.Itoa(m.Seq) + ", pg_role: " + m.Role + " }" + nl
	}
	var out strings.Builder
	for i, l := range lines[:end+1] {
		out.WriteString(l)
		if i == end && !strings.HasSuffix(l, "\n") {
			out.WriteString(nl) // the entry was the file's last line
		}
	}
	out.WriteString(add)
	for _, l := range lines[end+1:] {
		out.WriteString(l)
	}
	return []byte(out.String()), end + 2, nil
}

// findGroup finds the group of that name among the children of g, at any
// depth, and its field path.
func findGroup(g *yaml.Node, path, name string) (*yaml.Node, string) {
	children := resolve(lookup(g, "children"))
	if children == nil || children.Kind != yaml.MappingNode {
		return nil, ""
	}
	cpath := keyPath(path, "children")
	for i := 0; i+1 < len(children.Content); i += 2 {
		k, v := children.Content[i], resolve(children.Content[i+1])
		if v == nil || v.Kind != yaml.MappingNode {
			continue
		}
		if k.Value == name {
			return v, keyPath(cpath, name)
		}
		if found, p := findGroup(v, keyPath(cpath, k.Value), name); found != nil {
			return found, p
		}
	}
	return nil, ""
}

// lookup is the value of a key of a mapping, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	_, v := keyed(m, key)
	return resolve(v)
}

// keyed is the key node and value of a key of a mapping, or nils.
func keyed(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], resolve(m.Content[i+1])
		}
	}
	return nil, nil
}

// entryEnd is the index of the last line belonging to the mapping entry
// whose key starts line first at column indent+1: the lines after it that
// are indented deeper (its value, comments about it), up to the first
// line that is not; blank lines between entries belong to what follows.
func entryEnd(lines []string, first, indent int) int {
	end := first
	for i := first + 1; i < len(lines); i++ {
		text := strings.TrimRight(lines[i], "\r\n")
		trimmed := strings.TrimLeft(text, " ")
		if strings.TrimSpace(trimmed) == "" {
			continue
		}
		if len(text)-len(trimmed) <= indent {
			break
		}
		end = i
	}
	return end
}

// quoteLike writes s as a key quoted the way the neighbouring key is.
func quoteLike(neighbour *yaml.Node, s string) string {
	switch {
	case neighbour.Style&yaml.DoubleQuotedStyle != 0:
		return strconv.Quote(s)
	case neighbour.Style&yaml.SingleQuotedStyle != 0:
		return "'" + s + "'"
	}
	return s
}
