// Package monitor will hold pigsty's exporters (pg on 9630, pgbouncer on
// 9631, node on 9100), the metrics store wrapper (the only package that
// imports VictoriaMetrics) and the alert and recording rules.
package monitor
