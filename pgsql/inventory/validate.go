package inventory

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// validator checks what single fields cannot: identity across a cluster,
// references between users and databases, aliases, ports per host.
type validator struct {
	c   *collector
	inv *Inventory
}

func (v *validator) run() {
	v.identity()
	v.groups()
	for _, c := range v.inv.Clusters {
		v.cluster(c)
	}
	for _, h := range v.inv.Hosts {
		v.host(h)
	}
}

func (v *validator) at(h *Host, param string) Origin { return v.hostOrigin(h, param) }

// hostOrigin is where param of the host was written, or where the host is
// listed when the value is a default or missing.
func (v *validator) hostOrigin(h *Host, param string) Origin {
	if o, ok := h.sources[param]; ok && o.Pos.File != "(defaults)" {
		return o
	}
	return Origin{Pos: h.listed.Pos, Path: keyPath(h.listed.Path, param)}
}

func (v *validator) identity() {
	for _, h := range v.inv.Hosts {
		i := h.Instance
		if i == nil {
			continue
		}
		p := h.Params
		if len(p.PgInstances) > 0 {
			v.c.errorf(v.at(h, "pg_instances"), "", "allowed: one PostgreSQL instance per host (as Pigsty recommends)",
				"pg_instances (several instances on one host) is not supported")
		}
		if _, ok := h.sources["pg_cluster"]; !ok {
			v.c.errorf(v.hostOrigin(h, "pg_cluster"), "", "allowed: set pg_cluster in the cluster's group vars, usually equal to the group name",
				"host %s has pg_seq/pg_role but no pg_cluster", h.IP)
		}
		if _, ok := h.sources["pg_seq"]; !ok {
			v.c.errorf(v.hostOrigin(h, "pg_seq"), "", "allowed: an integer ≥ 0, unique in the cluster, set on the host",
				"instance of %s on %s has no pg_seq", p.PgCluster, h.IP)
		} else if p.PgSeq < 0 {
			v.c.errorf(v.at(h, "pg_seq"), quote(strconv.Itoa(p.PgSeq)), "allowed: an integer ≥ 0", "invalid pg_seq")
		}
		if _, ok := h.sources["pg_role"]; !ok {
			v.c.errorf(v.hostOrigin(h, "pg_role"), "", "allowed: primary, replica, offline (required: pigsty does not guess a role)",
				"instance of %s on %s has no pg_role", p.PgCluster, h.IP)
		}
	}
}

// groups checks the infra and etcd groups and hosts claimed by two
// clusters.
func (v *validator) groups() {
	inv := v.inv
	if len(inv.Clusters) > 0 && len(inv.EtcdIPs()) == 0 {
		v.c.errorf(Origin{Pos: Pos{File: inv.File, Line: 1, Col: 1}, Path: "all.children"}, "",
			"allowed: add an `etcd` group (all.children.etcd.hosts.<ip>: {etcd_seq: 1})",
			"no etcd group: Patroni needs etcd as its DCS")
	}
	if len(inv.InfraIPs()) == 0 {
		v.c.errorf(Origin{Pos: Pos{File: inv.File, Line: 1, Col: 1}, Path: "all.children"}, "",
			"allowed: add an `infra` group (all.children.infra.hosts.<ip>: {infra_seq: 1})",
			"no infra group: `pigsty infra` runs on its hosts")
	}
	v.remoteExporters()
	etcdSeq := map[int]*Host{}
	infraSeq := map[int]*Host{}
	for _, h := range inv.Hosts {
		if h.Etcd {
			v.seq(h, "etcd_seq", h.Params.EtcdSeq, etcdSeq)
		}
		if h.Infra {
			v.seq(h, "infra_seq", h.Params.InfraSeq, infraSeq)
			for _, check := range infraChecks {
				check(v, h)
			}
		}
	}
	// The first member bootstraps etcd and turns its authentication on
	// before anyone can join: only `pigsty infra` does that.
	var first *Host
	for seq, h := range etcdSeq {
		if first == nil || seq < first.Params.EtcdSeq {
			first = h
		}
	}
	if first != nil && !first.Infra && len(inv.InfraIPs()) > 0 {
		v.c.errorf(v.at(first, "etcd_seq"), quote(strconv.Itoa(first.Params.EtcdSeq)),
			"allowed: the etcd member with the smallest etcd_seq on a host of the infra group",
			"%s would bootstrap etcd but is not an infra host", first.IP)
	}
}

// infraChecks are checks of an infra host that features add from their
// own files (func init() { infraChecks = append(infraChecks, …) }).
var infraChecks []func(*validator, *Host)

func (v *validator) seq(h *Host, param string, seq int, seen map[int]*Host) {
	if seq <= 0 {
		v.c.errorf(v.hostOrigin(h, param), quote(strconv.Itoa(seq)), "allowed: an integer ≥ 1, unique in the group", "%s is required on %s", param, h.IP)
		return
	}
	if other, dup := seen[seq]; dup {
		v.c.errorf(v.at(h, param), quote(strconv.Itoa(seq)), "allowed: unique in the group", "%s %d is also used by %s", param, seq, other.IP)
		return
	}
	seen[seq] = h
}

func (v *validator) cluster(c *Cluster) {
	seqs := map[int]*Instance{}
	var primaries []*Instance
	for _, i := range c.Instances {
		if other, dup := seqs[i.Seq]; dup && i.Seq >= 0 {
			v.c.errorf(v.at(i.Host, "pg_seq"), quote(strconv.Itoa(i.Seq)), "allowed: unique in the cluster and never reused",
				"pg_seq %d of %s is also used by %s", i.Seq, c.Name, other.IP)
		}
		seqs[i.Seq] = i
		if i.Role == "primary" {
			primaries = append(primaries, i)
		}
	}
	if len(primaries) == 0 {
		first := c.Instances[0]
		v.c.errorf(v.hostOrigin(first.Host, "pg_role"), "", "allowed: exactly one member with pg_role: primary",
			"cluster %s has no primary", c.Name)
	}
	for _, extra := range primaries[min(1, len(primaries)):] {
		v.c.errorf(v.at(extra.Host, "pg_role"), quote("primary"), "allowed: exactly one primary per cluster",
			"cluster %s has a second primary (%s is already primary)", c.Name, primaries[0].IP)
	}
	members := map[string]bool{}
	for _, i := range c.Instances {
		members[i.IP] = true
	}
	for _, i := range c.Instances {
		p := i.Params
		if p.PgUpstream != "" {
			switch {
			case p.PgUpstream == i.IP:
				v.c.errorf(v.at(i.Host, "pg_upstream"), quote(p.PgUpstream), "allowed: another member (cascade) or an external primary (standby cluster)",
					"pg_upstream of %s is its own address", i.Name)
			case i.Role == "primary" && members[p.PgUpstream]:
				v.c.errorf(v.at(i.Host, "pg_upstream"), quote(p.PgUpstream), "allowed: the address of the upstream cluster's primary",
					"pg_upstream on the primary makes a standby cluster, but %s is a member of %s itself", p.PgUpstream, c.Name)
			case i.Role != "primary" && !members[p.PgUpstream]:
				v.c.errorf(v.at(i.Host, "pg_upstream"), quote(p.PgUpstream), "allowed: the IP of another member of "+c.Name,
					"pg_upstream on a replica (cascade replication) must be another member of the cluster")
			}
		}
		if d := strings.TrimSpace(p.PgDelay); d != "" && d != "0" && !(i.Role == "primary" && p.PgUpstream != "") {
			v.c.errorf(v.at(i.Host, "pg_delay"), quote(d), "allowed: pg_delay on the primary of a standby cluster (with pg_upstream)",
				"pg_delay needs a standby cluster leader")
		}
	}
	v.services(c)
}

// host runs the checks of one host's merged parameters.
func (v *validator) host(h *Host) {
	p := h.Params
	if h.Instance == nil {
		return
	}
	if p.PgVersion < 13 || p.PgVersion > 18 {
		v.c.errorf(v.at(h, "pg_version"), quote(strconv.Itoa(p.PgVersion)), "allowed: 13, 14, 15, 16, 17 or 18", "unsupported PostgreSQL major version")
	}
	if !builtinTemplate(p.PgConf) {
		v.c.errorf(v.at(h, "pg_conf"), quote(p.PgConf), "allowed: "+strings.Join(templateFiles(), ", "), "unknown config template")
	}
	if r := p.PgSharedBufferRatio; r < 0.1 || r > 0.4 {
		v.c.errorf(v.at(h, "pg_shared_buffer_ratio"), quote(fmt.Sprint(r)), "allowed: 0.1 to 0.4", "shared buffer ratio out of range")
	}
	if p.PgRPO < 0 {
		v.c.errorf(v.at(h, "pg_rpo"), quote(fmt.Sprint(p.PgRPO)), "allowed: bytes ≥ 0 (0 means synchronous commit)", "invalid pg_rpo")
	}
	if err := checkRTO(p.PgRTO); err != nil {
		v.c.errorf(v.at(h, "pg_rto"), quote(p.PgRTO), "allowed: seconds ≥ 20, or fast, norm, safe, wide", "%v", err)
	}
	if (p.PgMode == "citus" || p.PgMode == "gpsql") && p.PgShard == "" {
		v.c.errorf(v.at(h, "pg_mode"), quote(p.PgMode), "allowed: set pg_shard and pg_group on every shard cluster", "pg_mode %s needs pg_shard", p.PgMode)
	}
	if _, ok := p.PgbackrestRepo[p.PgbackrestMethod]; !ok && p.PgbackrestEnabled {
		v.c.errorf(v.at(h, "pgbackrest_method"), quote(p.PgbackrestMethod), "allowed: "+strings.Join(sortedKeys(p.PgbackrestRepo), ", "),
			"pgbackrest_method names no repo of pgbackrest_repo")
	}
	for _, l := range strings.Split(p.PgListen, ",") {
		l = strings.TrimSpace(l)
		if l == "" || l == "*" || l == "${ip}" || l == "${lo}" || l == "${vip}" || l == "localhost" {
			continue
		}
		if a, err := netip.ParseAddr(l); err != nil || !a.Is4() {
			v.c.errorf(v.at(h, "pg_listen"), quote(l), "allowed: comma-separated IPv4 addresses, 0.0.0.0, *, ${ip}, ${lo}, ${vip}", "invalid listen address")
		}
	}
	for k := range p.PgParameters {
		if !reGUC.MatchString(k) {
			v.c.errorf(v.at(h, "pg_parameters"), quote(k), "allowed: PostgreSQL parameter names such as work_mem", "invalid parameter name")
		}
	}
	if p.PgVipEnabled && strings.TrimSpace(p.PgVipInterface) == "" {
		v.c.errorf(v.at(h, "pg_vip_interface"), "", "allowed: the interface holding the host's IP, e.g. eth0", "pg_vip_enabled needs pg_vip_interface")
	}
	v.crontab(h, "node_crontab", p.NodeCrontab, true)
	v.crontab(h, "pg_crontab", p.PgCrontab, false)
	v.users(h)
	v.databases(h)
	v.hbaRules(h, "pg_default_hba_rules", p.PgDefaultHbaRules, false)
	v.hbaRules(h, "pg_hba_rules", p.PgHbaRules, false)
	v.hbaRules(h, "pgb_default_hba_rules", p.PgbDefaultHbaRules, true)
	v.hbaRules(h, "pgb_hba_rules", p.PgbHbaRules, true)
	v.ports(h)
	for _, check := range hostChecks {
		check(v, h)
	}
}

// hostChecks are checks of an instance's host that features add from
// their own files (func init() { hostChecks = append(hostChecks, …) }).
var hostChecks []func(*validator, *Host)

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// remoteExporters checks pg_exporters of the infra hosts: each remote
// instance is a unique <pg_cluster>-<pg_seq>.
func (v *validator) remoteExporters() {
	for _, h := range v.inv.Hosts {
		if !h.Infra {
			continue
		}
		seen := map[string]int{}
		ports := make([]int, 0, len(h.Params.PgExporters))
		for port := range h.Params.PgExporters {
			ports = append(ports, port)
		}
		sort.Ints(ports)
		for _, port := range ports {
			e := h.Params.PgExporters[port]
			if err := checkPort(port); err != nil {
				v.c.errorf(e.Origin, quote(strconv.Itoa(port)), "allowed: a free local port such as 20001", "invalid exporter port")
			}
			ins := e.PgCluster + "-" + strconv.Itoa(e.PgSeq)
			if other, dup := seen[ins]; dup {
				v.c.errorf(e.Origin.Field("pg_seq"), quote(strconv.Itoa(e.PgSeq)), "allowed: a pg_seq unique within "+e.PgCluster,
					"remote instance %s is also monitored on port %d", ins, other)
			}
			seen[ins] = port
		}
	}
}

func checkPort(p int) error { return port(strconv.Itoa(p)) }
