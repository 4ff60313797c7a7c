package agent

import (
	"io/fs"
	"os/user"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"

	"pigsty/pgsql/haproxy"
	"pigsty/pgsql/hba"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/pgbouncer"
)

// Rendered is a file a phase keeps, as its next pass writes it. The
// phases and `pigsty apply`'s plan render through the same functions, so
// a plan shows exactly the files a pass then changes.
type Rendered struct {
	Path string
	Data []byte
	Mode fs.FileMode
	DBSU bool // owned by the dbsu rather than root
	// Secret files hold passwords: a plan shows which of their lines
	// change, never their content.
	Secret bool
	Reload string // what a change reloads
}

// MemberRole maps Patroni's role to the pg_role vocabulary HBA role
// filters use: after a failover the rules follow the member's real role,
// not the one the inventory started it with. An offline replica stays
// offline. An empty Patroni role is the inventory's.
func MemberRole(i *inventory.Instance, patroniRole string) string {
	switch patroniRole {
	case "primary", "master":
		return "primary"
	case "standby_leader":
		return "standby"
	case "replica":
		if i.Role == "primary" {
			return "replica"
		}
	}
	return i.Role
}

// PostgresFiles are what the postgres phase writes into the data
// directory: pg_hba.conf for the member's role and postgresql.auto.conf
// from pg_parameters.
func PostgresFiles(i *inventory.Instance, l layout.Layout, role string) ([]Rendered, error) {
	inst := *i
	inst.Role = role
	rules, err := hba.RenderPostgres(&inst, l)
	if err != nil {
		return nil, err
	}
	return []Rendered{
		{Path: hba.PostgresPath(l), Data: rules, Mode: 0o600, DBSU: true, Reload: "postgres"},
		{Path: filepath.Join(l.Data(), "postgresql.auto.conf"), Data: autoConf(i.Params.PgParameters), Mode: 0o600, DBSU: true, Reload: "postgres"},
	}, nil
}

// PgbouncerFiles are pgbouncer's files: its ini, databases, user options,
// the userlist from the roles' verifiers, and its HBA for the member's
// role.
func PgbouncerFiles(i *inventory.Instance, l layout.Layout, role string, verifiers map[string]string) ([]Rendered, error) {
	files, err := pgbouncer.Render(i, l, verifiers)
	if err != nil {
		return nil, err
	}
	var out []Rendered
	for path, f := range files {
		// userlist.txt holds the password verifiers
		out = append(out, Rendered{Path: path, Data: f.Data, Mode: f.Mode, DBSU: true, Secret: filepath.Base(path) == "userlist.txt", Reload: "pgbouncer"})
	}
	inst := *i
	inst.Role = role
	rules, err := hba.RenderPgbouncer(&inst, l)
	if err != nil {
		return nil, err
	}
	out = append(out, Rendered{Path: hba.PgbouncerPath(l), Data: rules, Mode: 0o600, DBSU: true, Reload: "pgbouncer"})
	sort.Slice(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	return out, nil
}

// PgbouncerUsers are the roles whose verifiers userlist.txt holds.
func PgbouncerUsers(i *inventory.Instance) []string {
	var users []string
	for _, u := range i.Users {
		if u.Pgbouncer && !u.Absent() {
			users = append(users, u.Name)
		}
	}
	return append(users, i.Params.PgAdminUsername, i.Params.PgMonitorUsername)
}

// HAProxyFiles are haproxy.cfg and one file per service this node serves;
// every other file of the services directory is stale and removed.
// leaders (cluster → member holding its leader key) decide the members'
// roles in the services' selectors; nil keeps the declared roles.
func HAProxyFiles(i *inventory.Instance, l layout.Layout, leaders map[string]string) ([]Rendered, error) {
	plan, err := i.Params.Plan()
	if err != nil {
		return nil, err
	}
	rt := haproxyRuntime()
	rt.Leaders = leaders
	files, err := haproxy.Render(i, l, plan, rt)
	if err != nil {
		return nil, err
	}
	var out []Rendered
	for path, f := range files {
		out = append(out, Rendered{Path: path, Data: f.Data, Mode: f.Mode, Reload: "haproxy"})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	return out, nil
}

// haproxyRuntime is what HAProxy's config needs of this host: the account
// its workers drop to, the descriptor limit that bounds its maxconn.
func haproxyRuntime() haproxy.Runtime {
	rt := haproxy.Runtime{FDLimit: fdLimit()}
	if _, err := user.Lookup("haproxy"); err == nil {
		rt.User, rt.Group = "haproxy", "haproxy"
	}
	return rt
}

// fdLimit is the file descriptor limit HAProxy inherits, which bounds its
// maxconn.
func fdLimit() uint64 {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Max
}
