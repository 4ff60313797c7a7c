// Package configure writes a new inventory from a template of assets/conf,
// as Pigsty's ./configure does: the host's address in place of the
// template's, the PostgreSQL major and tuning template that fit the host,
// and optionally random passwords. It is pure text in, text out; the
// caller detects the host and writes the file.
package configure

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"net/netip"
	"regexp"
	"strings"
)

// TemplateIP is the address the shipped templates use for the first node.
const TemplateIP = "10.10.10.10"

// Options say what to put into the template.
type Options struct {
	IP        string // this host's address, replaces TemplateIP
	PgVersion int    // 0 keeps the template's pg_version
	Conf      string // pg_conf, e.g. tiny.yml; "" keeps the template's
	// Intranet is the node_firewall_intranet the template declares; an IP
	// outside all of them is added as a /32 so that the intra HBA rules,
	// pgbouncer and services still let the host's own traffic in.
	Intranet []string
	// Generate replaces every default password with a random one.
	Generate bool
}

// Result is the generated inventory and what the user should be told.
type Result struct {
	Text  []byte
	Notes []string
}

var (
	reVersion = regexp.MustCompile(`(?m)^(\s*pg_version:\s*)\S+`)
	reConf    = regexp.MustCompile(`(?m)^(\s*pg_conf:\s*)\S+`)
	reTune    = regexp.MustCompile(`(?m)^(\s*node_tune:\s*)\S+`)
	// Passwords are the values of credential parameters and of password
	// fields of users, wherever the template writes them.
	rePassword = regexp.MustCompile(`((?:\b[a-z_]*password|\bs3_key_secret|\bcipher_pass)\s*:\s*)([^\s,}'"]+|'[^']*'|"[^"]*")`)
	reIntranet = regexp.MustCompile(`(?m)^(\s*)node_firewall_intranet:\s*\n((?:\s*- .*\n)+)`)
)

// Generate fills a template.
func Generate(tmpl []byte, o Options) (Result, error) {
	ip, err := netip.ParseAddr(o.IP)
	if err != nil || !ip.Is4() {
		return Result{}, fmt.Errorf("configure: %q is not an IPv4 address", o.IP)
	}
	text := string(tmpl)
	var notes []string
	text = strings.ReplaceAll(text, TemplateIP, o.IP)
	if o.PgVersion != 0 {
		text = reVersion.ReplaceAllString(text, fmt.Sprintf("${1}%d", o.PgVersion))
	}
	if o.Conf != "" {
		text = reConf.ReplaceAllString(text, "${1}"+o.Conf)
		text = reTune.ReplaceAllString(text, "${1}"+strings.TrimSuffix(o.Conf, ".yml"))
	}
	if !covered(ip, o.Intranet) {
		var added bool
		text, added = addIntranet(text, o.IP+"/32")
		if added {
			notes = append(notes, fmt.Sprintf("%s lies outside node_firewall_intranet (%s): added %s/32 to it, so the intra HBA rules, pgbouncer and services admit this host's own traffic",
				o.IP, strings.Join(o.Intranet, ", "), o.IP))
		}
	}
	if o.Generate {
		var n int
		var genErr error
		text = rePassword.ReplaceAllStringFunc(text, func(m string) string {
			sub := rePassword.FindStringSubmatch(m)
			pw, err := randomPassword(24)
			if err != nil {
				genErr = err
				return m
			}
			n++
			return sub[1] + pw
		})
		if genErr != nil {
			return Result{}, fmt.Errorf("configure: generate passwords: %w", genErr)
		}
		notes = append(notes, fmt.Sprintf("replaced %d default passwords with random ones (see the file; it is readable by root only)", n))
	}
	return Result{Text: []byte(text), Notes: notes}, nil
}

func covered(ip netip.Addr, cidrs []string) bool {
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(ip) {
			return true
		}
		if a, err := netip.ParseAddr(c); err == nil && a == ip {
			return true
		}
	}
	return false
}

// addIntranet appends a CIDR to the template's node_firewall_intranet list.
func addIntranet(text, cidr string) (string, bool) {
	loc := reIntranet.FindStringSubmatchIndex(text)
	if loc == nil {
		return text, false
	}
	items := text[loc[4]:loc[5]]
	indent := items[:len(items)-len(strings.TrimLeft(items, " "))]
	line := fmt.Sprintf("%s- %s%s# added by configure: this host's address\n", indent, cidr, strings.Repeat(" ", max(1, 16-len(cidr))))
	return text[:loc[5]] + line + text[loc[5]:], true
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomPassword is alphanumeric, as Pigsty's configure -g makes them:
// safe in URLs, YAML and shell without quoting.
func randomPassword(n int) (string, error) {
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b), nil
}
