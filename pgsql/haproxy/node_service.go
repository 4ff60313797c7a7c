package haproxy

import (
	"bytes"
	"fmt"
	"strings"

	"pigsty/pgsql/inventory"
)

// nodeDefaultServer is the default-server line of haproxy_services
// without their own (Pigsty's node service template).
const nodeDefaultServer = "inter 3s fastinter 1s downinter 5s rise 3 fall 3 on-marked-down shutdown-sessions slowstart 30s maxconn 3000 maxqueue 128 weight 100"

// nodeService renders one of the node's haproxy_services in the shape of
// Pigsty's node service template: the listen block, the options as
// written, then one server line per backend.
func nodeService(i *inventory.Instance, svc inventory.HAProxyService) ([]byte, error) {
	bind, mode, balance, maxconn, def := svc.IP, svc.Protocol, svc.Balance, svc.Maxconn, svc.Default
	if bind == "" {
		bind = "*"
	}
	if mode == "" {
		mode = "tcp"
	}
	if balance == "" {
		balance = "roundrobin"
	}
	if maxconn == 0 {
		maxconn = 10000
	}
	if def == "" {
		def = nodeDefaultServer
	}
	def, err := wholeTimes(def)
	if err != nil {
		return nil, err
	}
	for what, v := range map[string]string{"ip": bind, "default": def} {
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("%s %q spans lines", what, v)
		}
	}
	var b bytes.Buffer
	const bar = "#---------------------------------------------------------------------\n"
	b.WriteString(bar)
	fmt.Fprintf(&b, "# service: %s @ %s:%d\n", svc.Name, i.IP, svc.Port)
	b.WriteString(bar)
	fmt.Fprintf(&b, "listen %s\n", svc.Name)
	fmt.Fprintf(&b, "    bind %s:%d\n", bind, svc.Port)
	fmt.Fprintf(&b, "    mode %s\n", mode)
	fmt.Fprintf(&b, "    maxconn %d\n", maxconn)
	fmt.Fprintf(&b, "    balance %s\n", balance)
	for _, opt := range svc.Options {
		if strings.ContainsAny(opt, "\r\n\x00") {
			return nil, fmt.Errorf("option %q spans lines", opt)
		}
		fmt.Fprintf(&b, "    %s\n", strings.TrimSpace(opt))
	}
	fmt.Fprintf(&b, "    default-server %s\n", def)
	b.WriteString("\n    # servers\n")
	for _, s := range svc.Servers {
		if strings.ContainsAny(s.Name+s.Options, "\r\n\x00") || strings.ContainsAny(s.Name, " \t") {
			return nil, fmt.Errorf("server %q: name or options span lines", s.Name)
		}
		fmt.Fprintf(&b, "    server %s %s:%d", s.Name, s.IP, s.Port)
		if o := strings.TrimSpace(s.Options); o != "" {
			b.WriteString(" " + o)
		}
		if s.Weight != nil {
			fmt.Fprintf(&b, " weight %d", *s.Weight)
		}
		if s.Backup {
			b.WriteString(" backup")
		}
		b.WriteString("\n")
	}
	return b.Bytes(), nil
}
