package pgbouncer

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"pigsty/pgsql/hba"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// authQuery looks users up through the monitor schema's SECURITY DEFINER
// function, which returns non-superusers only.
const authQuery = "SELECT username, password FROM monitor.pgbouncer_auth($1)"

// config renders pgbouncer.ini: Pigsty's settings, with these changes for
// pgbouncer 1.18 under a supervisor:
//   - no logfile: in the foreground pgbouncer would write every line to
//     the file and to stderr, and the agent already keeps stderr;
//   - server_login_retry 1 s instead of 15 s, which otherwise keeps
//     clients out for that long after the local postgres comes back;
//   - no max_prepared_statements, which 1.18 does not know.
func config(i *inventory.Instance, l layout.Layout) ([]byte, error) {
	p := i.Params
	listen, err := listenAddr(i)
	if err != nil {
		return nil, err
	}
	path := ConfigPath(l)
	var b bytes.Buffer
	const bar = "#==============================================================#\n"
	b.WriteString(bar)
	fmt.Fprintf(&b, "# File      :   %s\n", filepath.Base(path))
	fmt.Fprintf(&b, "# Desc      :   Pgbouncer Main Config for %s\n", i.Name)
	fmt.Fprintf(&b, "# Host      :   %s @ %s:%d\n", i.Name, i.IP, p.PgbouncerPort)
	fmt.Fprintf(&b, "# Path      :   %s\n", path)
	b.WriteString("# Note      :   managed by pigsty, do not edit\n")
	b.WriteString(bar)
	fmt.Fprintf(&b, "\n[users]\n%%include %s\n", userOptsPath(l))
	fmt.Fprintf(&b, "\n[databases]\n%%include %s\n", databasesPath(l))
	b.WriteString("\n[pgbouncer]\n")

	settings := [][2]string{
		{"pool_mode", p.PgbouncerPoolmode},
		{"listen_addr", listen},
		{"listen_port", strconv.Itoa(p.PgbouncerPort)},
		{"unix_socket_dir", l.Socket()},
		{"pidfile", PidPath(l)},
		{"auth_type", "hba"},
		{"auth_file", userListPath(l)},
		{"auth_hba_file", hba.PgbouncerPath(l)},
	}
	if p.PgbouncerAuthQuery {
		settings = append(settings, [][2]string{{"auth_user", p.PgDbsu}, {"auth_query", authQuery}}...)
	}
	cert := l.Cert()
	settings = append(settings, [][2]string{
		{"admin_users", p.PgDbsu + ", " + p.PgAdminUsername},
		{"stats_users", p.PgDbsu + ", " + p.PgMonitorUsername},
		{"server_reset_query", "DISCARD ALL"},
		{"server_reset_query_always", "0"},
		{"server_login_retry", "1"},
		{"application_name_add_host", "0"},
		{"max_client_conn", "20000"},
		{"min_pool_size", "0"},
		{"default_pool_size", "50"},
		{"reserve_pool_size", "30"},
		{"reserve_pool_timeout", "1"},
		{"server_lifetime", "600"},
		{"max_db_connections", "100"},
		{"max_user_connections", "100"},
		{"server_round_robin", "0"},
		{"log_connections", "0"},
		{"log_disconnections", "0"},
		{"ignore_startup_parameters", strings.Join(p.PgbouncerIgnoreParam, ", ")},
		{"client_tls_sslmode", p.PgbouncerSslmode},
		{"client_tls_cert_file", filepath.Join(cert, "server.crt")},
		{"client_tls_key_file", filepath.Join(cert, "server.key")},
		{"client_tls_ca_file", filepath.Join(cert, "ca.crt")},
	}...)
	for _, s := range settings {
		if err := oneLine(s[0], s[1]); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%-27s = %s\n", s[0], s[1])
	}
	return b.Bytes(), nil
}

// listenAddr is listen_addr: the instance's listen addresses.
func listenAddr(i *inventory.Instance) (string, error) {
	addrs, err := i.Listen()
	if err != nil {
		return "", err
	}
	return strings.Join(addrs, ","), nil
}
