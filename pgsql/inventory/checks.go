package inventory

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// check is a named constraint on a scalar field, referred to by the
// `check` struct tag.
type check struct {
	fn      func(string) error
	allowed string
}

var (
	// Pigsty 4.5's preflight allows @ . - in user names (email-like
	// application users); the documentation's stricter pattern would
	// reject inventories that Pigsty itself accepts.
	reUsername = regexp.MustCompile(`^[a-z_][a-z0-9_@.-]{0,62}$`)
	// The cluster name becomes a DNS name, a pgBackRest stanza, an etcd
	// key and a label, so it stays lowercase as the documentation says.
	reCluster  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	reDBName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$.-]{0,62}$`)
	reIdent    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$-]{0,62}$`)
	reGUC      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)
	reInterval = regexp.MustCompile(`^\d+\s*(us|ms|s|min|h|d)?$`)
	reDate     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

var checks = map[string]check{
	"username": {matcher(reUsername), "allowed: ^[a-z_][a-z0-9_@.-]{0,62}$ (lowercase, starts with a letter or _)"},
	"cluster":  {clusterName, "allowed: ^[a-z][a-z0-9-]*$ (lowercase letters, digits and -, at most 63)"},
	"dbname":   {matcher(reDBName), "allowed: ^[A-Za-z_][A-Za-z0-9_$.-]{0,62}$"},
	"ident":    {matcher(reIdent), "allowed: an SQL identifier ^[A-Za-z_][A-Za-z0-9_$-]{0,62}$"},
	"guc":      {matcher(reGUC), "allowed: a PostgreSQL parameter name such as work_mem or pg_stat_statements.max"},
	"ip":       {ipv4, "allowed: an IPv4 address such as 10.10.10.10"},
	"cidr":     {cidr, "allowed: an IPv4 address or CIDR such as 10.0.0.0/8"},
	"vip":      {vipAddress, "allowed: <ipv4>/<prefix> such as 10.10.10.2/24"},
	"port":     {port, "allowed: a TCP port 1-65535"},
	"path":     {absPath, "allowed: an absolute path"},
	"interval": {interval, "allowed: an interval such as 0, 1h, 30min or 1d"},
	"date":     {date, "allowed: a date YYYY-MM-DD (or infinity)"},
	"weight":   {weight, "allowed: an integer 0-255"},
}

func matcher(re *regexp.Regexp) func(string) error {
	return func(s string) error {
		if !re.MatchString(s) {
			return errors.New("invalid name")
		}
		return nil
	}
}

func clusterName(s string) error {
	if !reCluster.MatchString(s) || strings.HasSuffix(s, "-") {
		return errors.New("invalid cluster name")
	}
	if s == "root" {
		return errors.New("cluster name root is reserved")
	}
	return nil
}

func ipv4(s string) error {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return errors.New("invalid IPv4 address")
	}
	return nil
}

func cidr(s string) error {
	if !strings.Contains(s, "/") {
		return ipv4(s)
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return errors.New("invalid IPv4 CIDR")
	}
	return nil
}

func vipAddress(s string) error {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return errors.New("invalid VIP address")
	}
	return nil
}

func port(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return errors.New("invalid port")
	}
	return nil
}

func weight(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return errors.New("invalid weight")
	}
	return nil
}

func absPath(s string) error {
	if !strings.HasPrefix(s, "/") {
		return errors.New("path must be absolute")
	}
	return nil
}

func interval(s string) error {
	if !reInterval.MatchString(strings.TrimSpace(s)) {
		return errors.New("invalid interval")
	}
	return nil
}

func date(s string) error {
	if s == "infinity" {
		return nil
	}
	if !reDate.MatchString(s) {
		return errors.New("invalid date")
	}
	if _, err := time.Parse("2006-01-02", s); err != nil {
		return fmt.Errorf("invalid date: %v", err)
	}
	return nil
}
