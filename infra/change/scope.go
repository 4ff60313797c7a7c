package change

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"pigsty/pgsql/inventory"
)

// sections cuts an instance's effective configuration into the parts a
// scoped change may touch: each user, each database, the HBA rules, the
// services, and everything else.
func sections(i *inventory.Instance) map[string]string {
	out := map[string]string{}
	put := func(key string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			b = []byte(err.Error())
		}
		out[key] = string(b)
	}
	for _, u := range i.Users {
		put("user "+u.Name, u)
	}
	for _, db := range i.Databases {
		put("database "+db.Name, db)
	}
	put("hba", []any{i.HBA, i.PgbHBA})
	put("services", []any{i.Services, i.Params.HaproxyServices})
	rest := *i.Params
	rest.PgUsers, rest.PgDefaultRoles, rest.PgDatabases = nil, nil, nil
	rest.PgHbaRules, rest.PgbHbaRules, rest.PgDefaultHbaRules, rest.PgbDefaultHbaRules = nil, nil, nil, nil
	rest.PgServices, rest.PgDefaultServices, rest.HaproxyServices = nil, nil, nil
	rest.PgWeight, rest.PgServiceProvider, rest.PgDefaultServiceDest = 0, "", ""
	// system users' passwords belong to the users, as their passwords
	rest.PgAdminPassword, rest.PgMonitorPassword, rest.PgReplicationPassword, rest.PgDbsuPassword = "", "", "", ""
	put("parameters", []any{i.Role, i.IP, rest})
	return out
}

// differences are the sections of each instance that differ between two
// inventories, by instance name; an instance in one only differs whole.
func differences(old, cur *inventory.Inventory) map[string][]string {
	out := map[string][]string{}
	before := map[string]*inventory.Instance{}
	if old != nil {
		for _, i := range old.Instances() {
			before[i.Name] = i
		}
	}
	for _, i := range cur.Instances() {
		prev, ok := before[i.Name]
		delete(before, i.Name)
		if !ok {
			out[i.Name] = []string{"the whole instance (new)"}
			continue
		}
		a, b := sections(prev), sections(i)
		var keys []string
		for k, v := range b {
			if a[k] != v {
				keys = append(keys, k)
			}
		}
		for k := range a {
			if _, ok := b[k]; !ok {
				keys = append(keys, k)
			}
		}
		if len(keys) > 0 {
			sort.Strings(keys)
			out[i.Name] = keys
		}
	}
	for name := range before {
		out[name] = []string{"the whole instance (gone from the inventory)"}
	}
	return out
}

// allowed reports whether a section of an instance may change under the
// request's limit and scope.
func (r Request) allowed(i string, cls string, section string, targets map[string]bool) bool {
	if !targets[i] {
		return false
	}
	s := r.Scope
	switch s.Kind {
	case "":
		return true
	case "user":
		return cls == s.Cluster && slices.ContainsFunc(s.Names, func(n string) bool { return section == "user "+n })
	case "db":
		return cls == s.Cluster && slices.ContainsFunc(s.Names, func(n string) bool { return section == "database "+n })
	case "hba":
		return cls == s.Cluster && section == "hba"
	case "svc":
		return cls == s.Cluster && section == "services"
	}
	return false
}

// outOfScope are the changes of the inventory the request may not make,
// as lines for the user.
func (r Request) outOfScope(old, cur *inventory.Inventory, targets map[string]bool) []string {
	clusterOf := map[string]string{}
	for _, inv := range []*inventory.Inventory{old, cur} {
		if inv == nil {
			continue
		}
		for _, i := range inv.Instances() {
			clusterOf[i.Name] = i.Cluster
		}
	}
	var out []string
	for ins, keys := range differences(old, cur) {
		for _, k := range keys {
			if !r.allowed(ins, clusterOf[ins], k, targets) {
				out = append(out, fmt.Sprintf("%s: %s", ins, k))
			}
		}
	}
	sort.Strings(out)
	return out
}

// what names the request's scope for messages.
func (r Request) what() string {
	s := r.Scope
	switch s.Kind {
	case "user":
		return fmt.Sprintf("users %s of %s", strings.Join(s.Names, ", "), s.Cluster)
	case "db":
		return fmt.Sprintf("databases %s of %s", strings.Join(s.Names, ", "), s.Cluster)
	case "hba":
		return "the HBA rules of " + s.Cluster
	case "svc":
		return "the services of " + s.Cluster
	}
	return "the instances of -l " + r.Limit
}
