package inventory

import (
	"sort"
	"strconv"
	"strings"
)

// effective fills every instance's effective configuration. It runs only
// on an inventory that validated, so it does not report problems.
func (v *validator) effective() {
	for _, c := range v.inv.Clusters {
		for _, i := range c.Instances {
			p := i.Params
			i.Labels = map[string]string{"cls": i.Cluster, "ins": i.Name, "ip": i.IP}
			i.Users = effectiveUsers(p)
			i.Databases = p.PgDatabases
			i.HBA = resolveHBA(p, append(append([]HBARule(nil), p.PgDefaultHbaRules...), p.PgHbaRules...))
			i.PgbHBA = resolveHBA(p, append(append([]HBARule(nil), p.PgbDefaultHbaRules...), p.PgbHbaRules...))
			i.Services = resolveServices(i, c)
		}
	}
}

// effectiveUsers is pg_default_roles followed by pg_users. A pg_users entry
// named like a default role replaces it in place; the system users get
// their passwords from the credential parameters unless given one.
func effectiveUsers(p *Params) []User {
	var out []User
	index := map[string]int{}
	for _, u := range append(append([]User(nil), p.PgDefaultRoles...), p.PgUsers...) {
		if u.SearchPath != "" {
			params := map[string]Scalar{"search_path": Scalar(u.SearchPath)}
			for k, val := range u.Parameters {
				params[k] = val
			}
			u.Parameters, u.SearchPath = params, ""
		}
		if at, ok := index[u.Name]; ok {
			out[at] = u
			continue
		}
		index[u.Name] = len(out)
		out = append(out, u)
	}
	passwords := map[string]string{
		p.PgReplicationUsername: p.PgReplicationPassword,
		p.PgAdminUsername:       p.PgAdminPassword,
		p.PgMonitorUsername:     p.PgMonitorPassword,
	}
	if p.PgDbsuPassword != "" {
		passwords[p.PgDbsu] = p.PgDbsuPassword
	}
	for n := range out {
		if pw, ok := passwords[out[n].Name]; ok && out[n].Password == "" {
			out[n].Password = pw
		}
	}
	return out
}

// resolveHBA substitutes the user aliases and sorts the rules by order
// (1000 when omitted), keeping list order among equals.
func resolveHBA(p *Params, rules []HBARule) []HBARule {
	alias := strings.NewReplacer(
		"${dbsu}", p.PgDbsu,
		"${repl}", p.PgReplicationUsername,
		"${monitor}", p.PgMonitorUsername,
		"${admin}", p.PgAdminUsername,
	)
	out := make([]HBARule, 0, len(rules))
	for _, r := range rules {
		if r.User == "" {
			r.User = "all"
		}
		if r.DB == "" {
			r.DB = "all"
		}
		if r.Auth == "" {
			r.Auth = "pwd"
		}
		if r.Role == "" {
			r.Role = "common"
		}
		r.User = alias.Replace(r.User)
		out = append(out, r)
	}
	sort.SliceStable(out, func(a, b int) bool { return hbaOrder(out[a]) < hbaOrder(out[b]) })
	return out
}

func hbaOrder(r HBARule) int {
	if r.Order == nil {
		return 1000
	}
	return *r.Order
}

// resolveServices expands pg_default_services + pg_services of a cluster
// into the listen blocks this instance's HAProxy serves.
func resolveServices(i *Instance, c *Cluster) []ServiceEndpoint {
	return servicesAs(i, c, nil)
}

// servicesAs resolves the services with the members' pg_role as roles
// gives them (by instance name; the declared role otherwise).
func servicesAs(i *Instance, c *Cluster, roles map[string]string) []ServiceEndpoint {
	p := i.Params
	vars := make([]map[string]any, len(c.Instances))
	for n, m := range c.Instances {
		vars[n] = m.selectorVars()
		if r, ok := roles[m.Name]; ok {
			vars[n]["pg_role"] = r
		}
	}
	var out []ServiceEndpoint
	for _, s := range append(append([]Service(nil), p.PgDefaultServices...), p.PgServices...) {
		sel, _ := ParseSelector(s.Selector)
		bak, _ := ParseSelector(s.Backup)
		// validation has run both selectors over these members already
		selected, _ := sel.Select(vars)
		backups, _ := bak.Select(vars)
		ep := ServiceEndpoint{
			Name: c.Name + "-" + s.Name, Port: s.Port, IP: s.IP, Check: s.Check,
			Maxconn: s.Maxconn, Balance: s.Balance, Options: s.Options, Origin: s.Origin,
			Dest: destPort(s.Dest, p),
		}
		for n, m := range c.Instances {
			if !selected[n] && !backups[n] {
				continue
			}
			ep.Servers = append(ep.Servers, ServiceServer{
				Name: m.Name, IP: m.IP, Port: destPort(s.Dest, m.Params), Weight: m.Params.PgWeight, Backup: backups[n],
				CheckPort: m.Params.PatroniPort, CheckSSL: m.Params.PatroniSSLEnabled,
			})
		}
		out = append(out, ep)
	}
	return out
}

// destPort resolves a service dest against an instance's ports.
func destPort(dest string, p *Params) int {
	switch dest {
	case "postgres":
		return p.PgPort
	case "pgbouncer":
		return p.PgbouncerPort
	case "default", "":
		if p.PgDefaultServiceDest == "postgres" || !p.PgbouncerEnabled {
			return p.PgPort
		}
		return p.PgbouncerPort
	}
	n, _ := strconv.Atoi(dest)
	return n
}

// LiveServices are the cluster's services (as instance i of the cluster
// resolves them) with selectors and backups judged by the members' roles
// now: leader is the member holding the cluster's leader key. After a
// failover the replica service must lead to the replicas, with the new
// primary as its backup, whatever roles the inventory started them with.
// With no leader they are the declared services.
func (c *Cluster) LiveServices(i *Instance, leader string) []ServiceEndpoint {
	if leader == "" {
		return i.Services
	}
	return servicesAs(i, c, LiveRoles(c, leader))
}

// LiveRoles are the members' pg_role with leader as the primary: the
// declared primary, if another member leads, is a replica; the others keep
// their role (an offline replica stays offline).
func LiveRoles(c *Cluster, leader string) map[string]string {
	roles := map[string]string{}
	for _, m := range c.Instances {
		switch {
		case m.Name == leader:
			roles[m.Name] = "primary"
		case m.Role == "primary":
			roles[m.Name] = "replica"
		default:
			roles[m.Name] = m.Role
		}
	}
	return roles
}
