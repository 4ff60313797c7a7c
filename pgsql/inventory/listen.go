package inventory

import (
	"fmt"
	"strings"
)

// Listen is pg_listen with its placeholders resolved — ${ip} the
// instance's address, ${lo} loopback, ${vip} the cluster's L2 VIP — for
// postgres and pgbouncer alike. ${vip} is dropped while the VIP is
// disabled: nothing could bind it (Pigsty would leave the placeholder in).
func (i *Instance) Listen() ([]string, error) {
	p := i.Params
	var out []string
	seen := map[string]bool{}
	for _, a := range strings.Split(p.PgListen, ",") {
		switch a = strings.TrimSpace(a); a {
		case "${ip}":
			a = i.IP
		case "${lo}":
			a = "127.0.0.1"
		case "${vip}":
			if !p.PgVipEnabled || p.PgVipAddress == "" {
				continue
			}
			a, _, _ = strings.Cut(p.PgVipAddress, "/")
		}
		if a == "" || seen[a] {
			continue
		}
		if strings.Contains(a, "${") {
			return nil, fmt.Errorf("pg_listen %q: unknown placeholder in %q; allowed ${ip}, ${lo}, ${vip}", p.PgListen, a)
		}
		seen[a] = true
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pg_listen %q leaves no address to listen on", p.PgListen)
	}
	return out, nil
}
