package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// fakeConn records what Apply sends to one database.
type fakeConn struct {
	db     string
	log    *[]string
	fail   string         // SQL that fails
	answer map[string]any // what QueryRow returns, by SQL
	closed bool
}

func (c *fakeConn) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	*c.log = append(*c.log, c.db+": "+sql)
	if sql == c.fail {
		return pgconn.CommandTag{}, errors.New("ERROR: boom")
	}
	return pgconn.CommandTag{}, nil
}

func (c *fakeConn) QueryRow(_ context.Context, sql string, _ ...any) pgx.Row {
	*c.log = append(*c.log, c.db+": query "+sql)
	return fakeRow{c.answer[sql]}
}

func (c *fakeConn) Begin(context.Context) (pgx.Tx, error) {
	*c.log = append(*c.log, c.db+": BEGIN")
	return &fakeTx{c: c}, nil
}

func (c *fakeConn) Close(context.Context) error {
	*c.log = append(*c.log, c.db+": close")
	c.closed = true
	return nil
}

type fakeTx struct {
	pgx.Tx // only what Apply calls is implemented
	c      *fakeConn
}

func (t *fakeTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.c.Exec(ctx, sql, args...)
}
func (t *fakeTx) Commit(context.Context) error {
	*t.c.log = append(*t.c.log, t.c.db+": COMMIT")
	return nil
}
func (t *fakeTx) Rollback(context.Context) error {
	*t.c.log = append(*t.c.log, t.c.db+": ROLLBACK")
	return nil
}

type fakeRow struct{ v any }

func (r fakeRow) Scan(dest ...any) error {
	switch d := dest[0].(type) {
	case *bool:
		*d, _ = r.v.(bool)
	case **string:
		s, ok := r.v.(string)
		if !ok {
			return pgx.ErrNoRows
		}
		*d = &s
	default:
		return fmt.Errorf("cannot scan into %T", d)
	}
	return nil
}

type fakeServer struct {
	log      []string
	conns    map[string]int
	fail     string
	answer   map[string]any
	refusing string
}

func (s *fakeServer) connect(_ context.Context, db string) (*fakeConn, error) {
	if db == s.refusing {
		return nil, errors.New("connection refused")
	}
	s.conns[db]++
	s.log = append(s.log, db+": connect")
	return &fakeConn{db: db, log: &s.log, fail: s.fail, answer: s.answer}, nil
}

func newServer() *fakeServer { return &fakeServer{conns: map[string]int{}, answer: map[string]any{}} }

func TestApplyConnectsOncePerDatabaseAndDisconnectsAfterLastUse(t *testing.T) {
	srv := newServer()
	steps := []Step{
		{Database: "template1", Title: "t1", SQL: "A"},
		{Database: "postgres", Title: "p1", SQL: "B"},
		{Database: "template1", Title: "t2", SQL: "C"},
		{Database: "postgres", Title: "create", SQL: "CREATE DATABASE x", NoTx: true},
		{Database: "x", Title: "x1", SQL: "D"},
	}
	var reported []string
	err := Apply(context.Background(), srv.connect, steps, func(s Step, err error) { reported = append(reported, fmt.Sprint(s.Title, err)) })
	if err != nil {
		t.Fatal(err)
	}
	if srv.conns["template1"] != 1 || srv.conns["postgres"] != 1 || srv.conns["x"] != 1 {
		t.Errorf("connections %v", srv.conns)
	}
	got := strings.Join(srv.log, "\n")
	want := strings.Join([]string{
		"template1: connect", "template1: BEGIN", "template1: A", "template1: COMMIT", "template1: ROLLBACK",
		"postgres: connect", "postgres: BEGIN", "postgres: B", "postgres: COMMIT", "postgres: ROLLBACK",
		"template1: BEGIN", "template1: C", "template1: COMMIT", "template1: ROLLBACK", "template1: close",
		"postgres: CREATE DATABASE x", "postgres: close",
		"x: connect", "x: BEGIN", "x: D", "x: COMMIT", "x: ROLLBACK", "x: close",
	}, "\n")
	if got != want {
		t.Errorf("sent:\n%s\nwant:\n%s", got, want)
	}
	if strings.Join(reported, ",") != "t1<nil>,p1<nil>,t2<nil>,create<nil>,x1<nil>" {
		t.Errorf("progress %q", reported)
	}
}

func TestApplySkipsWhatIsInPlace(t *testing.T) {
	srv := newServer()
	verifier := "SCRAM-SHA-256$4096:TTrOS3hWXbFUES715Q+7eA==$nWKmZ366gG/w13iZNEi4pA9qP32B6GbsRo+77ugETx8=:YcyK7afcSEQjv9ZZSJslZp6Twcrn2L+2SSYTJekwzl8="
	srv.answer["SELECT true"] = true
	srv.answer["SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = $1"] = verifier
	steps := []Step{
		{Database: "postgres", Title: "create", SQL: "CREATE DATABASE x", NoTx: true, Unless: "SELECT true"},
		{Database: "postgres", Title: "same password", SQL: "SECRET 1", Secret: true,
			Password: &Password{Role: "dbuser_meta", Password: "DBUser.Meta", Method: "scram-sha-256"}},
		{Database: "postgres", Title: "new password", SQL: "SECRET 2", Secret: true,
			Password: &Password{Role: "dbuser_meta", Password: "Changed", Method: "scram-sha-256"}},
	}
	var skipped, done []string
	err := Apply(context.Background(), srv.connect, steps, func(s Step, err error) {
		switch {
		case errors.Is(err, ErrSkipped):
			skipped = append(skipped, s.Title)
		case err == nil:
			done = append(done, s.Title)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(skipped, ",") != "create,same password" || strings.Join(done, ",") != "new password" {
		t.Errorf("skipped %q, done %q", skipped, done)
	}
	got := strings.Join(srv.log, "\n")
	if strings.Contains(got, "CREATE DATABASE") || strings.Contains(got, "SECRET 1") {
		t.Errorf("ran a step in place:\n%s", got)
	}
	// the secret statement is its own message, after the one that mutes logging
	if !strings.Contains(got, "postgres: BEGIN\npostgres: "+quiet+"\npostgres: SECRET 2\npostgres: COMMIT") {
		t.Errorf("secret step not muted:\n%s", got)
	}
}

func TestApplyStopsAtFirstFailureWithoutShowingSecrets(t *testing.T) {
	srv := newServer()
	srv.fail = "ALTER ROLE x PASSWORD 'hunter2'"
	steps := []Step{
		{Database: "postgres", Title: "set password of x", SQL: srv.fail, Secret: true},
		{Database: "postgres", Title: "never", SQL: "NEVER"},
	}
	var failed error
	err := Apply(context.Background(), srv.connect, steps, func(s Step, err error) { failed = err })
	if err == nil || failed != err {
		t.Fatalf("error %v, reported %v", err, failed)
	}
	msg := err.Error()
	if !strings.Contains(msg, "set password of x") || !strings.Contains(msg, "database postgres") || strings.Contains(msg, "hunter2") {
		t.Errorf("error %q", msg)
	}
	log := strings.Join(srv.log, "\n")
	if strings.Contains(log, "NEVER") || !strings.Contains(log, "ROLLBACK") || !strings.Contains(log, "postgres: close") {
		t.Errorf("after the failure:\n%s", log)
	}
}

func TestApplyReportsConnectionFailure(t *testing.T) {
	srv := newServer()
	srv.refusing = "meta"
	err := Apply(context.Background(), srv.connect, []Step{{Database: "meta", Title: "create schema pigsty in meta", SQL: "X"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "create schema pigsty in meta (database meta): connect: connection refused") {
		t.Fatalf("error %v", err)
	}
}

func TestApplyRefusesSecretOutsideTransaction(t *testing.T) {
	srv := newServer()
	err := Apply(context.Background(), srv.connect, []Step{{Database: "postgres", Title: "bad", SQL: "X", Secret: true, NoTx: true}}, nil)
	if err == nil || len(srv.log) != 0 {
		t.Fatalf("error %v, sent %q", err, srv.log)
	}
}
