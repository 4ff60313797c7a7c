package hba

import (
	"fmt"
	"strings"

	"pigsty/pgsql/inventory"
)

// dialect is what PostgreSQL and pgbouncer understand differently in the
// same rules.
type dialect struct {
	name  string // in the header's description
	ident string // what the os/ident aliases become
	// methods the server accepts; an unknown one makes PostgreSQL refuse
	// the whole file and pgbouncer silently skip the line.
	methods []string
	// pgbouncer 1.18 skips a line naming a +group or the replication
	// database (with only a warning), which would quietly change who
	// gets in: such rules are refused instead.
	groups, replication bool
}

var (
	postgres = dialect{
		name: "Postgres", ident: "ident", groups: true, replication: true,
		methods: []string{"trust", "reject", "scram-sha-256", "md5", "password", "gss", "sspi", "ident", "peer", "ldap", "radius", "cert", "pam", "bsd"},
	}
	pgbouncer = dialect{
		name: "Pgbouncer", ident: "peer",
		methods: []string{"trust", "reject", "scram-sha-256", "md5", "password", "peer", "cert"},
	}
)

// line is one record of the file.
type line struct{ typ, addr, method string }

// lines expands an alias rule into records.
func (d dialect) lines(i *inventory.Instance, r inventory.HBARule) ([]line, error) {
	if err := d.names(r); err != nil {
		return nil, err
	}
	method, ssl, err := d.method(r.Auth, i.Params.PgPwdEnc)
	if err != nil {
		return nil, err
	}
	eps, err := endpoints(i, r.Addr)
	if err != nil {
		return nil, err
	}
	out := make([]line, 0, len(eps))
	for _, ep := range eps {
		l := line{typ: "host", addr: ep.cidr, method: method}
		switch {
		case ep.socket:
			l.typ = "local"
		case ssl && !ep.loopback:
			l.typ = "hostssl"
		}
		// PostgreSQL refuses the whole file over either of these.
		if method == "peer" && l.typ != "local" {
			return nil, fmt.Errorf("auth %s from addr %s: peer works on the unix socket only (addr local)", r.Auth, r.Addr)
		}
		if method == "cert" && l.typ != "hostssl" {
			return nil, fmt.Errorf("auth cert from addr %s: a client certificate needs a TLS connection, not the unix socket or localhost", r.Addr)
		}
		out = append(out, l)
	}
	return out, nil
}

// method resolves an auth alias: the method written, and whether the rule
// asks for TLS (hostssl).
func (d dialect) method(auth, pwdEnc string) (string, bool, error) {
	pwd := "scram-sha-256"
	if pwdEnc == "md5" {
		pwd = "md5"
	}
	m, ssl := auth, false
	switch auth {
	case "pwd":
		m = pwd
	case "ssl":
		m, ssl = pwd, true
	case "sha":
		m = "scram-sha-256"
	case "ssl-sha":
		m, ssl = "scram-sha-256", true
	case "ssl-md5":
		m, ssl = "md5", true
	case "cert":
		ssl = true
	case "deny":
		m = "reject"
	case "os", "ident":
		m = d.ident
	}
	if !contains(d.methods, m) {
		return "", false, fmt.Errorf("auth %q: %s accepts pwd, ssl, sha, md5, cert, ssl-md5, ssl-sha, deny, os, %s (use raw rules for anything else)",
			auth, d.name, strings.Join(d.methods, ", "))
	}
	return m, ssl, nil
}

func (d dialect) names(r inventory.HBARule) error {
	if !d.groups {
		for _, u := range strings.Split(r.User, ",") {
			if strings.HasPrefix(u, "+") {
				return fmt.Errorf("user %q: %s has no group membership in HBA rules; name the users, or all", r.User, d.name)
			}
		}
	}
	if !d.replication {
		for _, db := range strings.Split(r.DB, ",") {
			if db == "replication" {
				return fmt.Errorf("db replication: %s has no replication database", d.name)
			}
		}
	}
	return nil
}
