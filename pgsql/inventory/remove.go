package inventory

// Remove takes instances out of the inventory, as `pigsty pgsql rm`
// leaves them: their hosts are instances no more, and the services of the
// remaining members of their clusters route to those members only. A
// cluster left without members is dropped.
func (inv *Inventory) Remove(instances ...string) {
	if len(instances) == 0 {
		return
	}
	gone := map[string]bool{}
	for _, ins := range instances {
		gone[ins] = true
	}
	clusters := inv.Clusters[:0]
	for _, c := range inv.Clusters {
		kept := make([]*Instance, 0, len(c.Instances))
		for _, i := range c.Instances {
			if gone[i.Name] {
				i.Host.Instance = nil
				continue
			}
			kept = append(kept, i)
		}
		if len(kept) == 0 {
			continue
		}
		if len(kept) < len(c.Instances) {
			c.Instances = kept
			for _, i := range kept {
				i.Services = resolveServices(i, c)
			}
		}
		clusters = append(clusters, c)
	}
	inv.Clusters = clusters
}

// ProvidedServices are the services this host's HAProxy serves for
// clusters that delegate them to a group it belongs to
// (pg_service_provider), as the clusters' primaries define them.
func (inv *Inventory) ProvidedServices(h *Host) []ServiceEndpoint {
	var out []ServiceEndpoint
	for _, c := range inv.Clusters {
		p := c.Primary()
		if p == nil {
			p = c.Instances[0]
		}
		if g := p.Params.PgServiceProvider; g != "" && contains(h.Groups, g) {
			out = append(out, p.Services...)
		}
	}
	return out
}
