package inventory

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Address aliases of HBA rules and the auth aliases (facts from Pigsty's
// pg_hba.conf template); a value outside these is a mistake worth
// stopping for, since a wrong HBA rule locks users out or lets them in.
var (
	hbaAddrAliases = []string{"local", "localhost", "admin", "infra", "cluster", "intra", "intranet", "world", "all"}
	hbaAuthAliases = []string{"pwd", "ssl", "sha", "md5", "cert", "ssl-md5", "ssl-sha", "deny", "reject", "os", "ident", "peer", "trust", "scram-sha-256", "password", "gss", "sspi", "ldap", "radius", "pam", "bsd"}
	// pgbouncer's hba knows fewer methods than PostgreSQL's.
	pgbAuthMethods = []string{"pwd", "ssl", "sha", "md5", "cert", "ssl-md5", "ssl-sha", "deny", "reject", "os", "ident", "peer", "trust", "scram-sha-256", "password"}
	hbaUserAliases = []string{"${dbsu}", "${repl}", "${monitor}", "${admin}"}
	reHBAUser      = regexp.MustCompile(`^(all|\+?[a-z_][a-z0-9_@.-]{0,62}|\$\{[a-z]+\})$`)
)

func (v *validator) hbaRules(h *Host, param string, rules []HBARule, pgbouncer bool) {
	if h.sources[param].Pos.File == "(defaults)" && param != "pg_hba_rules" && param != "pgb_hba_rules" {
		// the builtin defaults are right by construction; checking them
		// per host would only repeat the same work
		return
	}
	for _, r := range rules {
		o := r.Origin
		if len(r.Rules) > 0 {
			continue
		}
		if r.Addr == "" {
			v.c.errorf(o.Field("addr"), "", "allowed: "+strings.Join(hbaAddrAliases, ", ")+", or an IPv4 address/CIDR",
				"an HBA rule needs addr (or raw rules)")
		} else if !contains(hbaAddrAliases, r.Addr) {
			if err := cidr(r.Addr); err != nil {
				v.c.errorf(o.Field("addr"), quote(r.Addr), "allowed: "+strings.Join(hbaAddrAliases, ", ")+", or an IPv4 address/CIDR",
					"unknown address alias")
			}
		}
		auth := r.Auth
		if auth == "" {
			auth = "pwd"
		}
		allowed := hbaAuthAliases
		if pgbouncer {
			allowed = pgbAuthMethods
		}
		if !contains(allowed, auth) {
			v.c.errorf(o.Field("auth"), quote(auth), "allowed: "+strings.Join(allowed, ", ")+" (or use raw rules)",
				"unknown auth alias")
		}
		user := r.User
		if user == "" {
			user = "all"
		}
		if strings.HasPrefix(user, "${") && !contains(hbaUserAliases, user) {
			v.c.errorf(o.Field("user"), quote(user), "allowed: "+strings.Join(hbaUserAliases, ", ")+", all, a user or +group",
				"unknown user alias")
		} else if !reHBAUser.MatchString(user) {
			v.c.errorf(o.Field("user"), quote(user), "allowed: all, ${dbsu}, ${repl}, ${monitor}, ${admin}, a user name or +group",
				"invalid HBA user")
		}
		if contains(hbaAddrAliases, r.DB) && r.DB != "all" {
			v.c.warnf(o.Field("db"), "db %q is an address alias: did you mean addr: %s, db: all?", r.DB, r.DB)
		}
		if pgbouncer && r.DB == "replication" {
			v.c.errorf(o.Field("db"), quote(r.DB), "allowed: all, pgbouncer or a database name",
				"pgbouncer has no replication database")
		}
	}
}

// services checks a cluster's service definitions.
func (v *validator) services(c *Cluster) {
	for _, i := range c.Instances {
		names := map[string]Origin{}
		for _, list := range [][]Service{i.Params.PgDefaultServices, i.Params.PgServices} {
			for _, s := range list {
				if prev, dup := names[s.Name]; dup {
					v.c.errorf(s.Origin.Field("name"), quote(s.Name), "allowed: unique service names per cluster",
						"service %s is defined twice (also at %s)", s.Name, prev.Pos)
				}
				names[s.Name] = s.Origin
				for field, src := range map[string]string{"selector": s.Selector, "backup": s.Backup} {
					if _, err := ParseSelector(src); err != nil {
						v.c.errorf(s.Origin.Field(field), quote(src), "allowed: [] or [? pg_role == `replica` && !pg_offline_query ]", "%v", err)
					}
				}
				switch s.Dest {
				case "default", "postgres", "pgbouncer":
				default:
					if port(s.Dest) != nil {
						v.c.errorf(s.Origin.Field("dest"), quote(s.Dest), "allowed: default, postgres, pgbouncer or a port number", "invalid service dest")
					}
				}
				if s.IP != "*" && s.IP != "" && ipv4(s.IP) != nil {
					v.c.errorf(s.Origin.Field("ip"), quote(s.IP), "allowed: * or an IPv4 address", "invalid service bind address")
				}
				if !strings.HasPrefix(s.Check, "/") {
					v.c.errorf(s.Origin.Field("check"), quote(s.Check), "allowed: a Patroni REST path such as /primary, /replica, /read-only, /sync", "invalid health check")
				}
			}
		}
	}
}

// ports reports two listeners of one host on the same port: services of
// the host's cluster, PostgreSQL, pgbouncer, Patroni, exporters and etcd.
func (v *validator) ports(h *Host) {
	p := h.Params
	type use struct {
		what string
		o    Origin
	}
	seen := map[int]use{}
	add := func(port int, what string, o Origin) {
		if port == 0 {
			return
		}
		if prev, dup := seen[port]; dup {
			where := prev.o.Pos.String()
			if prev.o.Pos.File == "(defaults)" {
				where = "default " + prev.o.Path
			}
			v.c.errorf(o, quote(strconv.Itoa(port)), "allowed: a port no other listener of this host uses",
				"port %d of %s on %s is already used by %s (%s)", port, what, h.IP, prev.what, where)
			return
		}
		seen[port] = use{what, o}
	}
	add(p.PgPort, "postgres (pg_port)", v.at(h, "pg_port"))
	if p.PgbouncerEnabled {
		add(p.PgbouncerPort, "pgbouncer (pgbouncer_port)", v.at(h, "pgbouncer_port"))
	}
	add(p.PatroniPort, "patroni (patroni_port)", v.at(h, "patroni_port"))
	if p.PgExporterEnabled {
		add(p.PgExporterPort, "pg_exporter_port", v.at(h, "pg_exporter_port"))
	}
	if p.PgbouncerExporterEnabled && p.PgbouncerEnabled {
		add(p.PgbouncerExporterPort, "pgbouncer_exporter_port", v.at(h, "pgbouncer_exporter_port"))
	}
	if p.HaproxyEnabled {
		add(p.HaproxyExporterPort, "haproxy_exporter_port", v.at(h, "haproxy_exporter_port"))
	}
	if p.NodeExporterEnabled {
		add(p.NodeExporterPort, "node_exporter_port", v.at(h, "node_exporter_port"))
	}
	if h.Etcd {
		add(p.EtcdPort, "etcd_port", v.at(h, "etcd_port"))
		add(p.EtcdPeerPort, "etcd_peer_port", v.at(h, "etcd_peer_port"))
	}
	if p.PgServiceProvider == "" && p.HaproxyEnabled {
		for _, list := range [][]Service{p.PgDefaultServices, p.PgServices} {
			for _, s := range list {
				add(s.Port, "service "+p.PgCluster+"-"+s.Name, s.Origin.Field("port"))
			}
		}
	}
}

// crontab checks Pigsty crontab lines: five time fields, then (for
// node_crontab) the user, then the command.
func (v *validator) crontab(h *Host, param string, lines []string, withUser bool) {
	o := v.at(h, param)
	for n, line := range lines {
		fields := strings.Fields(line)
		want := 6
		shape := "<min> <hour> <day> <month> <weekday> <command>"
		if withUser {
			want = 7
			shape = "<min> <hour> <day> <month> <weekday> <user> <command>"
		}
		at := Origin{Pos: o.Pos, Path: fmt.Sprintf("%s[%d]", o.Path, n)}
		if strings.HasPrefix(fields0(fields), "@") {
			continue
		}
		if len(fields) < want {
			v.c.errorf(at, quote(line), "allowed: "+shape, "invalid crontab entry: too few fields")
			continue
		}
		for f, name := range []string{"minute", "hour", "day of month", "month", "day of week"} {
			if err := cronField(fields[f], cronRanges[f]); err != nil {
				v.c.errorf(at, quote(line), "allowed: "+shape, "invalid crontab %s %q: %v", name, fields[f], err)
				break
			}
		}
	}
}

func fields0(f []string) string {
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

var cronRanges = [5][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}}

// cronField accepts *, n, a-b, lists of those, and /step.
func cronField(f string, r [2]int) error {
	for _, part := range strings.Split(f, ",") {
		base, step, hasStep := strings.Cut(part, "/")
		if hasStep {
			if n, err := strconv.Atoi(step); err != nil || n < 1 {
				return fmt.Errorf("bad step")
			}
		}
		if base == "*" {
			continue
		}
		lo, hi, isRange := strings.Cut(base, "-")
		for _, x := range []string{lo, hi} {
			if x == "" && !isRange {
				continue
			}
			n, err := strconv.Atoi(x)
			if err != nil {
				if name := strings.ToLower(x); cronNames[name] {
					continue
				}
				return fmt.Errorf("not a number")
			}
			if n < r[0] || n > r[1] {
				return fmt.Errorf("out of range %d-%d", r[0], r[1])
			}
		}
	}
	return nil
}

var cronNames = map[string]bool{
	"jan": true, "feb": true, "mar": true, "apr": true, "may": true, "jun": true, "jul": true, "aug": true,
	"sep": true, "oct": true, "nov": true, "dec": true,
	"sun": true, "mon": true, "tue": true, "wed": true, "thu": true, "fri": true, "sat": true,
}
