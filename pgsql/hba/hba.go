// Package hba renders PostgreSQL's pg_hba.conf and pgbouncer's
// pgb_hba.conf from an instance's merged HBA rules, expanding Pigsty's
// address and auth aliases. A rule whose role filter does not apply to the
// instance stays in the file, commented out and marked [DISABLED], so a
// reader sees the whole policy and a role change only flips comments.
package hba

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// PostgresPath is where PostgreSQL reads its HBA rules: pigsty writes the
// file itself, Patroni leaves it alone.
func PostgresPath(l layout.Layout) string { return filepath.Join(l.Data(), "pg_hba.conf") }

// PgbouncerPath is pgbouncer's auth_hba_file.
func PgbouncerPath(l layout.Layout) string { return filepath.Join(l.Pgbouncer(), "pgb_hba.conf") }

// RenderPostgres renders pg_hba.conf for instance i.
func RenderPostgres(i *inventory.Instance, l layout.Layout) ([]byte, error) {
	out, err := render(i, l, postgres, i.HBA, PostgresPath(l), i.Params.PgPort)
	if err != nil {
		return nil, fmt.Errorf("render pg_hba.conf for %s: %w", i.Name, err)
	}
	return out, nil
}

// RenderPgbouncer renders pgb_hba.conf for the pgbouncer of instance i.
func RenderPgbouncer(i *inventory.Instance, l layout.Layout) ([]byte, error) {
	out, err := render(i, l, pgbouncer, i.PgbHBA, PgbouncerPath(l), i.Params.PgbouncerPort)
	if err != nil {
		return nil, fmt.Errorf("render pgb_hba.conf for %s: %w", i.Name, err)
	}
	return out, nil
}

func render(i *inventory.Instance, l layout.Layout, d dialect, rules []inventory.HBARule, path string, port int) ([]byte, error) {
	var b bytes.Buffer
	header(&b, i, l, d, path, port)
	for n, r := range rules {
		if err := d.rule(&b, i, r); err != nil {
			return nil, fmt.Errorf("rule %d %q (%s %s): %w", n+1, r.Title, r.Origin.Pos, r.Origin.Path, err)
		}
	}
	return b.Bytes(), nil
}

func header(b *bytes.Buffer, i *inventory.Instance, l layout.Layout, d dialect, path string, port int) {
	p := i.Params
	const bar = "#==============================================================#\n"
	b.WriteString(bar)
	fmt.Fprintf(b, "# File      :   %s\n", filepath.Base(path))
	fmt.Fprintf(b, "# Desc      :   %s HBA Rules for %s [%s]\n", d.name, i.Name, i.Role)
	fmt.Fprintf(b, "# Host      :   %s @ %s:%d\n", i.Name, i.IP, port)
	fmt.Fprintf(b, "# Path      :   %s\n", path)
	b.WriteString("# Note      :   managed by pigsty, do not edit\n")
	b.WriteString(bar)
	b.WriteString("\n# addr alias\n")
	fmt.Fprintf(b, "# local     : %s\n", l.Socket())
	fmt.Fprintf(b, "# admin     : %s\n", p.AdminIP)
	fmt.Fprintf(b, "# infra     : %s\n", strings.Join(infraIPs(i), ", "))
	fmt.Fprintf(b, "# intra     : %s\n", strings.Join(p.NodeFirewallIntranet, ", "))
	fmt.Fprintf(b, "# cluster   : %s\n", strings.Join(memberIPs(i), ", "))
	b.WriteString("\n# user alias\n")
	fmt.Fprintf(b, "# dbsu      : %s\n", p.PgDbsu)
	fmt.Fprintf(b, "# repl      : %s\n", p.PgReplicationUsername)
	fmt.Fprintf(b, "# monitor   : %s\n", p.PgMonitorUsername)
	fmt.Fprintf(b, "# admin     : %s\n", p.PgAdminUsername)
}

var roles = []string{"default", "common", "primary", "replica", "offline", "standby", "delayed"}

// rule writes one rule: its title comment, then its lines.
func (d dialect) rule(b *bytes.Buffer, i *inventory.Instance, r inventory.HBARule) error {
	if !contains(roles, r.Role) {
		return fmt.Errorf("role %q: allowed %s", r.Role, strings.Join(roles, ", "))
	}
	prefix, disabled := "", ""
	if !i.Active(r.Role) {
		prefix, disabled = "#", " [DISABLED]"
	}
	if len(r.Rules) > 0 {
		fmt.Fprintf(b, "\n# %s [%s]%s\n", title(r, "raw rules"), r.Role, disabled)
		for _, raw := range r.Rules {
			for _, ln := range strings.Split(strings.TrimRight(raw, "\n"), "\n") {
				b.WriteString(prefix + ln + "\n")
			}
		}
		return nil
	}
	lines, err := d.lines(i, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(b, "\n# %s [%s]%s\n", title(r, fmt.Sprintf("%s to %s from %s with %s", r.User, r.DB, r.Addr, r.Auth)), r.Role, disabled)
	for _, ln := range lines {
		fmt.Fprintf(b, "%s%-8s %-18s %-18s %-18s %s\n", prefix, ln.typ, r.DB, r.User, ln.addr, ln.method)
	}
	return nil
}

func title(r inventory.HBARule, fallback string) string {
	if t := strings.TrimSpace(r.Title); t != "" {
		return strings.ReplaceAll(t, "\n", " ")
	}
	return fallback
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
