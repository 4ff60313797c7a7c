package haproxy

import (
	"slices"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/patroni"
)

// leaderChecks are Patroni's endpoints that answer 200 on the leader of a
// primary cluster only.
var leaderChecks = []string{"/primary", "/master", "/read-write"}

// Follow is a set of services of a node's HAProxy that route to one
// cluster's leader, and the Patroni leader key that names it. The agent
// moves them the moment the key changes hands, instead of waiting for the
// checks to count rise successes on the new leader: a switchover then
// costs the promotion, not the promotion and three check intervals. The
// checks keep deciding afterwards.
type Follow struct {
	Cluster   string
	LeaderKey string    // <pg_namespace>/<scope>/leader
	Backends  []Backend // services whose check passes on the leader only
}

// Backend is one service (an HAProxy listen section) and its servers,
// named after the cluster's members.
type Backend struct {
	Name    string
	Servers []string
}

// Follows are the Follows of the HAProxy on instance i's node: its
// cluster's services, and those of clusters it provides services for
// (pg_service_provider), as Render renders them. A standby cluster's
// leader key names its standby leader, which such checks never pass, and
// a Citus cluster keeps one key per group: both are left to the checks.
func Follows(i *inventory.Instance) []Follow {
	var out []Follow
	for _, sc := range served(i) {
		c, p := sc.Cluster, sc.Definer
		if primary := c.Primary(); primary != nil {
			p = primary
		}
		if p.Params.PgUpstream != "" || p.Params.PgMode == "citus" {
			continue
		}
		f := Follow{Cluster: c.Name, LeaderKey: patroni.KeyPrefix(p) + "leader"}
		for _, svc := range sc.Definer.Services {
			if !slices.Contains(leaderChecks, svc.Check) {
				continue
			}
			b := Backend{Name: svc.Name}
			for _, s := range svc.Servers {
				b.Servers = append(b.Servers, s.Name)
			}
			f.Backends = append(f.Backends, b)
		}
		if len(f.Backends) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// FollowCommands are the runtime API commands that put holder's servers
// up and the others down in f's backends; with no holder every server
// goes down until a leader is elected or the checks find one.
func FollowCommands(f Follow, holder string) []string {
	var out []string
	for _, b := range f.Backends {
		for _, s := range b.Servers {
			state := "down"
			if s == holder {
				state = "up"
			}
			out = append(out, "set server "+b.Name+"/"+s+" health "+state)
		}
	}
	return out
}
