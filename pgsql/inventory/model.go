package inventory

import (
	"net"
	"reflect"
	"sort"
	"strconv"
)

var paramsType = reflect.TypeOf(Params{})

// Inventory is a parsed, merged and validated pigsty.yml.
type Inventory struct {
	File     string
	Hosts    []*Host    // every host, in order of first appearance
	Clusters []*Cluster // PostgreSQL clusters, by name
	Groups   []string   // group names, in file order
	Warnings Errors
}

// Host is one machine of the inventory, keyed by its IP address.
type Host struct {
	IP       string
	Groups   []string // groups the host is listed in
	Params   *Params  // merged configuration of this host
	Instance *Instance
	Infra    bool // listed in the infra group
	Etcd     bool // listed in the etcd group
	sources  map[string]Origin
	listed   Origin // where the host is first listed

}

// Source reports where the value of a parameter of this host was written.
func (h *Host) Source(param string) Origin { return h.sources[param] }

// Cluster is a PostgreSQL cluster: the instances sharing a pg_cluster.
type Cluster struct {
	Name      string
	Instances []*Instance // ordered by pg_seq
}

// Primary returns the instance declared primary.
func (c *Cluster) Primary() *Instance {
	for _, i := range c.Instances {
		if i.Role == "primary" {
			return i
		}
	}
	return nil
}

// Host returns the host with this IP, or nil.
func (inv *Inventory) Host(ip string) *Host {
	for _, h := range inv.Hosts {
		if h.IP == ip {
			return h
		}
	}
	return nil
}

// Cluster returns the PostgreSQL cluster of this name, or nil.
func (inv *Inventory) Cluster(name string) *Cluster {
	for _, c := range inv.Clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Instances returns every PostgreSQL instance, by cluster then seq.
func (inv *Inventory) Instances() []*Instance {
	var out []*Instance
	for _, c := range inv.Clusters {
		out = append(out, c.Instances...)
	}
	return out
}

// InfraIPs returns the addresses of the infra group, sorted.
func (inv *Inventory) InfraIPs() []string { return inv.ips(func(h *Host) bool { return h.Infra }) }

// EtcdIPs returns the addresses of the etcd group, sorted.
func (inv *Inventory) EtcdIPs() []string { return inv.ips(func(h *Host) bool { return h.Etcd }) }

func (inv *Inventory) ips(keep func(*Host) bool) []string {
	var out []string
	for _, h := range inv.Hosts {
		if keep(h) {
			out = append(out, h.IP)
		}
	}
	sort.Slice(out, func(i, j int) bool { return ipLess(out[i], out[j]) })
	return out
}

// EtcdEndpoints are the client URLs of the etcd members (always TLS).
func (inv *Inventory) EtcdEndpoints() []string {
	var out []string
	for _, ip := range inv.EtcdIPs() {
		out = append(out, "https://"+net.JoinHostPort(ip, strconv.Itoa(inv.Host(ip).Params.EtcdPort)))
	}
	return out
}
