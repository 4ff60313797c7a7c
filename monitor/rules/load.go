package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/VictoriaMetrics/metricsql"
	"gopkg.in/yaml.v3"
)

// Load reads the rule files shipped (every *.yml of fsys) and those of
// dir: a file of dir replaces the shipped file of the same name, others
// are added. A missing dir is no error. Files are read in name order and
// every problem of every file is reported.
func Load(shipped fs.FS, dir string) ([]Group, error) {
	files := map[string][]byte{}
	names := map[string]string{} // base name → name in messages
	entries, err := fs.ReadDir(shipped, ".")
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".yml" {
			continue
		}
		b, err := fs.ReadFile(shipped, e.Name())
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		files[e.Name()], names[e.Name()] = b, e.Name()
	}
	if dir != "" {
		local, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("rules: %w", err)
		}
		for _, e := range local {
			ext := filepath.Ext(e.Name())
			if e.IsDir() || ext != ".yml" && ext != ".yaml" {
				continue
			}
			p := filepath.Join(dir, e.Name())
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("rules: %w", err)
			}
			base := strings.TrimSuffix(e.Name(), ext) + ".yml"
			files[base], names[base] = b, p
		}
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	})
	var groups []Group
	var errs []error
	seen := map[string]string{}
	for _, k := range keys {
		gs, err := Parse(names[k], files[k])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, g := range gs {
			if other, dup := seen[g.Name]; dup {
				errs = append(errs, fmt.Errorf("%s: group %q is also defined in %s", names[k], g.Name, other))
				continue
			}
			seen[g.Name] = names[k]
			groups = append(groups, g)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return groups, nil
}

// Parse reads one rule file; name is used in messages.
func Parse(name string, data []byte) ([]Group, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &parser{file: name}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	var groups []Group
	p.mapping(root, "", map[string]func(*yaml.Node){
		"groups": func(n *yaml.Node) {
			p.sequence(n, "groups", func(i int, g *yaml.Node) {
				if grp, ok := p.group(g, fmt.Sprintf("groups[%d]", i)); ok {
					groups = append(groups, grp)
				}
			})
		},
	})
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	names := map[string]bool{}
	for _, g := range groups {
		if names[g.Name] {
			return nil, fmt.Errorf("%s: group %q is defined twice", name, g.Name)
		}
		names[g.Name] = true
	}
	return groups, nil
}

type parser struct {
	file string
	errs []error
}

func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	p.errs = append(p.errs, fmt.Errorf("%s:%d:%d: %s", p.file, n.Line, n.Column, msg))
}

// mapping calls the handler of each key of n; unknown keys are errors.
func (p *parser) mapping(n *yaml.Node, field string, keys map[string]func(*yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "want a mapping")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		h, ok := keys[k.Value]
		if !ok {
			allowed := slices.Sorted(func(yield func(string) bool) {
				for k := range keys {
					if !yield(k) {
						return
					}
				}
			})
			p.errorf(k, join(field, k.Value), "unknown field; allowed: %s", strings.Join(allowed, ", "))
			continue
		}
		h(v)
	}
}

func (p *parser) sequence(n *yaml.Node, field string, each func(int, *yaml.Node)) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "want a list")
		return
	}
	for i, c := range n.Content {
		each(i, c)
	}
}

func (p *parser) scalar(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, field, "want a string")
		return "", false
	}
	return n.Value, true
}

func (p *parser) duration(n *yaml.Node, field string) time.Duration {
	s, ok := p.scalar(n, field)
	if !ok {
		return 0
	}
	ms, err := metricsql.PositiveDurationValue(s, 0)
	if err != nil || strings.ContainsAny(s, "i") {
		p.errorf(n, field, "%q is not a duration; allowed: e.g. 30s, 1m, 1h30m", s)
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

func (p *parser) labels(n *yaml.Node, field string) map[string]string {
	out := map[string]string{}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "want a mapping of names to values")
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !labelNameRE.MatchString(k.Value) {
			p.errorf(k, join(field, k.Value), "not a label name; allowed: letters, digits and _")
			continue
		}
		if s, ok := p.scalar(v, join(field, k.Value)); ok {
			out[k.Value] = s
		}
	}
	return out
}

func (p *parser) group(n *yaml.Node, field string) (Group, bool) {
	g := Group{File: p.file}
	var rules *yaml.Node
	before := len(p.errs)
	p.mapping(n, field, map[string]func(*yaml.Node){
		"name":     func(v *yaml.Node) { g.Name, _ = p.scalar(v, join(field, "name")) },
		"interval": func(v *yaml.Node) { g.Interval = p.duration(v, join(field, "interval")) },
		"rules":    func(v *yaml.Node) { rules = v },
	})
	if g.Name == "" && len(p.errs) == before {
		p.errorf(n, field, "a group needs a name")
	}
	if rules != nil {
		p.sequence(rules, join(field, "rules"), func(i int, r *yaml.Node) {
			if rule, ok := p.rule(r, fmt.Sprintf("%s.rules[%d]", field, i)); ok {
				g.Rules = append(g.Rules, rule)
			}
		})
	}
	return g, len(p.errs) == before
}

func (p *parser) rule(n *yaml.Node, field string) (*Rule, bool) {
	r := &Rule{Pos: p.file + ":" + strconv.Itoa(n.Line), Labels: map[string]string{}, Annotations: map[string]string{}}
	before := len(p.errs)
	var exprNode, forNode *yaml.Node
	p.mapping(n, field, map[string]func(*yaml.Node){
		"record":      func(v *yaml.Node) { r.Record, _ = p.scalar(v, join(field, "record")) },
		"alert":       func(v *yaml.Node) { r.Alert, _ = p.scalar(v, join(field, "alert")) },
		"expr":        func(v *yaml.Node) { exprNode = v; r.Expr, _ = p.scalar(v, join(field, "expr")) },
		"for":         func(v *yaml.Node) { forNode = v; r.For = p.duration(v, join(field, "for")) },
		"labels":      func(v *yaml.Node) { r.Labels = p.labels(v, join(field, "labels")) },
		"annotations": func(v *yaml.Node) { r.Annotations = p.labels(v, join(field, "annotations")) },
	})
	if len(p.errs) > before {
		return nil, false
	}
	switch {
	case (r.Record == "") == (r.Alert == ""):
		p.errorf(n, field, "a rule needs either record or alert")
	case r.Record != "" && !metricNameRE.MatchString(r.Record):
		p.errorf(n, join(field, "record"), "%q is not a metric name; allowed: letters, digits, _ and :", r.Record)
	case r.Record != "" && (forNode != nil || len(r.Annotations) > 0):
		p.errorf(n, field, "a recording rule has no for or annotations")
	}
	r.Expr = strings.TrimSpace(r.Expr)
	if exprNode == nil || r.Expr == "" {
		p.errorf(n, join(field, "expr"), "a rule needs an expression")
	} else if _, err := metricsql.Parse(r.Expr); err != nil {
		p.errorf(exprNode, join(field, "expr"), "%v", err)
	}
	if r.IsAlert() {
		r.labels = p.templates(n, join(field, "labels"), r.Labels)
		r.annotations = p.templates(n, join(field, "annotations"), r.Annotations)
	}
	return r, len(p.errs) == before
}

func (p *parser) templates(n *yaml.Node, field string, texts map[string]string) map[string]*template.Template {
	out := make(map[string]*template.Template, len(texts))
	for k, text := range texts {
		t, err := parseTemplate(k, text)
		if err != nil {
			p.errorf(n, join(field, k), "%v", err)
			continue
		}
		out[k] = t
	}
	return out
}

func join(field, name string) string {
	if field == "" {
		return name
	}
	return field + "." + name
}
