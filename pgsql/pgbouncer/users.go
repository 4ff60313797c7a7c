package pgbouncer

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"pigsty/pgsql/inventory"
)

// userOpts renders useropts.txt: the per-user pool mode and connection
// limit of every user that sets one.
func userOpts(i *inventory.Instance) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# pgbouncer user options of " + i.Name + ": managed by pigsty, do not edit\n")
	for _, u := range i.Users {
		if u.Absent() || (u.PoolMode == "" && u.PoolConnlimit == nil) {
			continue
		}
		var opts []string
		if u.PoolMode != "" {
			opts = append(opts, "pool_mode="+u.PoolMode)
		}
		if u.PoolConnlimit != nil {
			opts = append(opts, fmt.Sprintf("max_user_connections=%d", limit(*u.PoolConnlimit)))
		}
		line := fmt.Sprintf("%-27s = %s", u.Name, strings.Join(opts, " "))
		if err := oneLine("user", line); err != nil {
			return nil, err
		}
		b.WriteString(line + "\n")
	}
	return b.Bytes(), nil
}

// userList renders userlist.txt: the users that log in through pgbouncer
// with their verifiers. The admin and monitor users are always listed, also
// in auth_query mode: the lookup function skips superusers, and a console
// login known only through auth_query can hang. The dbsu is listed with an
// empty secret: pgbouncer 1.18 rejects a peer login over the socket from a
// user it does not know, and it refuses empty secrets for the password
// methods, so the dbsu still cannot log in by password. The file takes no
// comments other than ';' lines, so it has no header.
func userList(i *inventory.Instance, secrets map[string]string) ([]byte, error) {
	p := i.Params
	names := []string{p.PgDbsu, p.PgAdminUsername, p.PgMonitorUsername}
	for _, u := range i.Users {
		if u.Pgbouncer && !u.Absent() {
			names = append(names, u.Name)
		}
	}
	sort.Strings(names)
	var b bytes.Buffer
	for n, name := range names {
		secret := secrets[name]
		if name == p.PgDbsu {
			secret = ""
		} else if secret == "" {
			continue
		}
		if n > 0 && names[n-1] == name {
			continue
		}
		if err := oneLine("user", name); err != nil {
			return nil, err
		}
		if oneLine("", secret) != nil {
			return nil, fmt.Errorf("the verifier of user %s spans lines", name) // never print a secret
		}
		fmt.Fprintf(&b, "%s %s\n", quote(name), quote(secret))
	}
	return b.Bytes(), nil
}

// quote is the auth file's quoting: double quotes, doubled inside.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
