package patroni

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"pigsty/pgsql/inventory"
)

// listenAddresses is postgresql.listen: pg_listen with its placeholders
// resolved, then ":<pg_port>" as Patroni wants it. ${ip} is the node's
// address and ${lo} loopback; ${vip} is the cluster's L2 VIP when
// pg_vip_enabled and is dropped otherwise (Pigsty would leave the
// placeholder in, which postgres cannot bind).
func listenAddresses(i *inventory.Instance) (string, error) {
	p := i.Params
	var addrs []string
	for _, a := range strings.Split(p.PgListen, ",") {
		switch a = strings.TrimSpace(a); a {
		case "":
			continue
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
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return "", fmt.Errorf("pg_listen %q leaves no address to listen on", p.PgListen)
	}
	return strings.Join(addrs, ",") + ":" + strconv.Itoa(p.PgPort), nil
}
