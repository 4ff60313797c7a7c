package patroni

import (
	"net/netip"
	"slices"
	"strings"

	"pigsty/pgsql/inventory"
)

// allowlist is who may call Patroni's unsafe REST endpoints (restart,
// switchover, config …), on top of basic auth: the admin node, the
// cluster's members (Patroni calls its peers, e.g. for failsafe mode), the
// infra nodes, and loopback for the local agent. Sorted by address.
func allowlist(i *inventory.Instance) []string {
	ips := []string{"127.0.0.1"}
	if a := i.Params.AdminIP; a != "" {
		ips = append(ips, a)
	}
	for _, m := range i.ClusterOf().Instances {
		ips = append(ips, m.IP)
	}
	ips = append(ips, i.Inventory().InfraIPs()...)
	slices.SortFunc(ips, compareIP)
	return slices.Compact(ips)
}

func compareIP(a, b string) int {
	x, errX := netip.ParseAddr(a)
	y, errY := netip.ParseAddr(b)
	if errX != nil || errY != nil {
		return strings.Compare(a, b)
	}
	return x.Compare(y)
}
