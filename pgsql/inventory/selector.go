package inventory

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jmespath/go-jmespath"
)

// Selector is a service's selector or backup expression: JMESPath over the
// list of the cluster's members, each member as its variables (Ansible's
// hostvars), as Pigsty evaluates it — `[]`, or a filter such as
// [? pg_role == `replica` && !pg_offline_query ]. A member is selected
// when the expression's result holds it.
type Selector struct {
	src string
	jp  *jmespath.JMESPath
}

// ParseSelector compiles a selector; "" means no selection.
func ParseSelector(src string) (*Selector, error) {
	s := strings.TrimSpace(src)
	if s == "" {
		return nil, nil
	}
	jp, err := jmespath.Compile(legacyLiterals(s))
	if err != nil {
		return nil, fmt.Errorf("invalid JMESPath selector: %v", err)
	}
	return &Selector{src: src, jp: jp}, nil
}

func (s *Selector) String() string { return s.src }

// Select returns which of the members (by their variables) the selector
// picks.
func (s *Selector) Select(members []map[string]any) ([]bool, error) {
	picked := make([]bool, len(members))
	if s == nil {
		return picked, nil
	}
	res, err := s.jp.Search(members)
	if err != nil {
		return nil, fmt.Errorf("selector %s: %v", s.src, err)
	}
	list, ok := res.([]any)
	if !ok {
		return nil, fmt.Errorf("selector %s: the result is not a list of members", s.src)
	}
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		for n, member := range members {
			if member["inventory_hostname"] == m["inventory_hostname"] {
				picked[n] = true
			}
		}
	}
	return picked, nil
}

// legacyLiterals quotes backtick literals that are not JSON, such as
// `primary` in Pigsty's default selectors: the JMESPath specification's
// legacy form, which Python's jmespath (what Pigsty runs) reads as a
// string, and go-jmespath does not.
func legacyLiterals(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i+1:], '`')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		lit := s[i+1 : i+1+j]
		b.WriteString(s[:i+1])
		if json.Valid([]byte(lit)) {
			b.WriteString(lit)
		} else {
			q, _ := json.Marshal(strings.TrimSpace(lit))
			b.Write(q)
		}
		b.WriteByte('`')
		s = s[i+j+2:]
	}
}

// jsonVars turns typed variables into the plain JSON values JMESPath
// compares: numbers, strings, booleans, lists and objects.
func jsonVars(v map[string]any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(b, &out)
}
