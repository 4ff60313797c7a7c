// Package remote monitors PostgreSQL instances pigsty does not manage
// (Pigsty's pg_exporters, "Monitor existing/RDS"): an infra host runs one
// pg exporter per remote instance that `pigsty mon add` enabled, each on
// its own local port, and the metrics store scrapes them as job pgrds.
package remote

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"pigsty/monitor/pgexporter"
	"pigsty/monitor/targets"
	"pigsty/pgsql/inventory"
)

// Instance is one entry of an infra host's pg_exporters with the
// parameters it does not set taken from the host's.
type Instance struct {
	Cls    string
	Ins    string // <pg_cluster>-<pg_seq>
	Host   string // pg_host: the remote server's address
	Server string // pg_host:pg_port
	Infra  string // the infra host that runs the exporter
	Listen string // <infra ip>:<port>, the entry's key
	// URL is the DSN the exporter connects with; it holds the monitor
	// user's password.
	URL              string
	AutoDiscovery    bool
	IncludeDatabases []string
	ExcludeDatabases []string
	ConnectTimeout   time.Duration
}

// Declared lists the pg_exporters entries of every infra host, by infra
// host then port.
func Declared(inv *inventory.Inventory) []Instance {
	var out []Instance
	for _, ip := range inv.InfraIPs() {
		h := inv.Host(ip)
		p := h.Params
		ports := make([]int, 0, len(p.PgExporters))
		for port := range p.PgExporters {
			ports = append(ports, port)
		}
		slices.Sort(ports)
		for _, port := range ports {
			e := p.PgExporters[port]
			pgPort := firstInt(e.PgPort, 5432)
			in := Instance{
				Cls: e.PgCluster, Ins: e.PgCluster + "-" + strconv.Itoa(e.PgSeq), Host: e.PgHost, Infra: ip,
				Server:           net.JoinHostPort(e.PgHost, strconv.Itoa(pgPort)),
				Listen:           net.JoinHostPort(ip, strconv.Itoa(port)),
				URL:              e.PgExporterURL,
				AutoDiscovery:    p.PgExporterAutoDiscovery,
				IncludeDatabases: csv(first(e.PgExporterIncludeDatabase, p.PgExporterIncludeDatabase)),
				ExcludeDatabases: csv(first(e.PgExporterExcludeDatabase, p.PgExporterExcludeDatabase)),
				ConnectTimeout:   time.Duration(firstInt(e.PgExporterConnectTimeout, p.PgExporterConnectTimeout)) * time.Millisecond,
			}
			if e.PgExporterAutoDiscovery != nil {
				in.AutoDiscovery = *e.PgExporterAutoDiscovery
			}
			if in.URL == "" {
				in.URL = pgexporter.URL(e.PgHost, pgPort, first(e.PgMonitorUsername, p.PgMonitorUsername),
					first(e.PgMonitorPassword, p.PgMonitorPassword), "postgres", first(e.PgExporterParams, p.PgExporterParams))
			}
			out = append(out, in)
		}
	}
	return out
}

// Select returns the instances named by a cluster or an instance name.
func Select(all []Instance, name string) []Instance {
	var out []Instance
	for _, in := range all {
		if in.Cls == name || in.Ins == name {
			out = append(out, in)
		}
	}
	return out
}

// Monitored keeps the instances whose name is in names.
func Monitored(all []Instance, names map[string]bool) []Instance {
	var out []Instance
	for _, in := range all {
		if names[in.Ins] {
			out = append(out, in)
		}
	}
	return out
}

// Targets are the instances as scrape targets of job pgrds: cls, ins and
// the remote server's ip, scraped at the exporter.
func Targets(list []Instance) []targets.Remote {
	out := make([]targets.Remote, 0, len(list))
	for _, in := range list {
		out = append(out, targets.Remote{Cls: in.Cls, Ins: in.Ins, IP: in.Host, Addr: in.Listen})
	}
	return out
}

func first(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func firstInt(s ...int) int {
	for _, x := range s {
		if x != 0 {
			return x
		}
	}
	return 0
}

func csv(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
