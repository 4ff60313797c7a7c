package haproxy

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// readOnlyUser may look at the stats page but not change server states.
const readOnlyUser, readOnlyPassword = "haproxy", "haproxy"

var reName = regexp.MustCompile(`^[A-Za-z0-9_.@-]+$`)

// global renders haproxy.cfg. Differences from Pigsty's, for a master
// running in the foreground under the agent: no daemon, the pid file,
// socket and state file under the run directory, logs to stderr, and
// load-server-state-from-file so that a reload does not route to a server
// before its first check.
func global(i *inventory.Instance, l layout.Layout, run Runtime) ([]byte, error) {
	p := i.Params
	node := p.Nodename
	if node == "" {
		node = i.Name
	}
	for _, n := range [][2]string{{"nodename", node}, {"haproxy_admin_username", p.HaproxyAdminUsername}, {"user", run.User}, {"group", run.Group}} {
		if n[1] != "" && !reName.MatchString(n[1]) {
			return nil, fmt.Errorf("%s %q: allowed letters, digits and _ . @ -", n[0], n[1])
		}
	}
	if p.HaproxyAdminUsername == "" {
		return nil, fmt.Errorf("haproxy_admin_username is empty")
	}
	conns, err := maxconn(run.FDLimit)
	if err != nil {
		return nil, err
	}
	adminPassword, err := word(p.HaproxyAdminPassword)
	if err != nil {
		return nil, fmt.Errorf("haproxy_admin_password: %w", err)
	}
	var b bytes.Buffer
	path := ConfigPath(l)
	const bar = "#==============================================================#\n"
	b.WriteString(bar)
	fmt.Fprintf(&b, "# File      :   %s\n", filepath.Base(path))
	fmt.Fprintf(&b, "# Desc      :   HAProxy global config for %s\n", i.Name)
	fmt.Fprintf(&b, "# Host      :   %s @ %s\n", i.Name, i.IP)
	fmt.Fprintf(&b, "# Path      :   %s\n", path)
	b.WriteString("# Note      :   managed by pigsty, do not edit\n")
	b.WriteString(bar)

	// No pidfile: HAProxy runs in the foreground under the agent's
	// supervisor, whose own pid file is what adoption reads.
	b.WriteString("\nglobal\n")
	fmt.Fprintf(&b, "    node %s\n", node)
	fmt.Fprintf(&b, "    stats socket %s mode 600 level admin expose-fd listeners\n", SocketPath(l))
	fmt.Fprintf(&b, "    server-state-file %s\n", StatePath(l))
	fmt.Fprintf(&b, "    maxconn %d\n", conns)
	// notice keeps server state changes and drops the per-connection
	// lines, which would flood the agent's log at info.
	b.WriteString("    log stderr format raw local0 notice\n")
	if run.User != "" {
		fmt.Fprintf(&b, "    user %s\n", run.User)
	}
	if run.Group != "" {
		fmt.Fprintf(&b, "    group %s\n", run.Group)
	}

	b.WriteString("\ndefaults\n")
	b.WriteString("    mode tcp\n")
	b.WriteString("    log global\n")
	b.WriteString("    retries 3\n")
	b.WriteString("    timeout queue 3s\n")
	b.WriteString("    timeout connect 3s\n")
	b.WriteString("    timeout check 3s\n")
	fmt.Fprintf(&b, "    timeout client %s\n", p.HaproxyClientTimeout)
	fmt.Fprintf(&b, "    timeout server %s\n", p.HaproxyServerTimeout)
	b.WriteString("    load-server-state-from-file global\n")

	b.WriteString("\nuserlist stats-auth\n")
	fmt.Fprintf(&b, "    group admin users %s\n", p.HaproxyAdminUsername)
	fmt.Fprintf(&b, "    user %s insecure-password %s\n", p.HaproxyAdminUsername, adminPassword)
	if p.HaproxyAdminUsername != readOnlyUser {
		fmt.Fprintf(&b, "    group readonly users %s\n", readOnlyUser)
		fmt.Fprintf(&b, "    user %s insecure-password %s\n", readOnlyUser, readOnlyPassword)
	}

	b.WriteString("\nlisten stats\n")
	fmt.Fprintf(&b, "    bind *:%d\n", p.HaproxyExporterPort)
	b.WriteString("    mode http\n")
	// Metrics are scraped without credentials; the page needs them.
	b.WriteString("    http-request use-service prometheus-exporter if { path /metrics }\n")
	b.WriteString("    stats enable\n")
	fmt.Fprintf(&b, "    stats uri /haproxy/%s/\n", node)
	b.WriteString("    stats refresh 30s\n")
	b.WriteString("    stats hide-version\n")
	b.WriteString("    stats show-node\n")
	b.WriteString("    acl AUTH http_auth(stats-auth)\n")
	b.WriteString("    acl AUTH_ADMIN http_auth_group(stats-auth) admin\n")
	b.WriteString("    stats http-request auth unless AUTH\n")
	b.WriteString("    stats admin if AUTH_ADMIN\n")
	return b.Bytes(), nil
}

// pigstyMaxConn is Pigsty's global maxconn; each connection holds two
// descriptors, and fdReserve leaves room for listeners, checks and the
// master.
const pigstyMaxConn, fdReserve = 65535, 1000

// maxconn fits the global maxconn to the descriptors HAProxy can get:
// HAProxy 2.6 refuses to start when it cannot raise its limit to twice
// maxconn, as on hosts whose hard limit is 20000.
func maxconn(fdLimit uint64) (int, error) {
	if fdLimit == 0 || fdLimit >= 2*pigstyMaxConn+fdReserve {
		return pigstyMaxConn, nil
	}
	if fdLimit < fdReserve+2*1000 {
		return 0, fmt.Errorf("file descriptor limit %d is too low for HAProxy: want at least %d", fdLimit, fdReserve+2*1000)
	}
	return int(fdLimit-fdReserve) / 2, nil
}

var reBare = regexp.MustCompile(`^[A-Za-z0-9_.,:/@%+=-]+$`)

// word writes a value as one word of HAProxy's configuration: bare when
// it can be, else in single quotes, which keep everything literal (double
// quotes would expand $VARIABLES), with a single quote itself as '\”.
func word(s string) (string, error) {
	if strings.ContainsAny(s, "\r\n\x00") {
		return "", fmt.Errorf("spans lines")
	}
	if reBare.MatchString(s) {
		return s, nil
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'", nil
}
