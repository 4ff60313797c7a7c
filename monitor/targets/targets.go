// Package targets derives the metrics store's scrape targets from the
// desired state, as Pigsty lays them out in its target files: job pgsql
// (pg exporter, pgbouncer exporter and Patroni of every instance), job
// node (node exporter and HAProxy of every host), job etcd (the DCS
// members), job pgrds (the exporters the infra hosts run for remote
// instances) and job infra (the metrics stores themselves). Every target
// carries cls, ins and ip.
package targets

import (
	"net"
	"slices"
	"strconv"
	"strings"

	"pigsty/pgsql/inventory"
)

// Pigsty's job names.
const (
	JobPgsql = "pgsql"
	JobNode  = "node"
	JobEtcd  = "etcd"
	JobPgrds = "pgrds"
	JobInfra = "infra"
)

// Jobs are the scrape jobs, in the order of the scrape config.
var Jobs = []string{JobPgsql, JobNode, JobEtcd, JobPgrds, JobInfra}

// Group is one entry of Prometheus' HTTP service discovery: targets
// sharing labels.
type Group struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// Remote is a remote instance whose exporter an infra host runs
// (pg_exporters, enabled with `pigsty mon add`).
type Remote struct {
	Cls  string `json:"cls"`
	Ins  string `json:"ins"`
	IP   string `json:"ip"`   // the remote instance's address (pg_host)
	Addr string `json:"addr"` // where the exporter listens: <infra ip>:<port>
}

// Discover returns every job's target groups; storePort is the metrics
// store's port on the infra hosts.
func Discover(inv *inventory.Inventory, remotes []Remote, storePort int) map[string][]Group {
	out := map[string][]Group{JobPgsql: {}, JobNode: {}, JobEtcd: {}, JobPgrds: {}, JobInfra: {}}
	for _, i := range inv.Instances() {
		p := i.Params
		var t []string
		if p.PgExporterEnabled {
			t = append(t, addr(i.IP, p.PgExporterPort))
		}
		if p.PgbouncerEnabled && p.PgbouncerExporterEnabled {
			t = append(t, addr(i.IP, p.PgbouncerExporterPort))
		}
		// Patroni with TLS would need its own job (Pigsty's
		// pgsql-patroni, over https with the CA).
		if p.PatroniEnabled && !p.PatroniSSLEnabled {
			t = append(t, addr(i.IP, p.PatroniPort))
		}
		if len(t) > 0 {
			out[JobPgsql] = append(out[JobPgsql], group(t, i.Cluster, i.Name, i.IP))
		}
	}
	for _, h := range inv.Hosts {
		cls, ins := nodeIdentity(h)
		var t []string
		if h.Params.NodeExporterEnabled {
			t = append(t, addr(h.IP, h.Params.NodeExporterPort))
		}
		// HAProxy runs where an instance does: it serves the services.
		if h.Instance != nil && h.Params.HaproxyEnabled {
			t = append(t, addr(h.IP, h.Params.HaproxyExporterPort))
		}
		if len(t) > 0 {
			out[JobNode] = append(out[JobNode], group(t, cls, ins, h.IP))
		}
		if h.Etcd {
			p := h.Params
			out[JobEtcd] = append(out[JobEtcd], group([]string{addr(h.IP, p.EtcdPort)}, p.EtcdCluster, p.EtcdCluster+"-"+strconv.Itoa(p.EtcdSeq), h.IP))
		}
		if h.Infra {
			out[JobInfra] = append(out[JobInfra], group([]string{addr(h.IP, storePort)}, "infra", "infra-"+strconv.Itoa(h.Params.InfraSeq), h.IP))
		}
	}
	rs := slices.Clone(remotes)
	slices.SortFunc(rs, func(a, b Remote) int {
		if c := strings.Compare(a.Ins, b.Ins); c != 0 {
			return c
		}
		return strings.Compare(a.Addr, b.Addr)
	})
	for _, r := range rs {
		out[JobPgrds] = append(out[JobPgrds], group([]string{r.Addr}, r.Cls, r.Ins, r.IP))
	}
	return out
}

// nodeIdentity is the node's cls and ins as Pigsty's node_id_from_pg
// gives them: the instance's identity on a PostgreSQL host, else
// node_cluster (default "nodes") and nodename (default: the address).
func nodeIdentity(h *inventory.Host) (cls, ins string) {
	if i := h.Instance; i != nil {
		return i.Cluster, i.Name
	}
	cls, ins = h.Params.NodeCluster, h.Params.Nodename
	if cls == "" {
		cls = "nodes"
	}
	if ins == "" {
		ins = h.IP
	}
	return cls, ins
}

func group(targets []string, cls, ins, ip string) Group {
	return Group{Targets: targets, Labels: map[string]string{"cls": cls, "ins": ins, "ip": ip}}
}

func addr(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }
