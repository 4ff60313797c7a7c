package hba

import (
	"fmt"
	"net/netip"

	"pigsty/pgsql/inventory"
)

// endpoint is one place a client connects from: the unix socket, or an
// address range.
type endpoint struct {
	socket bool
	cidr   string
	// loopback marks localhost's TCP lines, which Pigsty never turns into
	// hostssl: local clients are trusted with the plain password method.
	loopback bool
}

// endpoints expands an address alias.
func endpoints(i *inventory.Instance, addr string) ([]endpoint, error) {
	p := i.Params
	switch addr {
	case "local":
		return []endpoint{{socket: true}}, nil
	case "localhost":
		return []endpoint{{socket: true}, {cidr: "127.0.0.1/32", loopback: true}, {cidr: "::1/128", loopback: true}}, nil
	case "admin":
		if p.AdminIP == "" {
			return nil, fmt.Errorf("addr admin: admin_ip is not set")
		}
		return ranges("admin_ip", []string{p.AdminIP})
	case "infra":
		return ranges("infra host", infraIPs(i))
	case "cluster":
		return ranges("cluster member", memberIPs(i))
	case "intra", "intranet":
		return ranges("node_firewall_intranet", p.NodeFirewallIntranet)
	case "world", "all":
		return []endpoint{{cidr: "0.0.0.0/0"}, {cidr: "::/0"}}, nil
	}
	cidr, err := rangeOf(addr)
	if err != nil {
		return nil, fmt.Errorf("addr %q: allowed local, localhost, admin, infra, cluster, intra, intranet, world, all, an IP address or a CIDR", addr)
	}
	return []endpoint{{cidr: cidr}}, nil
}

func ranges(what string, addrs []string) ([]endpoint, error) {
	out := make([]endpoint, 0, len(addrs))
	for _, a := range addrs {
		cidr, err := rangeOf(a)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", what, a, err)
		}
		out = append(out, endpoint{cidr: cidr})
	}
	return out, nil
}

// rangeOf reads an address or a CIDR. A bare address becomes a single-host
// range: PostgreSQL would otherwise read the next field as a netmask. Host
// bits are cleared, which both servers do when matching anyway, so that
// pgbouncer does not warn about them on every reload.
func rangeOf(s string) (string, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked().String(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return "", fmt.Errorf("not an IP address or CIDR")
	}
	return netip.PrefixFrom(a, a.BitLen()).String(), nil
}

func infraIPs(i *inventory.Instance) []string {
	if i.Inventory() == nil {
		return nil
	}
	return i.Inventory().InfraIPs()
}

func memberIPs(i *inventory.Instance) []string {
	if i.ClusterOf() == nil {
		return []string{i.IP}
	}
	var out []string
	for _, m := range i.ClusterOf().Instances {
		out = append(out, m.IP)
	}
	return out
}
