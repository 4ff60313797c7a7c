package inventory

import (
	"net/netip"
	"reflect"
	"sort"

	"gopkg.in/yaml.v3"
)

// identityKeys mark a host as a PostgreSQL instance.
var identityKeys = []string{"pg_cluster", "pg_seq", "pg_role"}

func (p *parser) build(d *decoder, top *group, extra layer) *Inventory {
	defs, err := defaults()
	if err != nil {
		p.c.errorf(Origin{Pos: Pos{File: "(defaults)"}}, "", "", "%v", err)
		return nil
	}
	inv := &Inventory{File: p.file}
	for _, g := range p.groups {
		if g != top {
			inv.Groups = append(inv.Groups, g.name)
		}
	}
	// Group vars are decoded once even when no host uses them, so a typo in
	// an empty group is still reported.
	for _, g := range p.groups {
		if len(g.hostVars) == 0 {
			p.decodeParams(g.vars)
		}
	}
	for _, ip := range p.hosts {
		merged := layer{}
		for k, e := range defs {
			merged[k] = e
		}
		chain := p.chain(ip)
		h := &Host{IP: ip}
		for _, g := range chain {
			for k, e := range g.vars {
				merged[k] = e
			}
		}
		for _, g := range p.groups {
			if hv, ok := g.hostVars[ip]; ok {
				if g != top {
					h.Groups = append(h.Groups, g.name)
				}
				if h.listed.Path == "" {
					h.listed = g.hostPos[ip]
				}
				for k, e := range hv {
					merged[k] = e
				}
			}
		}
		p.claims(ip, chain)
		for k, e := range extra {
			merged[k] = e
		}
		h.Params, h.sources = p.decodeParams(merged)
		h.Infra = contains(h.Groups, "infra")
		h.Etcd = contains(h.Groups, "etcd")
		if isInstance(merged) {
			h.Instance = p.newInstance(h, merged)
		}
		inv.Hosts = append(inv.Hosts, h)
	}
	p.clusters(inv)
	v := &validator{c: p.c, inv: inv}
	v.run()
	if len(p.c.list.Problems()) == 0 {
		v.effective()
	}
	return inv
}

func isInstance(merged layer) bool {
	for _, k := range identityKeys {
		if e, ok := merged[k]; ok && e.file != "(defaults)" {
			return true
		}
	}
	return false
}

// decodeParams decodes a merged layer into Params, remembering where each
// value came from.
func (p *parser) decodeParams(l layer) (*Params, map[string]Origin) {
	params := &Params{}
	sources := make(map[string]Origin, len(l))
	v := reflect.ValueOf(params).Elem()
	si := fieldsOf(paramsType)
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := l[k]
		idx, ok := si.byName[k]
		if !ok {
			continue
		}
		d := &decoder{c: p.c, file: e.file}
		f := v.Field(idx)
		f.Set(reflect.Zero(f.Type()))
		d.decode(e.node, f, e.path, paramsType.Field(idx).Tag)
		sources[k] = d.origin(resolve(e.node), e.path)
	}
	return params, sources
}

func (p *parser) newInstance(h *Host, merged layer) *Instance {
	pp := h.Params
	return &Instance{
		Name:    pp.PgCluster + "-" + itoa(pp.PgSeq),
		Cluster: pp.PgCluster,
		Seq:     pp.PgSeq,
		Role:    pp.PgRole,
		IP:      h.IP,
		Host:    h,
		Params:  pp,
	}
}

func (p *parser) clusters(inv *Inventory) {
	byName := map[string]*Cluster{}
	for _, h := range inv.Hosts {
		i := h.Instance
		if i == nil || i.Cluster == "" {
			continue
		}
		c := byName[i.Cluster]
		if c == nil {
			c = &Cluster{Name: i.Cluster}
			byName[i.Cluster] = c
			inv.Clusters = append(inv.Clusters, c)
		}
		c.Instances = append(c.Instances, i)
		i.cluster = c
		i.inv = inv
	}
	sort.Slice(inv.Clusters, func(a, b int) bool { return inv.Clusters[a].Name < inv.Clusters[b].Name })
	for _, c := range inv.Clusters {
		sort.SliceStable(c.Instances, func(a, b int) bool { return c.Instances[a].Seq < c.Instances[b].Seq })
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func ipLess(a, b string) bool {
	x, err1 := netip.ParseAddr(a)
	y, err2 := netip.ParseAddr(b)
	if err1 != nil || err2 != nil {
		return a < b
	}
	return x.Less(y)
}

// claims reports a host that the groups of two different clusters both
// list: the merge would silently make it a member of only one of them.
func (p *parser) claims(ip string, chain []*group) {
	type claim struct {
		cls string
		e   entry
	}
	var found []claim
	note := func(l layer) {
		if e, ok := l["pg_cluster"]; ok {
			if n := resolve(e.node); n != nil && n.Kind == yaml.ScalarNode {
				found = append(found, claim{n.Value, e})
			}
		}
	}
	for _, g := range chain {
		note(g.vars)
	}
	for _, g := range p.groups {
		if hv, ok := g.hostVars[ip]; ok {
			note(hv)
		}
	}
	for _, c := range found[min(1, len(found)):] {
		if c.cls != found[0].cls {
			n := resolve(c.e.node)
			p.c.errorf(Origin{Pos: Pos{File: c.e.file, Line: n.Line, Col: n.Column}, Path: c.e.path}, quote(c.cls),
				"allowed: one PostgreSQL cluster per host",
				"host %s is also a member of cluster %s (%s:%d)", ip, found[0].cls, found[0].e.file, resolve(found[0].e.node).Line)
		}
	}
}
