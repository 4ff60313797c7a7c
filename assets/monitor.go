package assets

import _ "embed"

// PgExporterConfig is the built-in collector configuration of the pg and
// pgbouncer exporters, in pg_exporter's format: Pigsty's metric families
// and names, with {{ ttl_* }} placeholders for pg_exporter_cache_ttls. A
// file named by pg_exporter_config on the host replaces it.
//
//go:embed monitor/pg_exporter.yml
var PgExporterConfig []byte
