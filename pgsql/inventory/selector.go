package inventory

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"
)

// Selector is a service selector or backup expression: the subset of
// JMESPath that Pigsty's service definitions use, a filter projection over
// the cluster's members such as
//
//	[]   [*]   [? pg_role == `replica` && !pg_offline_query ]
//
// with ==, !=, <, <=, >, >=, &&, ||, !, parentheses, member fields,
// `json` literals and 'raw string' literals.
type Selector struct {
	src  string
	expr expr // nil selects every member
}

// ParseSelector parses a selector; "" means no selection.
func ParseSelector(src string) (*Selector, error) {
	s := strings.TrimSpace(src)
	if s == "" {
		return nil, nil
	}
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, fmt.Errorf("selector must be a JMESPath filter such as [] or [? pg_role == `replica`]")
	}
	body := strings.TrimSpace(s[1 : len(s)-1])
	if body == "" || body == "*" {
		return &Selector{src: src}, nil
	}
	if !strings.HasPrefix(body, "?") {
		return nil, fmt.Errorf("selector must be [] or a filter [? …]")
	}
	p := &selParser{toks: nil}
	if err := p.lex(body[1:]); err != nil {
		return nil, err
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q in selector", p.toks[p.pos].text)
	}
	return &Selector{src: src, expr: e}, nil
}

func (s *Selector) String() string { return s.src }

// Match reports whether a member, given as its parameters by name, is
// selected.
func (s *Selector) Match(member map[string]any) bool {
	if s == nil {
		return false
	}
	if s.expr == nil {
		return true
	}
	return truthy(s.expr.eval(member))
}

type expr interface{ eval(map[string]any) any }

type (
	field   string
	literal struct{ v any }
	not     struct{ e expr }
	and     struct{ l, r expr }
	or      struct{ l, r expr }
	compare struct {
		op   string
		l, r expr
	}
)

func (f field) eval(m map[string]any) any { return m[string(f)] }
func (l literal) eval(map[string]any) any { return l.v }
func (n not) eval(m map[string]any) any   { return !truthy(n.e.eval(m)) }
func (a and) eval(m map[string]any) any {
	l := a.l.eval(m)
	if !truthy(l) {
		return l
	}
	return a.r.eval(m)
}
func (o or) eval(m map[string]any) any {
	l := o.l.eval(m)
	if truthy(l) {
		return l
	}
	return o.r.eval(m)
}

func (c compare) eval(m map[string]any) any {
	l, r := norm(c.l.eval(m)), norm(c.r.eval(m))
	switch c.op {
	case "==":
		return reflect.DeepEqual(l, r)
	case "!=":
		return !reflect.DeepEqual(l, r)
	}
	lf, lok := l.(float64)
	rf, rok := r.(float64)
	if !lok || !rok {
		return nil
	}
	switch c.op {
	case "<":
		return lf < rf
	case "<=":
		return lf <= rf
	case ">":
		return lf > rf
	default:
		return lf >= rf
	}
}

// norm makes values comparable the way JSON sees them.
func norm(v any) any {
	switch t := v.(type) {
	case int:
		return float64(t)
	case int64:
		return float64(t)
	case Scalar:
		return string(t)
	}
	return v
}

// truthy follows JMESPath: false, null, "", empty lists and objects are false.
func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	rv := reflect.ValueOf(v)
	if (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map) && rv.Len() == 0 {
		return false
	}
	return true
}

type token struct {
	kind string // ident, lit, op
	text string
	val  any
}

type selParser struct {
	toks []token
	pos  int
}

func (p *selParser) lex(s string) error {
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '`':
			j := i + 1
			for j < len(rs) && rs[j] != '`' {
				j++
			}
			if j >= len(rs) {
				return fmt.Errorf("unterminated `literal` in selector")
			}
			var v any
			if err := json.Unmarshal([]byte(string(rs[i+1:j])), &v); err != nil {
				// JMESPath's legacy form lets a bare word stand for a string.
				v = string(rs[i+1 : j])
			}
			p.toks = append(p.toks, token{kind: "lit", text: string(rs[i : j+1]), val: v})
			i = j + 1
		case r == '\'':
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j >= len(rs) {
				return fmt.Errorf("unterminated 'string' in selector")
			}
			p.toks = append(p.toks, token{kind: "lit", text: string(rs[i : j+1]), val: string(rs[i+1 : j])})
			i = j + 1
		case unicode.IsLetter(r) || r == '_':
			j := i
			for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || rs[j] == '_') {
				j++
			}
			p.toks = append(p.toks, token{kind: "ident", text: string(rs[i:j])})
			i = j
		default:
			op := ""
			for _, cand := range []string{"==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")"} {
				if strings.HasPrefix(string(rs[i:]), cand) {
					op = cand
					break
				}
			}
			if op == "" {
				return fmt.Errorf("unexpected %q in selector", string(r))
			}
			p.toks = append(p.toks, token{kind: "op", text: op})
			i += len([]rune(op))
		}
	}
	return nil
}

func (p *selParser) peek(op string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == "op" && p.toks[p.pos].text == op
}

func (p *selParser) or() (expr, error) {
	l, err := p.and()
	for err == nil && p.peek("||") {
		p.pos++
		var r expr
		if r, err = p.and(); err == nil {
			l = or{l, r}
		}
	}
	return l, err
}

func (p *selParser) and() (expr, error) {
	l, err := p.unary()
	for err == nil && p.peek("&&") {
		p.pos++
		var r expr
		if r, err = p.unary(); err == nil {
			l = and{l, r}
		}
	}
	return l, err
}

func (p *selParser) unary() (expr, error) {
	if p.peek("!") {
		p.pos++
		e, err := p.unary()
		return not{e}, err
	}
	l, err := p.primary()
	if err != nil {
		return nil, err
	}
	for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		if p.peek(op) {
			p.pos++
			r, err := p.primary()
			if err != nil {
				return nil, err
			}
			return compare{op, l, r}, nil
		}
	}
	return l, nil
}

func (p *selParser) primary() (expr, error) {
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("selector ends too early")
	}
	t := p.toks[p.pos]
	p.pos++
	switch {
	case t.kind == "ident":
		return field(t.text), nil
	case t.kind == "lit":
		return literal{norm(t.val)}, nil
	case t.kind == "op" && t.text == "(":
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.peek(")") {
			return nil, fmt.Errorf("missing ) in selector")
		}
		p.pos++
		return e, nil
	}
	return nil, fmt.Errorf("unexpected %q in selector", t.text)
}
