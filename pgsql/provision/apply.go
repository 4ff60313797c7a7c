package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Conn is what Apply needs of a database session; *pgx.Conn has it.
type Conn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
	Close(ctx context.Context) error
}

// ErrSkipped is what progress is told of a step whose work was already
// done (its Unless query said so, or the password was already set).
var ErrSkipped = errors.New("already in place")

// quiet keeps a secret step's statements out of the server log and out of
// pg_stat_statements. It must be its own message: log_statement is
// decided for a whole query string before any of it runs.
const quiet = "SET LOCAL log_statement = 'none'; SET LOCAL log_min_duration_statement = -1; " +
	"SET LOCAL log_min_error_statement = 'panic'; SET LOCAL pg_stat_statements.track_utility = off"

// Apply runs the steps in order and reports every step to progress (nil
// error: done; ErrSkipped: already in place). It connects to a database at
// its first step and disconnects after its last: CREATE DATABASE fails
// while anyone, this session included, is connected to the template. It
// stops at the first failure, with an error naming the step and its
// database but never a secret step's SQL.
func Apply[C Conn](ctx context.Context, connect func(ctx context.Context, database string) (C, error), steps []Step, progress func(Step, error)) error {
	if progress == nil {
		progress = func(Step, error) {}
	}
	last := map[string]int{}
	for n, s := range steps {
		last[s.Database] = n
	}
	conns := map[string]C{}
	disconnect := func(db string) {
		if c, ok := conns[db]; ok {
			_ = c.Close(context.WithoutCancel(ctx))
			delete(conns, db)
		}
	}
	defer func() {
		for db := range conns {
			disconnect(db)
		}
	}()
	for n, s := range steps {
		err := s.apply(ctx, func() (Conn, error) {
			if c, ok := conns[s.Database]; ok {
				return c, nil
			}
			c, err := connect(ctx, s.Database)
			if err != nil {
				return nil, fmt.Errorf("connect: %w", err)
			}
			conns[s.Database] = c
			return c, nil
		})
		if err != nil && !errors.Is(err, ErrSkipped) {
			err = fmt.Errorf("provision: %s (database %s): %w", s.Title, s.Database, err)
			progress(s, err)
			return err
		}
		progress(s, err)
		if last[s.Database] == n {
			disconnect(s.Database)
		}
	}
	return nil
}

func (s Step) apply(ctx context.Context, conn func() (Conn, error)) error {
	if s.Secret && s.NoTx {
		return errors.New("a secret step must run in a transaction")
	}
	c, err := conn()
	if err != nil {
		return err
	}
	done, err := s.inPlace(ctx, c)
	if err != nil {
		return err
	}
	if done {
		return ErrSkipped
	}
	if s.NoTx {
		_, err := c.Exec(ctx, s.SQL)
		return err
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // after Commit, a no-op
	if s.Secret {
		if _, err := tx.Exec(ctx, quiet); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, s.SQL); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// inPlace runs the step's checks: its Unless query, and whether the
// password is set already.
func (s Step) inPlace(ctx context.Context, c Conn) (bool, error) {
	if s.Unless != "" {
		var done bool
		if err := c.QueryRow(ctx, s.Unless).Scan(&done); err != nil {
			return false, fmt.Errorf("check: %w", err)
		}
		if done {
			return true, nil
		}
	}
	if s.Password != nil {
		var stored *string
		err := c.QueryRow(ctx, "SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = $1", s.Password.Role).Scan(&stored)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("check password: %w", err)
		}
		return stored != nil && s.Password.matches(*stored), nil
	}
	return false, nil
}

// Verifiers returns the stored password verifiers (pg_authid.rolpassword)
// of these users, for pgbouncer's userlist. A user that does not exist or
// has no password is not in the map.
func Verifiers(ctx context.Context, conn Conn, users []string) (map[string]string, error) {
	out := map[string]string{}
	err := conn.QueryRow(ctx, `SELECT coalesce(json_object_agg(rolname, rolpassword), '{}')
FROM pg_catalog.pg_authid WHERE rolname = ANY($1) AND rolpassword IS NOT NULL`, users).Scan(&out)
	if err != nil {
		return nil, fmt.Errorf("read password verifiers: %w", err)
	}
	return out, nil
}
