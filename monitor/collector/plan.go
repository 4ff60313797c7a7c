package collector

import (
	"fmt"
	"strings"
)

// Facts describe one server connection, as the plan needs them.
type Facts struct {
	Version    int  // server_version_num; pgbouncer's 1.18.0 is 11800
	Recovery   bool // pg_is_in_recovery()
	Database   string
	Username   string
	Extensions map[string]bool // installed in Database
	Schemas    map[string]bool // present in Database
	// Cluster is set on the connection that runs the branches tagged
	// cluster: the exporter's own database. The others run only the
	// per-database branches.
	Cluster   bool
	Pgbouncer bool            // the server is pgbouncer's admin console
	Tags      map[string]bool // the exporter's own tags
}

// Decision is whether a branch runs on a server, and why not.
type Decision struct {
	Branch *Branch
	Run    bool
	Reason string // why it does not run
}

// Plan is the branches that run on a server with these facts, in order.
func (c *Config) Plan(f Facts) []*Branch {
	var out []*Branch
	for _, b := range c.Branches {
		if ok, _ := b.Fits(f); ok {
			out = append(out, b)
		}
	}
	return out
}

// Explain is the decision for every branch, for the /explain page.
func (c *Config) Explain(f Facts) []Decision {
	out := make([]Decision, len(c.Branches))
	for i, b := range c.Branches {
		ok, why := b.Fits(f)
		out[i] = Decision{Branch: b, Run: ok, Reason: why}
	}
	return out
}

// Fits reports whether the branch runs on a server with facts f, and if
// not, why.
func (b *Branch) Fits(f Facts) (bool, string) {
	if b.Skip {
		return false, "skip is set"
	}
	if b.MinVersion > 0 && f.Version < b.MinVersion {
		return false, fmt.Sprintf("version %d below min_version %d", f.Version, b.MinVersion)
	}
	if b.MaxVersion > 0 && f.Version >= b.MaxVersion {
		return false, fmt.Sprintf("version %d not below max_version %d", f.Version, b.MaxVersion)
	}
	if b.HasTag("pgbouncer") != f.Pgbouncer {
		if f.Pgbouncer {
			return false, "not a pgbouncer collector"
		}
		return false, "pgbouncer only"
	}
	for _, t := range b.Tags {
		if ok, why := tagFits(t, f); !ok {
			return false, why
		}
	}
	return true, ""
}

func tagFits(t string, f Facts) (bool, string) {
	switch t {
	case "cluster":
		if !f.Cluster && !f.Pgbouncer {
			return false, "cluster level: runs in the exporter's own database"
		}
	case "primary", "master":
		if f.Recovery {
			return false, "primary only"
		}
	case "replica", "standby":
		if !f.Recovery {
			return false, "replica only"
		}
	case "pgbouncer":
	default:
		kind, arg, _ := strings.Cut(t, ":")
		switch kind {
		case "dbname":
			if f.Database != arg {
				return false, "database " + arg + " only"
			}
		case "username":
			if f.Username != arg {
				return false, "user " + arg + " only"
			}
		case "extension":
			if !f.Extensions[arg] {
				return false, "extension " + arg + " is not installed"
			}
		case "schema":
			if !f.Schemas[arg] {
				return false, "schema " + arg + " does not exist"
			}
		case "not":
			if f.Tags[arg] {
				return false, "exporter tagged " + arg
			}
		default:
			if !f.Tags[t] {
				return false, "exporter not tagged " + t
			}
		}
	}
	return true, ""
}
