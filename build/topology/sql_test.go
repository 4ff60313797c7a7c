package topology

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"pigsty/build/harness"
)

// query runs statements as the test user (dbrole_admin: it reads the
// monitoring views and every setting) against addr:port from the root
// namespace — a host's address or the VIP — and returns the rows of the
// last one as text (NULL as "").
func query(addr string, port int, sql string) ([][]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// sslmode=disable: with prefer, pgx opens a second connection after
	// pgbouncer declines TLS, which HAProxy's round robin sends to the
	// next server — every session would land on the same one.
	u := url.URL{Scheme: "postgres", User: url.UserPassword(harness.TestUser, harness.TestPassword),
		Host: net.JoinHostPort(addr, strconv.Itoa(port)), Path: "/" + harness.TestDB, RawQuery: "connect_timeout=2&sslmode=disable"}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %w", addr, port, err)
	}
	defer conn.Close(context.Background())
	results, err := conn.PgConn().Exec(ctx, sql).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %w", addr, port, err)
	}
	return harness.TextRows(results), nil
}

// value is query for a single value.
func value(addr string, port int, sql string) (string, error) {
	rows, err := query(addr, port, sql)
	if err != nil {
		return "", err
	}
	if len(rows) != 1 || len(rows[0]) != 1 {
		return "", fmt.Errorf("%s:%d: %q returned %v", addr, port, sql, rows)
	}
	return rows[0][0], nil
}

// server is the host whose postgres answers at addr:port — found by its
// data directory, which is under the host's root — and whether it is a
// primary (not in recovery).
func server(c *harness.Cluster, addr string, port int) (*harness.Host, bool, error) {
	rows, err := query(addr, port, "SELECT current_setting('data_directory'), NOT pg_is_in_recovery()")
	if err != nil {
		return nil, false, err
	}
	for _, h := range c.Hosts {
		if strings.HasPrefix(rows[0][0], h.Root+"/") {
			return h, rows[0][1] == "t", nil
		}
	}
	return nil, false, fmt.Errorf("%s:%d: data directory %s is no host's", addr, port, rows[0][0])
}

// eventually calls fn every 200 ms until it returns nil or timeout passes,
// and returns how long that took.
func eventually(t *testing.T, timeout time.Duration, what string, fn func() error) time.Duration {
	t.Helper()
	start := time.Now()
	var err error
	for {
		if err = fn(); err == nil {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
