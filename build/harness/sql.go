package harness

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sys/unix"
)

// connConfig is a session to port on the host's address from the root
// namespace, in the simple protocol (pgbouncer pools by transaction), with
// the libpq settings the failover measurements used: connect_timeout=2 and
// a TCP user timeout of 3 s with keepalives, so that a dead peer fails a
// statement instead of hanging it.
func (h *Host) connConfig(port int, user, password, db string) (*pgx.ConnConfig, error) {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password),
		Host: net.JoinHostPort(h.IP, strconv.Itoa(port)), Path: "/" + db, RawQuery: "connect_timeout=2"}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	d := &net.Dialer{
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 3},
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, 3000)
			}); err != nil {
				return err
			}
			return serr
		},
	}
	cfg.DialFunc = d.DialContext
	return cfg, nil
}

// Connect opens a session to port on the host's address, from the root
// namespace.
func (h *Host) Connect(ctx context.Context, port int, user, password, db string) (*pgx.Conn, error) {
	cfg, err := h.connConfig(port, user, password, db)
	if err != nil {
		return nil, err
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %w", h.Name, port, err)
	}
	return c, nil
}

// SQL runs query (one or more statements) through port on the host's
// address from the root namespace, within 10 s, and returns the rows of
// the last statement that returns rows, as text (NULL as "").
func (h *Host) SQL(port int, user, password, db, query string) ([][]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := h.Connect(ctx, port, user, password, db)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	results, err := c.PgConn().Exec(ctx, query).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %w", h.Name, port, err)
	}
	return TextRows(results), nil
}

// TextRows are the rows of the last result that has columns, as text
// (NULL as ""); nil when no statement returned rows.
func TextRows(results []*pgconn.Result) [][]string {
	var rows [][]string
	for _, r := range results {
		if len(r.FieldDescriptions) == 0 {
			continue
		}
		rows = [][]string{}
		for _, raw := range r.Rows {
			row := make([]string, len(raw))
			for i, v := range raw {
				row[i] = string(v)
			}
			rows = append(rows, row)
		}
	}
	return rows
}
