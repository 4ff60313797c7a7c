package inventory

import (
	_ "embed"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed defaults.yml
var defaultsYAML []byte

// DefaultsYAML returns the parameter defaults, for `pigsty config defaults`.
func DefaultsYAML() []byte { return defaultsYAML }

// entry is one parameter value as written somewhere: the node, the file it
// came from and its field path there.
type entry struct {
	node *yaml.Node
	file string
	path string
}

type layer map[string]entry

// group is an Ansible group: its own vars and hosts, and its children.
type group struct {
	name     string
	depth    int
	parent   *group
	vars     layer
	hostVars map[string]layer // ip → vars written under this group
	hostPos  map[string]Origin
	origin   Origin
}

var (
	defaultsOnce  sync.Once
	defaultsLayer layer
	defaultsErr   error
)

func defaults() (layer, error) {
	defaultsOnce.Do(func() {
		var doc yaml.Node
		if err := yaml.Unmarshal(defaultsYAML, &doc); err != nil {
			defaultsErr = fmt.Errorf("parse builtin defaults: %w", err)
			return
		}
		defaultsLayer = layer{}
		root := resolve(&doc)
		for i := 0; i+1 < len(root.Content); i += 2 {
			k := root.Content[i].Value
			defaultsLayer[k] = entry{node: root.Content[i+1], file: "(defaults)", path: k}
		}
	})
	return defaultsLayer, defaultsErr
}

// Load reads, merges and validates an inventory file. extra holds Pigsty's
// extra vars (-e k=v, -e '{json}', -e @file.yml). The error, if any, is an
// Errors listing every problem found.
func Load(path string, extra []string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	return Parse(path, data, extra)
}

// Parse is Load for an inventory already in memory; name is used in
// positions.
func Parse(name string, data []byte, extra []string) (*Inventory, error) {
	c := &collector{}
	p := &parser{c: c, file: name}
	inv := p.parse(data, extra)
	errs := c.sorted()
	if inv != nil {
		inv.Warnings = errs.Warnings()
	}
	if problems := errs.Problems(); len(problems) > 0 {
		return nil, problems
	}
	return inv, nil
}

type parser struct {
	c      *collector
	file   string
	groups []*group
	hosts  []string // in order of first appearance
	seen   map[string]bool
}

var reYAMLLine = regexp.MustCompile(`line (\d+)`)

func (p *parser) parse(data []byte, extra []string) *Inventory {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		if m := reYAMLLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = reYAMLLine.ReplaceAllString(msg, "")
		msg = strings.TrimLeft(msg, ": ")
		p.c.errorf(Origin{Pos: Pos{File: p.file, Line: line, Col: 1}}, "", "", "invalid YAML: %s", msg)
		return nil
	}
	root := resolve(&doc)
	if root == nil || root.Kind != yaml.MappingNode {
		p.c.errorf(Origin{Pos: Pos{File: p.file, Line: 1, Col: 1}}, "", "allowed: an Ansible inventory with a top-level `all:` key", "not an inventory")
		return nil
	}
	d := &decoder{c: p.c, file: p.file}
	var all *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if k.Value == "all" {
			all = resolve(root.Content[i+1])
			continue
		}
		d.unknownKey(k, "", k.Value, []string{"all"})
	}
	if all == nil || all.Kind != yaml.MappingNode {
		p.c.errorf(Origin{Pos: Pos{File: p.file, Line: root.Line, Col: root.Column}}, "", "allowed: all: {vars: …, children: …}", "missing `all:` group")
		return nil
	}
	p.seen = map[string]bool{}
	top := p.group(d, "all", all, "all", 0, nil)
	extraLayer := p.extraVars(extra)
	return p.build(d, top, extraLayer)
}

// group reads one Ansible group and, recursively, its children.
func (p *parser) group(d *decoder, name string, n *yaml.Node, path string, depth int, parent *group) *group {
	g := &group{name: name, depth: depth, parent: parent, vars: layer{}, hostVars: map[string]layer{},
		hostPos: map[string]Origin{}, origin: d.origin(n, path)}
	p.groups = append(p.groups, g)
	n = resolve(n)
	if isNull(n) {
		return g
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "allowed: {hosts: …, vars: …, children: …}", "a group must be an object")
		return g
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		kpath := keyPath(path, k.Value)
		switch k.Value {
		case "vars":
			g.vars = p.vars(d, v, kpath)
		case "hosts":
			p.groupHosts(d, g, v, kpath)
		case "children":
			if isNull(v) {
				continue
			}
			if v.Kind != yaml.MappingNode {
				d.fail(v, kpath, "allowed: {<group name>: {hosts: …, vars: …}}", "children must be an object")
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				gk := v.Content[j]
				if !reGroupName.MatchString(gk.Value) {
					d.fail(gk, keyPath(kpath, gk.Value), "allowed: letters, digits, - and _", "invalid group name")
					continue
				}
				p.group(d, gk.Value, v.Content[j+1], keyPath(kpath, gk.Value), depth+1, g)
			}
		default:
			d.unknownKey(k, path, k.Value, []string{"children", "hosts", "vars"})
		}
	}
	return g
}

var reGroupName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func (p *parser) groupHosts(d *decoder, g *group, n *yaml.Node, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "allowed: {<ip>: {host vars…}}", "hosts must be an object keyed by IP address")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		hpath := keyPath(path, k.Value)
		a, err := netip.ParseAddr(k.Value)
		if err != nil || !a.Is4() {
			d.fail(k, hpath, "allowed: an IPv4 address such as 10.10.10.11 (Pigsty names hosts by IP)", "invalid host")
			continue
		}
		ip := a.String()
		if _, dup := g.hostVars[ip]; dup {
			d.fail(k, hpath, "", "host %s is listed twice in group %s (first at %s)", ip, g.name, g.hostPos[ip].Pos)
			continue
		}
		g.hostPos[ip] = d.origin(k, hpath)
		g.hostVars[ip] = p.vars(d, v, hpath)
		if !p.seen[ip] {
			p.seen[ip] = true
			p.hosts = append(p.hosts, ip)
		}
	}
}

// vars reads a vars mapping, reporting keys that are neither a parameter
// nor a known parameter of a module pigsty does not run.
func (p *parser) vars(d *decoder, n *yaml.Node, path string) layer {
	l := layer{}
	if isNull(n) {
		return l
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "allowed: {<parameter>: <value>, …}", "vars must be an object")
		return l
	}
	known := fieldsOf(paramsType)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if _, ok := known.byName[k.Value]; !ok {
			if s := suggest(k.Value, known.names); s != "" || !foreign(k.Value) {
				d.unknownKey(k, path, k.Value, known.names)
			}
			continue
		}
		l[k.Value] = entry{node: n.Content[i+1], file: d.file, path: keyPath(path, k.Value)}
	}
	return l
}

// chain returns the groups a host belongs to, ordered as Ansible merges
// their vars: by depth, then by name, the later one winning.
func (p *parser) chain(ip string) []*group {
	member := map[*group]bool{}
	for _, g := range p.groups {
		if _, ok := g.hostVars[ip]; ok {
			for a := g; a != nil; a = a.parent {
				member[a] = true
			}
		}
	}
	var out []*group
	for _, g := range p.groups {
		if member[g] {
			out = append(out, g)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].depth != out[j].depth {
			return out[i].depth < out[j].depth
		}
		return out[i].name < out[j].name
	})
	return out
}
