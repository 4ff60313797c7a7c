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
	Close(ctx context.Context) error
}

// ErrSkipped is the outcome of a step whose work was already done (its
// Unless query said so, the password was already set, or none of its
// statements changed anything).
var ErrSkipped = errors.New("already in place")

// Outcome is what became of one step.
type Outcome struct {
	Step Step
	// Ran are the statements that ran, or in a dry run would run; empty
	// when the step was in place. Print them through Step.Show: a secret
	// step's statements hold a password.
	Ran []string
	Err error // nil, ErrSkipped, or why the step failed
}

// quiet keeps a secret step's statements out of the server log and out of
// pg_stat_statements. It must be its own message: log_statement is
// decided for a whole query string before any of it runs.
const quiet = "SET LOCAL log_statement = 'none'; SET LOCAL log_min_duration_statement = -1; " +
	"SET LOCAL log_min_error_statement = 'panic'; SET LOCAL pg_stat_statements.track_utility = off"

// Apply runs the steps in order and reports each to progress.
//
// With dryRun it changes nothing: each database gets one transaction that
// is rolled back at the end, checks and tried statements run inside it
// (so a later step sees what an earlier one would have done), and steps
// that run whole — which may not run in a transaction, or end sessions —
// are only reported. The statements reported are those a real run then
// executes, given the same server.
//
// It connects to a database at its first step and, in a real run,
// disconnects after its last: CREATE DATABASE fails while anyone, this
// session included, is connected to the template. It stops at the first
// failure, with an error naming the step and its database but never a
// secret step's SQL.
func Apply[C Conn](ctx context.Context, connect func(ctx context.Context, database string) (C, error), steps []Step, dryRun bool, progress func(Outcome)) error {
	if progress == nil {
		progress = func(Outcome) {}
	}
	for _, s := range steps {
		if err := s.valid(); err != nil {
			return fmt.Errorf("provision: %s: %w", s.Title, err)
		}
	}
	a := &applier{dryRun: dryRun, conns: map[string]Conn{}}
	defer a.closeAll(ctx)
	last := map[string]int{}
	for n, s := range steps {
		last[s.Database] = n
	}
	get := func(db string) (Conn, error) {
		if c, ok := a.conns[db]; ok {
			return c, nil
		}
		c, err := connect(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
		a.conns[db] = c
		if dryRun {
			if _, err := c.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ"); err != nil {
				return nil, err
			}
		}
		return c, nil
	}
	if dryRun {
		// A dry run keeps what its statements did until the end, locks
		// included: a session opened later to a database that an ALTER
		// DATABASE of the run locked would wait for the run itself. So
		// every session it needs is opened first.
		for _, s := range steps {
			if s.Always {
				continue
			}
			if _, err := get(s.Database); err != nil {
				return fmt.Errorf("provision: %s (database %s): %w", s.Title, s.Database, err)
			}
		}
	}
	for n, s := range steps {
		if !dryRun {
			for _, db := range s.Disconnect {
				a.close(ctx, db)
			}
		}
		ran, err := a.step(ctx, s, func() (Conn, error) { return get(s.Database) })
		if err != nil && !errors.Is(err, ErrSkipped) {
			err = fmt.Errorf("provision: %s (database %s): %w", s.Title, s.Database, err)
			progress(Outcome{Step: s, Ran: ran, Err: err})
			return err
		}
		progress(Outcome{Step: s, Ran: ran, Err: err})
		if !dryRun && last[s.Database] == n {
			a.close(ctx, s.Database)
		}
	}
	return nil
}

func (s Step) valid() error {
	switch {
	case s.Secret && s.NoTx:
		return errors.New("a secret step must run in a transaction")
	case s.NoTx && !s.Always && s.Unless == "":
		return errors.New("a step outside a transaction must run always or have a check")
	case len(s.Statements) == 0:
		return errors.New("no statements")
	}
	return nil
}

type applier struct {
	dryRun bool
	conns  map[string]Conn
}

func (a *applier) close(ctx context.Context, db string) {
	if c, ok := a.conns[db]; ok {
		_ = c.Close(context.WithoutCancel(ctx))
		delete(a.conns, db)
	}
}

// closeAll ends every session; a dry run's transactions end with them,
// rolled back.
func (a *applier) closeAll(ctx context.Context) {
	for db := range a.conns {
		a.close(ctx, db)
	}
}

// step applies (or plans) one step and returns the statements it ran.
func (a *applier) step(ctx context.Context, s Step, conn func() (Conn, error)) ([]string, error) {
	whole := s.Always
	if s.Unless != "" || s.Password != nil {
		c, err := conn()
		if err != nil {
			return nil, err
		}
		done, err := s.inPlace(ctx, c)
		if err != nil {
			return nil, err
		}
		if done {
			return nil, ErrSkipped
		}
		whole = true
	}
	if whole && a.dryRun {
		return s.Statements, nil
	}
	c, err := conn()
	if err != nil {
		return nil, err
	}
	switch {
	case whole && s.NoTx:
		for n, st := range s.Statements {
			if _, err := c.Exec(ctx, st); err != nil {
				return s.Statements[:n], fmt.Errorf("statement %d of %d: %w", n+1, len(s.Statements), err)
			}
		}
		return s.Statements, nil
	case whole:
		return s.Statements, a.inTx(ctx, c, "BEGIN", func() error {
			if s.Secret {
				if _, err := c.Exec(ctx, quiet); err != nil {
					return err
				}
			}
			for _, st := range s.Statements {
				if _, err := c.Exec(ctx, st); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var ran []string
	err = a.inTx(ctx, c, "BEGIN ISOLATION LEVEL REPEATABLE READ", func() error {
		var err error
		ran, err = trial(ctx, c, s.Statements)
		return err
	})
	if err == nil && len(ran) == 0 {
		err = ErrSkipped
	}
	return ran, err
}

// inTx runs fn in a transaction of its own, or in a dry run inside the
// database's one transaction, which is never committed.
func (a *applier) inTx(ctx context.Context, c Conn, begin string, fn func() error) error {
	if a.dryRun {
		return fn()
	}
	if _, err := c.Exec(ctx, begin); err != nil {
		return err
	}
	if err := fn(); err != nil {
		_, _ = c.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	_, err := c.Exec(ctx, "COMMIT")
	return err
}

// trial runs each statement in a savepoint and keeps it only when it
// changed the catalog's fingerprint; it returns the statements kept. The
// whole step is tried first: most passes find it in place, at the cost of
// one fingerprint rather than one per statement.
func trial(ctx context.Context, c Conn, statements []string) ([]string, error) {
	var ran []string
	before, err := fingerprint(ctx, c)
	if err != nil {
		return nil, err
	}
	if len(statements) > 1 {
		if _, err := c.Exec(ctx, "SAVEPOINT pigsty_trial"); err != nil {
			return nil, err
		}
		changed := false
		for _, st := range statements {
			if _, err = c.Exec(ctx, st); err != nil {
				break
			}
		}
		if err == nil {
			var after string
			after, err = fingerprint(ctx, c)
			changed = after != before
		}
		if _, rerr := c.Exec(context.WithoutCancel(ctx), "ROLLBACK TO SAVEPOINT pigsty_trial"); rerr != nil {
			return nil, rerr
		}
		if _, rerr := c.Exec(ctx, "RELEASE SAVEPOINT pigsty_trial"); rerr != nil {
			return nil, rerr
		}
		if err == nil && !changed {
			return nil, nil
		}
	}
	for n, st := range statements {
		if _, err := c.Exec(ctx, "SAVEPOINT pigsty_trial"); err != nil {
			return ran, err
		}
		if _, err := c.Exec(ctx, st); err != nil {
			_, _ = c.Exec(context.WithoutCancel(ctx), "ROLLBACK TO SAVEPOINT pigsty_trial")
			return ran, fmt.Errorf("statement %d of %d: %w", n+1, len(statements), err)
		}
		after, err := fingerprint(ctx, c)
		if err != nil {
			return ran, err
		}
		if after == before {
			if _, err := c.Exec(ctx, "ROLLBACK TO SAVEPOINT pigsty_trial"); err != nil {
				return ran, err
			}
			if _, err := c.Exec(ctx, "RELEASE SAVEPOINT pigsty_trial"); err != nil {
				return ran, err
			}
			continue
		}
		if _, err := c.Exec(ctx, "RELEASE SAVEPOINT pigsty_trial"); err != nil {
			return ran, err
		}
		ran = append(ran, st)
		before = after
	}
	return ran, nil
}

func fingerprint(ctx context.Context, c Conn) (string, error) {
	var sum string
	if err := c.QueryRow(ctx, fingerprintQuery).Scan(&sum); err != nil {
		return "", fmt.Errorf("fingerprint the catalog: %w", err)
	}
	return sum, nil
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
