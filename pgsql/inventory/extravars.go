package inventory

import (
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// extraVars reads Pigsty's -e arguments: `k=v [k2=v2 …]`, an inline YAML
// or JSON object, or @file.yml. Values of k=v are read as YAML scalars, so
// -e pg_safeguard=false is a boolean.
func (p *parser) extraVars(args []string) layer {
	l := layer{}
	known := fieldsOf(paramsType)
	for _, arg := range args {
		src := "-e " + arg
		var n *yaml.Node
		switch {
		case strings.HasPrefix(arg, "@"):
			data, err := os.ReadFile(arg[1:])
			if err != nil {
				p.c.errorf(Origin{Pos: Pos{File: src}}, "", "", "cannot read extra vars file: %v", err)
				continue
			}
			src = arg[1:]
			n = p.parseObject(src, data)
		case strings.HasPrefix(strings.TrimSpace(arg), "{"):
			n = p.parseObject(src, []byte(arg))
		default:
			n = p.parsePairs(src, arg)
		}
		if n == nil {
			continue
		}
		d := &decoder{c: p.c, file: src}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if _, ok := known.byName[k.Value]; !ok {
				if s := suggest(k.Value, known.names); s != "" || !foreign(k.Value) {
					d.unknownKey(k, "", k.Value, known.names)
				}
				continue
			}
			l[k.Value] = entry{node: n.Content[i+1], file: src, path: k.Value}
		}
	}
	return l
}

func (p *parser) parseObject(src string, data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.c.errorf(Origin{Pos: Pos{File: src}}, "", "allowed: k=v, a YAML/JSON object, or @file.yml", "invalid extra vars: %v", err)
		return nil
	}
	n := resolve(&doc)
	if n == nil || n.Kind != yaml.MappingNode {
		p.c.errorf(Origin{Pos: Pos{File: src}}, "", "allowed: k=v, a YAML/JSON object, or @file.yml", "extra vars must be an object")
		return nil
	}
	return n
}

func (p *parser) parsePairs(src, arg string) *yaml.Node {
	out := &yaml.Node{Kind: yaml.MappingNode}
	for _, kv := range strings.Fields(arg) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			p.c.errorf(Origin{Pos: Pos{File: src}}, quote(kv), "allowed: key=value", "invalid extra var")
			continue
		}
		var val yaml.Node
		if err := yaml.Unmarshal([]byte(v), &val); err != nil || resolve(&val) == nil {
			val = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
		}
		vn := resolve(&val)
		if vn.Kind == 0 {
			vn = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
		}
		out.Content = append(out.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, vn)
	}
	return out
}
