// Package haproxy renders the HAProxy of a node: haproxy.cfg with the
// global settings, defaults and the stats/metrics listener, and one file
// per service of the instance's cluster in conf.d. HAProxy runs in the
// foreground in master-worker mode under the node agent:
//
//	haproxy -W -db -f <ConfigPath> -f <ServicesDir>
//
// Before each reload the agent dumps `show servers state` from SocketPath
// into StatePath, so that servers keep the state their checks found
// instead of all starting UP.
package haproxy

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/tune"
)

// File is one rendered file and the permissions it is written with.
type File struct {
	Data []byte
	Mode fs.FileMode
}

// Files are rendered files by absolute path.
type Files map[string]File

// Runtime is what the agent knows of the host HAProxy runs on.
type Runtime struct {
	// User and Group the workers drop to once the listeners are bound;
	// empty stays root, on a host without the haproxy account.
	User, Group string
	// FDLimit is the most file descriptors HAProxy can get: the hard
	// RLIMIT_NOFILE, or fs.nr_open where it may raise that. 0 means
	// enough for Pigsty's maxconn 65535.
	FDLimit uint64
	// Leaders are the members holding their clusters' leader keys, by
	// cluster: services select members by these live roles (see
	// inventory.Cluster.LiveServices). A cluster without one uses the
	// declared roles.
	Leaders map[string]string
}

// ConfigPath is haproxy.cfg.
func ConfigPath(l layout.Layout) string { return filepath.Join(l.HAProxy(), "haproxy.cfg") }

// ServicesDir holds one file per service. The rendered files are all of
// it: a file there that Render did not return is a stale service.
func ServicesDir(l layout.Layout) string { return filepath.Join(l.HAProxy(), "conf.d") }

// SocketPath is the admin socket of the master.
func SocketPath(l layout.Layout) string { return filepath.Join(l.Run(), "haproxy.sock") }

// StatePath is the server state file loaded at start and reload.
func StatePath(l layout.Layout) string { return filepath.Join(l.Run(), "haproxy.state") }

// InitialState is what StatePath holds before the first dump: the format
// version and no servers. HAProxy warns about a missing or empty file.
const InitialState = "1\n"

// Render renders haproxy.cfg and the service files of the node of
// instance i: its cluster's services, unless pg_service_provider hands
// them to a group's HAProxy; the services of clusters that hand theirs to
// a group this node belongs to; the node's own haproxy_services. plan
// gives the default-server line of services without their own options.
func Render(i *inventory.Instance, l layout.Layout, plan tune.Plan, run Runtime) (Files, error) {
	cfg, err := global(i, l, run)
	if err != nil {
		return nil, fmt.Errorf("render haproxy.cfg for %s: %w", i.Name, err)
	}
	// haproxy.cfg holds the stats admin password; the services hold none.
	files := Files{ConfigPath(l): {cfg, 0o640}}
	var services []inventory.ServiceEndpoint
	for _, sc := range served(i) {
		services = append(services, sc.Cluster.LiveServices(sc.Definer, run.Leaders[sc.Cluster.Name])...)
	}
	for _, svc := range i.Params.HaproxyServices {
		data, err := nodeService(i, svc)
		if err != nil {
			return nil, fmt.Errorf("render haproxy service %s for %s (%s): %w", svc.Name, i.Name, svc.Origin.Pos, err)
		}
		path := filepath.Join(ServicesDir(l), svc.Name+".cfg")
		if _, dup := files[path]; dup {
			return nil, fmt.Errorf("render haproxy service %s for %s: defined twice", svc.Name, i.Name)
		}
		files[path] = File{data, 0o644}
	}
	for _, svc := range services {
		data, err := service(i, svc, plan)
		if err != nil {
			return nil, fmt.Errorf("render haproxy service %s for %s (%s): %w", svc.Name, i.Name, svc.Origin.Pos, err)
		}
		path := filepath.Join(ServicesDir(l), svc.Name+".cfg")
		if _, dup := files[path]; dup {
			return nil, fmt.Errorf("render haproxy service %s for %s: defined twice", svc.Name, i.Name)
		}
		files[path] = File{data, 0o644}
	}
	return files, nil
}

// servedCluster is a cluster whose services a node's HAProxy serves, and
// the member whose parameters define them there.
type servedCluster struct {
	Cluster *inventory.Cluster
	Definer *inventory.Instance
}

// served are the clusters whose services the HAProxy of instance i's node
// serves: its own, unless pg_service_provider hands them to a group's
// HAProxy, and those of clusters that hand theirs to a group this node
// belongs to.
func served(i *inventory.Instance) []servedCluster {
	inv := i.Inventory()
	if inv == nil {
		if i.Params.PgServiceProvider == "" {
			return []servedCluster{{&inventory.Cluster{Name: i.Cluster, Instances: []*inventory.Instance{i}}, i}}
		}
		return nil
	}
	var out []servedCluster
	for _, c := range inv.Clusters {
		p := c.Primary()
		if p == nil {
			p = c.Instances[0]
		}
		switch provider := p.Params.PgServiceProvider; {
		case c.Name == i.Cluster && i.Params.PgServiceProvider == "":
			out = append(out, servedCluster{c, i})
		case provider != "" && i.Host != nil && slices.Contains(i.Host.Groups, provider):
			out = append(out, servedCluster{c, p})
		}
	}
	return out
}
