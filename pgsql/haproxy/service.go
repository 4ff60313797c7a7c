package haproxy

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/tune"
)

// service renders one listen block in Pigsty's shape. Checks are OPTIONS
// requests to Patroni's REST API: a GET makes Patroni log a traceback
// each time HAProxy resets the connection while the body is being sent.
func service(i *inventory.Instance, svc inventory.ServiceEndpoint, plan tune.Plan) ([]byte, error) {
	if svc.Check == "" || strings.ContainsAny(svc.Check, " \t\r\n#'\"\\") {
		return nil, fmt.Errorf("check %q: allowed a Patroni REST path such as /primary", svc.Check)
	}
	options := svc.Options
	if options == "" {
		options = plan.HAProxyOptions()
	}
	if strings.ContainsAny(options, "\r\n\x00") {
		return nil, fmt.Errorf("options %q span lines", options)
	}
	options, err := wholeTimes(options)
	if err != nil {
		return nil, err
	}
	bind := svc.IP
	if bind == "" {
		bind = "*"
	}
	var instances, backups []string
	for _, s := range svc.Servers {
		if s.Backup {
			backups = append(backups, s.IP)
		} else {
			instances = append(instances, s.IP)
		}
	}
	var b bytes.Buffer
	const bar = "#---------------------------------------------------------------------\n"
	b.WriteString(bar)
	fmt.Fprintf(&b, "# service: %s @ %s:%d\n", svc.Name, i.IP, svc.Port)
	b.WriteString(bar)
	b.WriteString(strings.TrimSpace("# service instances "+strings.Join(instances, ", ")) + "\n")
	b.WriteString(strings.TrimSpace("# service backups   "+strings.Join(backups, ", ")) + "\n")
	fmt.Fprintf(&b, "listen %s\n", svc.Name)
	fmt.Fprintf(&b, "    bind %s:%d\n", bind, svc.Port)
	b.WriteString("    mode tcp\n")
	fmt.Fprintf(&b, "    maxconn %d\n", svc.Maxconn)
	fmt.Fprintf(&b, "    balance %s\n", svc.Balance)
	b.WriteString("    option httpchk\n")
	b.WriteString("    option http-keep-alive\n")
	fmt.Fprintf(&b, "    http-check send meth OPTIONS uri %s\n", svc.Check)
	b.WriteString("    http-check expect status 200\n")
	fmt.Fprintf(&b, "    default-server %s\n", options)
	b.WriteString("\n    # servers\n")
	for _, s := range svc.Servers {
		fmt.Fprintf(&b, "    server %s %s:%d check port %d", s.Name, s.IP, s.Port, s.CheckPort)
		if s.CheckSSL {
			// the check reads only a status code of the members' own
			// API; verifying would make HAProxy's start depend on the
			// CA file being in place
			b.WriteString(" check-ssl verify none")
		}
		fmt.Fprintf(&b, " weight %d", s.Weight)
		if s.Backup {
			b.WriteString(" backup")
		}
		b.WriteString("\n")
	}
	return b.Bytes(), nil
}

var reFractionalSeconds = regexp.MustCompile(`^([0-9]*)\.([0-9]+)s$`)

// wholeTimes rewrites fractional seconds such as the fast plan's
// "fastinter 0.5s" as milliseconds: HAProxy 2.6 takes whole numbers only
// and refuses the whole configuration otherwise.
func wholeTimes(options string) (string, error) {
	fields := strings.Fields(options)
	for n, f := range fields {
		m := reFractionalSeconds.FindStringSubmatch(f)
		if m == nil {
			continue
		}
		frac := strings.TrimRight(m[2], "0")
		if len(frac) > 3 {
			return "", fmt.Errorf("options: time %q is not a whole number of milliseconds", f)
		}
		ms, err := strconv.Atoi("0" + m[1] + frac + strings.Repeat("0", 3-len(frac)))
		if err != nil {
			return "", fmt.Errorf("options: time %q: %w", f, err)
		}
		fields[n] = strconv.Itoa(ms) + "ms"
	}
	return strings.Join(fields, " "), nil
}
