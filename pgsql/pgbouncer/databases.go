package pgbouncer

import (
	"bytes"
	"fmt"
	"strings"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// databases renders database.txt: one line per pooled database of
// pg_databases, reaching postgres over its unix socket. Unlike Pigsty the
// port is written, so a pg_port other than 5432 works, and the pool sizes
// are always written, so the documented per-database defaults (64, 32,
// 100) hold rather than the [pgbouncer] section's.
func databases(i *inventory.Instance, l layout.Layout) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# pgbouncer databases of " + i.Name + ": managed by pigsty, do not edit\n")
	for _, db := range i.Databases {
		if !db.Pooled() {
			continue
		}
		opts := []string{"host=" + l.Socket(), fmt.Sprintf("port=%d", i.Params.PgPort)}
		if db.PoolAuthUser != "" {
			opts = append(opts, "auth_user="+db.PoolAuthUser)
		}
		if db.PoolMode != "" {
			opts = append(opts, "pool_mode="+db.PoolMode)
		}
		for _, n := range []struct {
			key   string
			value int
		}{{"pool_size", db.Size()}, {"min_pool_size", db.SizeMin()}, {"reserve_pool", db.Reserve()}} {
			if n.value < 0 {
				return nil, fmt.Errorf("database %s: %s %d is negative", db.Name, n.key, n.value)
			}
			opts = append(opts, fmt.Sprintf("%s=%d", n.key, n.value))
		}
		opts = append(opts, fmt.Sprintf("max_db_connections=%d", limit(db.MaxDBConnections())))
		line := fmt.Sprintf("%-27s = %s", db.Name, strings.Join(opts, " "))
		if err := oneLine("database", line); err != nil {
			return nil, err
		}
		b.WriteString(line + "\n")
	}
	return b.Bytes(), nil
}

// limit maps the inventory's -1 for "unlimited" to pgbouncer's 0.
func limit(n int) int { return max(n, 0) }
