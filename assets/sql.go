package assets

import _ "embed"

// MonitorSQL creates the monitor schema's views and functions. Provisioning
// runs it in template1 and postgres, so every database created later has
// them too; it is idempotent and never drops anything.
//
//go:embed sql/monitor.sql
var MonitorSQL string
