package main

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"

	"pigsty/node/facts"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/pkgmap"
	"pigsty/pgsql/tune"
)

// hostInfo is what the effective configuration needs from the machine it
// is computed for: the spec the tuning formulas read and the OS that names
// packages.
type hostInfo struct {
	Spec   tune.Spec
	OS     pkgmap.OS
	Source string // "this host" or "--spec"
}

var reSpec = regexp.MustCompile(`^(\d+)C\.(\d+)G\.(\d+)G$`)

// hostContext describes this host, or a host of the given spec string
// (<cpu>C.<mem>G.<disk>G, the Patroni spec tag) running this host's OS.
func hostContext(ctx context.Context, spec string) (hostInfo, error) {
	os, err := facts.DetectOS()
	if err != nil {
		return hostInfo{}, err
	}
	if spec != "" {
		m := reSpec.FindStringSubmatch(spec)
		if m == nil {
			return hostInfo{}, fmt.Errorf("--spec %q: want <cpu>C.<mem>G.<disk>G, e.g. 4C.16G.200G", spec)
		}
		cpu, _ := strconv.Atoi(m[1])
		mem, _ := strconv.Atoi(m[2])
		disk, _ := strconv.ParseInt(m[3], 10, 64)
		return hostInfo{Spec: tune.Spec{CPU: cpu, MemMB: mem * 1024, DiskBytes: disk << 30}, OS: os, Source: "--spec"}, nil
	}
	f, err := facts.Detect(ctx, facts.DefaultFSMain)
	if err != nil {
		return hostInfo{}, fmt.Errorf("detect this host: %w", err)
	}
	return hostInfo{Spec: f.Spec(), OS: os, Source: "this host"}, nil
}

// targetInstances are the instances a command acts on: those a --limit
// selector names, or by default the instances of this host (the inventory
// hosts whose address this machine holds).
func targetInstances(inv *inventory.Inventory, limit string) ([]*inventory.Instance, error) {
	if limit != "" {
		return inv.Select(limit)
	}
	addrs, err := localAddresses()
	if err != nil {
		return nil, err
	}
	var out []*inventory.Instance
	for _, i := range inv.Instances() {
		if addrs[i.IP] {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no instance of %s runs on this host (none of its addresses is in the inventory): use -l <cls|ins|ip>", inv.File)
	}
	return out, nil
}

func localAddresses() (map[string]bool, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list this host's addresses: %w", err)
	}
	out := map[string]bool{}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			out[ipn.IP.String()] = true
		}
	}
	return out, nil
}

// netIPv4 returns a as an IPv4 address, "" when it is not one.
func netIPv4(a string) string {
	ip := net.ParseIP(a)
	if ip == nil || ip.To4() == nil {
		return ""
	}
	return ip.String()
}
