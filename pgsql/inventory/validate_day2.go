package inventory

import (
	"fmt"
	"strconv"
	"strings"
)

// Checks of the day-2 objects that single fields cannot make: parameter
// names of users and databases, memberships of roles being dropped,
// service providers and the ports of the services a node serves for other
// clusters and for itself (haproxy_services).
func init() {
	hostChecks = append(hostChecks, (*validator).objectParameters, (*validator).droppedMemberships,
		(*validator).serviceProvider, (*validator).nodeServices)
}

// objectParameters: the keys of a user's or database's parameters are
// PostgreSQL parameter names; anything else fails ALTER … SET.
func (v *validator) objectParameters(h *Host) {
	p := h.Params
	check := func(o Origin, params map[string]Scalar) {
		for _, k := range sortedKeys(params) {
			if !reGUC.MatchString(k) {
				v.c.errorf(o.Field("parameters"), quote(k), checks["guc"].allowed, "invalid parameter name")
			}
		}
	}
	for _, u := range append(append([]User(nil), p.PgDefaultRoles...), p.PgUsers...) {
		check(u.Origin, u.Parameters)
	}
	for _, db := range p.PgDatabases {
		check(db.Origin, db.Parameters)
	}
}

// droppedMemberships: a role being dropped (state: absent) cannot be
// granted to another user in the same inventory.
func (v *validator) droppedMemberships(h *Host) {
	p := h.Params
	all := append(append([]User(nil), p.PgDefaultRoles...), p.PgUsers...)
	dropped := map[string]bool{}
	for _, u := range all {
		if u.Absent() {
			dropped[u.Name] = true
		}
	}
	for _, u := range all {
		if u.Absent() {
			continue
		}
		for _, m := range u.Roles {
			if dropped[m.Name] && !m.Revoked() {
				v.c.errorf(Origin{Pos: m.Origin.Pos, Path: m.Origin.Path}, quote(m.Name), "allowed: a role that is not dropped, or state: absent to revoke it",
					"role %s granted to %s has state: absent", m.Name, u.Name)
			}
		}
	}
}

// serviceProvider: pg_service_provider names a group of the inventory.
func (v *validator) serviceProvider(h *Host) {
	g := h.Params.PgServiceProvider
	if g == "" || contains(v.inv.Groups, g) {
		return
	}
	allowed := "allowed: a group of the inventory whose hosts run HAProxy (" + strings.Join(v.inv.Groups, ", ") + "), or '' for the cluster's own members"
	if s := suggest(g, v.inv.Groups); s != "" {
		allowed = fmt.Sprintf("did you mean %q?", s)
	}
	v.c.errorf(v.at(h, "pg_service_provider"), quote(g), allowed, "no group %s in the inventory", g)
}

// nodeServices: the services this node's HAProxy serves for clusters that
// delegate theirs to a group of the node (its own cluster's included), and
// the node's haproxy_services, take ports no other listener of the node
// uses.
func (v *validator) nodeServices(h *Host) {
	if !h.Params.HaproxyEnabled {
		return
	}
	type use struct {
		what string
		at   string
	}
	used := map[int]use{}
	for port, what := range h.listeners() {
		used[port] = use{what, "this host"}
	}
	claim := func(port int, what string, o Origin) {
		if prev, dup := used[port]; dup {
			v.c.errorf(o, quote(strconv.Itoa(port)), "allowed: a port no other listener of this host uses",
				"port %d of %s on %s is already used by %s (%s)", port, what, h.IP, prev.what, prev.at)
			return
		}
		at := o.Pos.String()
		if o.Pos.File == "(defaults)" {
			at = "default " + o.Path
		}
		used[port] = use{what, at}
	}
	for _, c := range v.inv.Clusters {
		first := c.Instances[0].Params
		if first.PgServiceProvider == "" || !contains(h.Groups, first.PgServiceProvider) {
			continue
		}
		for _, list := range [][]Service{first.PgDefaultServices, first.PgServices} {
			for _, s := range list {
				claim(s.Port, "service "+c.Name+"-"+s.Name, s.Origin.Field("port"))
			}
		}
	}
	names := map[string]Origin{}
	for _, s := range h.Params.HaproxyServices {
		if prev, dup := names[s.Name]; dup {
			v.c.errorf(s.Origin.Field("name"), quote(s.Name), "allowed: unique names", "haproxy service %s is defined twice (also at %s)", s.Name, prev.Pos)
		}
		names[s.Name] = s.Origin
		claim(s.Port, "haproxy service "+s.Name, s.Origin.Field("port"))
	}
}

// listeners are the ports of this host's own listeners, as the ports
// check counts them: PostgreSQL, pgbouncer, Patroni, exporters, etcd and
// the services of its own cluster when they are not delegated.
func (h *Host) listeners() map[int]string {
	p := h.Params
	out := map[int]string{}
	add := func(port int, what string, on bool) {
		if on && port != 0 {
			if _, dup := out[port]; !dup {
				out[port] = what
			}
		}
	}
	isInstance := h.Instance != nil
	add(p.PgPort, "postgres (pg_port)", isInstance)
	add(p.PgbouncerPort, "pgbouncer (pgbouncer_port)", isInstance && p.PgbouncerEnabled)
	add(p.PatroniPort, "patroni (patroni_port)", isInstance)
	add(p.PgExporterPort, "pg_exporter_port", isInstance && p.PgExporterEnabled)
	add(p.PgbouncerExporterPort, "pgbouncer_exporter_port", isInstance && p.PgbouncerExporterEnabled && p.PgbouncerEnabled)
	add(p.HaproxyExporterPort, "haproxy_exporter_port", p.HaproxyEnabled)
	add(p.NodeExporterPort, "node_exporter_port", p.NodeExporterEnabled)
	add(p.EtcdPort, "etcd_port", h.Etcd)
	add(p.EtcdPeerPort, "etcd_peer_port", h.Etcd)
	if isInstance && p.PgServiceProvider == "" {
		for _, list := range [][]Service{p.PgDefaultServices, p.PgServices} {
			for _, s := range list {
				add(s.Port, "service "+p.PgCluster+"-"+s.Name, true)
			}
		}
	}
	return out
}
