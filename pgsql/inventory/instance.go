package inventory

import (
	"strconv"
)

// Instance is the effective configuration of one PostgreSQL instance:
// its identity, and everything the renderers and provisioning read,
// resolved from the merged parameters.
type Instance struct {
	Name    string            `json:"ins"`
	Cluster string            `json:"cls"`
	Seq     int               `json:"seq"`
	Role    string            `json:"role"`
	IP      string            `json:"ip"`
	Labels  map[string]string `json:"labels"`

	// Users are pg_default_roles followed by pg_users, in creation order,
	// with the system users' passwords filled in.
	Users     []User     `json:"users"`
	Databases []Database `json:"databases"`
	// HBA and PgbHBA are the merged rules, user aliases substituted,
	// sorted by order.
	HBA      []HBARule         `json:"hba"`
	PgbHBA   []HBARule         `json:"pgb_hba"`
	Services []ServiceEndpoint `json:"services"`

	Host    *Host      `json:"-"`
	Params  *Params    `json:"-"`
	cluster *Cluster   `json:"-"`
	inv     *Inventory `json:"-"`
}

// ClusterOf returns the cluster the instance belongs to.
func (i *Instance) ClusterOf() *Cluster { return i.cluster }

// Inventory returns the inventory the instance belongs to, for what
// renderers read beyond the instance: infra and etcd hosts, admin_ip.
func (i *Instance) Inventory() *Inventory { return i.inv }

// Active reports whether an HBA rule of this role filter applies to the
// instance: default/common everywhere, offline also on replicas serving
// offline queries.
func (i *Instance) Active(role string) bool {
	switch role {
	case "", "default", "common":
		return true
	case "offline":
		return i.Role == "offline" || i.Params.PgOfflineQuery
	}
	return role == i.Role
}

// ServiceEndpoint is a service of the cluster as every member's HAProxy
// serves it.
type ServiceEndpoint struct {
	Name    string          `json:"name"` // <cls>-<name>
	Port    int             `json:"port"`
	IP      string          `json:"ip"`
	Dest    int             `json:"dest"` // backend port on the members
	Check   string          `json:"check"`
	Maxconn int             `json:"maxconn"`
	Balance string          `json:"balance"`
	Options string          `json:"options,omitempty"` // "" means the RTO plan's default-server line
	Servers []ServiceServer `json:"servers"`
	Origin  Origin          `json:"-"`
}

// ServiceServer is one backend of a service.
type ServiceServer struct {
	Name   string `json:"ins"`
	IP     string `json:"ip"`
	Port   int    `json:"port"`
	Weight int    `json:"weight"`
	Backup bool   `json:"backup,omitempty"`
	// CheckPort is the member's Patroni port, which the health check asks;
	// CheckSSL says it serves HTTPS.
	CheckPort int  `json:"check_port"`
	CheckSSL  bool `json:"check_ssl,omitempty"`
}

func itoa(i int) string { return strconv.Itoa(i) }
