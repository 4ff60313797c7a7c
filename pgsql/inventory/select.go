package inventory

import (
	"fmt"
	"strings"
)

// Select returns the instances a selector names, as Pigsty's -l limits
// do: a cluster name, an instance name (<cls>-<seq>) or a host IP, or
// several of those separated by commas.
func (inv *Inventory) Select(selector string) ([]*Instance, error) {
	var out []*Instance
	seen := map[*Instance]bool{}
	for _, s := range strings.Split(selector, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		found := inv.selectOne(s)
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no cluster, instance or host %q in the inventory%s", inv.File, s, inv.hint(s))
		}
		for _, i := range found {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty selector")
	}
	return out, nil
}

func (inv *Inventory) selectOne(s string) []*Instance {
	if c := inv.Cluster(s); c != nil {
		return c.Instances
	}
	for _, i := range inv.Instances() {
		if i.Name == s || i.IP == s {
			return []*Instance{i}
		}
	}
	return nil
}

func (inv *Inventory) hint(s string) string {
	var names []string
	for _, c := range inv.Clusters {
		names = append(names, c.Name)
		for _, i := range c.Instances {
			names = append(names, i.Name)
		}
	}
	if m := suggest(s, names); m != "" {
		return fmt.Sprintf("; did you mean %q?", m)
	}
	return ""
}
