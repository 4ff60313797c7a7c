package assets

import "embed"

// Rules are the metrics store's recording and alert rules in Prometheus'
// rule file format, one file per module (agent, pgsql, node, etcd,
// infra): Pigsty's alerts with their names, expressions, durations and
// severities, and the recording rules those alerts read. The infra host
// evaluates them; a file of the same name in its rules directory
// replaces the one shipped here.
//
//go:embed rules/*.yml
var Rules embed.FS
