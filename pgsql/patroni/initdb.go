package patroni

import (
	"cmp"
	"strings"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/tune"
)

// initdbOptions are bootstrap.initdb: checksums, encoding and locale as
// Pigsty's templates choose them, plus the authentication of the first
// pg_hba.conf.
//
// Encoding and locale are always passed: initdb otherwise takes them from
// its environment, and the agent starts Patroni with a clean one, where
// initdb picks SQL_ASCII.
//
// auth-local peer and auth-host <pg_pwd_enc> replace initdb's "trust" for
// the time between bootstrap and the HBA reconciler's first pg_hba.conf.
// Patroni itself connects as the dbsu over the socket (peer) and creates
// the replication user with its password, so nothing it does needs trust.
func initdbOptions(p *inventory.Params, tr tune.TemplateTraits) []any {
	var opts []any
	switch {
	case p.PgChecksum || tr.DataChecksums:
		opts = append(opts, "data-checksums")
	case p.PgVersion >= 18:
		// PostgreSQL 18 turns checksums on by default.
		opts = append(opts, "no-data-checksums")
	}
	enc := cmp.Or(p.PgEncoding, "UTF8")
	locale := cmp.Or(p.PgLocale, "C")
	utf8 := strings.EqualFold(enc, "UTF8") || strings.EqualFold(enc, "UTF-8")
	if l := strings.ToUpper(locale); p.PgVersion >= 17 && utf8 && (l == "C" || l == "C.UTF-8") {
		// PostgreSQL 17's builtin provider: C semantics without libc.
		opts = append(opts, kv("encoding", enc), kv("locale-provider", "builtin"), kv("builtin-locale", locale))
	} else {
		opts = append(opts, kv("encoding", enc), kv("locale", locale))
	}
	if p.PgLcCollate != "" {
		opts = append(opts, kv("lc-collate", p.PgLcCollate))
	}
	if p.PgLcCtype != "" {
		opts = append(opts, kv("lc-ctype", p.PgLcCtype))
	}
	return append(opts, kv("auth-local", "peer"), kv("auth-host", cmp.Or(p.PgPwdEnc, "scram-sha-256")))
}

func kv(k, v string) map[string]string { return map[string]string{k: v} }
