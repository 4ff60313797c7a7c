package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// The business user and database of the clusters WriteInventory declares.
const (
	TestUser     = "test"
	TestPassword = "test"
	TestDB       = "test"
)

// Topology is what WriteInventory declares: infra on the first host, etcd
// on the first or on every host, and one PostgreSQL cluster.
type Topology struct {
	Name     string                   // the cluster; default pg-test
	Members  []*Host                  // its hosts, pg_seq in this order, the first the primary; default every host
	EtcdAll  bool                     // an etcd member on every host (default: on the first only)
	Etcd     []*Host                  // the etcd members, when given: over EtcdAll
	Vars     map[string]any           // the cluster's vars, over the defaults (pg_rto, pg_rpo, pg_conf, pg_services, …)
	HostVars map[*Host]map[string]any // a member's vars, over pg_seq and pg_role (e.g. pg_role: offline)
	Global   map[string]any           // all.vars, over the defaults
	File     string                   // file name in the run's directory; default pigsty.yml
}

// WriteInventory writes a pigsty.yml for the harness's addresses into the
// run's directory, checks it with `pigsty config validate`, and returns
// its path. The defaults suit several instances on one machine: tiny.yml,
// shared buffers at 10 % of memory, the newest PostgreSQL installed, a
// user and database "test" (TestUser, TestPassword, TestDB), the VIP
// address c.VIP() on eth0 but disabled.
func (c *Cluster) WriteInventory(topo Topology) string {
	c.t.Helper()
	path, err := c.writeInventory(topo)
	if err != nil {
		c.t.Fatalf("harness: inventory: %v", err)
	}
	return path
}

func (c *Cluster) writeInventory(topo Topology) (string, error) {
	if topo.Name == "" {
		topo.Name = "pg-test"
	}
	if len(topo.Members) == 0 {
		topo.Members = c.Hosts
	}
	if topo.File == "" {
		topo.File = "pigsty.yml"
	}
	first := c.Hosts[0]
	etcd := map[string]any{}
	for i, h := range c.Hosts {
		if (len(topo.Etcd) == 0 && (i == 0 || topo.EtcdAll)) || slices.Contains(topo.Etcd, h) {
			etcd[h.IP] = map[string]any{"etcd_seq": i + 1}
		}
	}
	members := map[string]any{}
	for i, h := range topo.Members {
		role := "replica"
		if i == 0 {
			role = "primary"
		}
		vars := map[string]any{"pg_seq": i + 1, "pg_role": role}
		for k, v := range topo.HostVars[h] {
			vars[k] = v
		}
		members[h.IP] = vars
	}
	cluster := map[string]any{
		"pg_cluster":       topo.Name,
		"pg_users":         []any{map[string]any{"name": TestUser, "password": TestPassword, "pgbouncer": true, "roles": []string{"dbrole_admin"}}},
		"pg_databases":     []any{map[string]any{"name": TestDB}},
		"pg_hba_rules":     []any{map[string]any{"user": "all", "db": "all", "addr": "intra", "auth": "pwd", "title": "allow intranet password access", "order": 800}},
		"pg_vip_enabled":   false,
		"pg_vip_address":   c.VIP() + "/24",
		"pg_vip_interface": "eth0",
	}
	for k, v := range topo.Vars {
		cluster[k] = v
	}
	version, err := installedPG()
	if err != nil {
		return "", err
	}
	global := map[string]any{
		"admin_ip":               first.IP,
		"node_tune":              "tiny",
		"node_firewall_intranet": []string{"10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12"},
		"haproxy_admin_password": "pigsty",
		"etcd_root_password":     "Etcd.Root",
		"pg_version":             version,
		"pg_conf":                "tiny.yml",
		"pg_shared_buffer_ratio": 0.1,
		"pg_safeguard":           false,
		"pg_packages":            []string{"pgsql-main", "pgsql-common"},
		"pg_extensions":          []string{},
	}
	for k, v := range topo.Global {
		global[k] = v
	}
	doc := map[string]any{"all": map[string]any{
		"children": map[string]any{
			"infra":   map[string]any{"hosts": map[string]any{first.IP: map[string]any{"infra_seq": 1}}},
			"etcd":    map[string]any{"hosts": etcd, "vars": map[string]any{"etcd_cluster": "etcd", "etcd_safeguard": false}},
			topo.Name: map[string]any{"hosts": members, "vars": cluster},
		},
		"vars": global,
	}}
	raw, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	path := filepath.Join(c.Dir, topo.File)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := c.Hosts[0].Command(ctx, binary, "config", "validate", "-f", path).CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s does not validate: %v\n%s", path, err, out)
	}
	return path, nil
}

// installedPG is the newest PostgreSQL major installed on this machine:
// the hosts share its packages.
func installedPG() (int, error) {
	entries, err := os.ReadDir("/usr/lib/postgresql")
	if err != nil {
		return 0, fmt.Errorf("no PostgreSQL installed (run pigsty install): %w", err)
	}
	var majors []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join("/usr/lib/postgresql", e.Name(), "bin/postgres")); err == nil {
			majors = append(majors, n)
		}
	}
	if len(majors) == 0 {
		return 0, fmt.Errorf("no PostgreSQL server under /usr/lib/postgresql (run pigsty install)")
	}
	sort.Ints(majors)
	return majors[len(majors)-1], nil
}
