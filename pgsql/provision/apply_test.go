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

// fakeServer stands in for PostgreSQL's transaction semantics as far as
// Apply relies on them: a catalog that statements change (any statement
// but one starting with NOOP), savepoints and transactions that undo
// those changes, and the fingerprint of the catalog.
type fakeServer struct {
	log      []string
	conns    map[string]int
	catalog  int // committed changes
	fail     string
	answer   map[string]any
	refusing string
}

func newServer() *fakeServer { return &fakeServer{conns: map[string]int{}, answer: map[string]any{}} }

func (s *fakeServer) connect(_ context.Context, db string) (*fakeConn, error) {
	if db == s.refusing {
		return nil, errors.New("connection refused")
	}
	s.conns[db]++
	s.log = append(s.log, db+": connect")
	return &fakeConn{srv: s, db: db}, nil
}

type fakeConn struct {
	srv        *fakeServer
	db         string
	inTx       bool
	state      int   // the catalog as this session sees it
	savepoints []int // states at each SAVEPOINT
}

func (c *fakeConn) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	c.srv.log = append(c.srv.log, c.db+": "+sql)
	switch {
	case sql == c.srv.fail:
		return pgconn.CommandTag{}, errors.New("ERROR: boom")
	case strings.HasPrefix(sql, "BEGIN"):
		c.inTx, c.state = true, c.srv.catalog
	case sql == "COMMIT":
		c.inTx, c.srv.catalog = false, c.state
	case sql == "ROLLBACK":
		c.inTx = false
	case strings.HasPrefix(sql, "SAVEPOINT"):
		c.savepoints = append(c.savepoints, c.state)
	case strings.HasPrefix(sql, "ROLLBACK TO SAVEPOINT"):
		c.state = c.savepoints[len(c.savepoints)-1]
	case strings.HasPrefix(sql, "RELEASE SAVEPOINT"):
		c.savepoints = c.savepoints[:len(c.savepoints)-1]
	case strings.HasPrefix(sql, "NOOP"), sql == quiet:
	case c.inTx:
		c.state++
	default:
		c.srv.catalog++
	}
	return pgconn.CommandTag{}, nil
}

func (c *fakeConn) QueryRow(_ context.Context, sql string, _ ...any) pgx.Row {
	if sql == fingerprintQuery {
		state := c.srv.catalog
		if c.inTx {
			state = c.state
		}
		return fakeRow{fmt.Sprint(state)}
	}
	c.srv.log = append(c.srv.log, c.db+": query "+sql)
	return fakeRow{c.srv.answer[sql]}
}

func (c *fakeConn) Close(context.Context) error {
	c.srv.log = append(c.srv.log, c.db+": close")
	return nil
}

type fakeRow struct{ v any }

func (r fakeRow) Scan(dest ...any) error {
	switch d := dest[0].(type) {
	case *bool:
		*d, _ = r.v.(bool)
	case *string:
		*d, _ = r.v.(string)
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

// outcomes collects what Apply reports, step by step.
func outcomes(list *[]string) func(Outcome) {
	return func(o Outcome) {
		switch {
		case errors.Is(o.Err, ErrSkipped):
			*list = append(*list, o.Step.Title+": in place")
		case o.Err != nil:
			*list = append(*list, o.Step.Title+": failed")
		default:
			*list = append(*list, o.Step.Title+": "+strings.Join(o.Step.Show(o.Ran), " "))
		}
	}
}

func TestApplyConnectsOncePerDatabaseAndDisconnectsAfterLastUse(t *testing.T) {
	srv := newServer()
	steps := []Step{
		{Database: "template1", Title: "t1", Statements: []string{"A"}, Always: true},
		{Database: "postgres", Title: "p1", Statements: []string{"B"}, Always: true},
		{Database: "template1", Title: "t2", Statements: []string{"C"}, Always: true},
		{Database: "postgres", Title: "create", Statements: []string{"CREATE DATABASE x"}, NoTx: true, Always: true},
		{Database: "x", Title: "x1", Statements: []string{"D"}, Always: true},
	}
	var reported []string
	if err := Apply(context.Background(), srv.connect, steps, false, outcomes(&reported)); err != nil {
		t.Fatal(err)
	}
	if srv.conns["template1"] != 1 || srv.conns["postgres"] != 1 || srv.conns["x"] != 1 {
		t.Errorf("connections %v", srv.conns)
	}
	got := strings.Join(srv.log, "\n")
	want := strings.Join([]string{
		"template1: connect", "template1: BEGIN", "template1: A", "template1: COMMIT",
		"postgres: connect", "postgres: BEGIN", "postgres: B", "postgres: COMMIT",
		"template1: BEGIN", "template1: C", "template1: COMMIT", "template1: close",
		"postgres: CREATE DATABASE x", "postgres: close",
		"x: connect", "x: BEGIN", "x: D", "x: COMMIT", "x: close",
	}, "\n")
	if got != want {
		t.Errorf("sent:\n%s\nwant:\n%s", got, want)
	}
	if strings.Join(reported, ",") != "t1: A,p1: B,t2: C,create: CREATE DATABASE x,x1: D" {
		t.Errorf("progress %q", reported)
	}
}

// A tried step keeps the statements that change the catalog and rolls
// back the others; a step none of whose statements changes anything is
// in place.
func TestApplyKeepsOnlyStatementsThatChangeSomething(t *testing.T) {
	srv := newServer()
	steps := []Step{
		{Database: "postgres", Title: "role", Statements: []string{"CREATE ROLE a", "NOOP ALTER ROLE a", "COMMENT ON ROLE a"}},
		{Database: "postgres", Title: "same", Statements: []string{"NOOP GRANT", "NOOP COMMENT"}},
	}
	var reported []string
	if err := Apply(context.Background(), srv.connect, steps, false, outcomes(&reported)); err != nil {
		t.Fatal(err)
	}
	if strings.Join(reported, ",") != "role: CREATE ROLE a COMMENT ON ROLE a,same: in place" {
		t.Errorf("progress %q", reported)
	}
	if srv.catalog != 2 {
		t.Errorf("catalog changed %d times", srv.catalog)
	}
	log := strings.Join(srv.log, "\n")
	for _, want := range []string{
		// the whole step first, then statement by statement
		"postgres: BEGIN ISOLATION LEVEL REPEATABLE READ\npostgres: SAVEPOINT pigsty_trial\npostgres: CREATE ROLE a\npostgres: NOOP ALTER ROLE a\npostgres: COMMENT ON ROLE a\npostgres: ROLLBACK TO SAVEPOINT pigsty_trial",
		"postgres: SAVEPOINT pigsty_trial\npostgres: CREATE ROLE a\npostgres: RELEASE SAVEPOINT pigsty_trial",
		"postgres: NOOP ALTER ROLE a\npostgres: ROLLBACK TO SAVEPOINT pigsty_trial\npostgres: RELEASE SAVEPOINT pigsty_trial",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks\n%s\nin\n%s", want, log)
		}
	}
}

func TestApplySkipsWhatIsInPlace(t *testing.T) {
	srv := newServer()
	verifier := "SCRAM-SHA-256$4096:TTrOS3hWXbFUES715Q+7eA==$nWKmZ366gG/w13iZNEi4pA9qP32B6GbsRo+77ugETx8=:YcyK7afcSEQjv9ZZSJslZp6Twcrn2L+2SSYTJekwzl8="
	srv.answer["SELECT true"] = true
	srv.answer["SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = $1"] = verifier
	steps := []Step{
		{Database: "postgres", Title: "create", Statements: []string{"CREATE DATABASE x"}, NoTx: true, Unless: "SELECT true"},
		{Database: "postgres", Title: "same password", Statements: []string{"SECRET 1"}, Secret: true,
			Password: &Password{Role: "dbuser_meta", Password: "DBUser.Meta", Method: "scram-sha-256"}},
		{Database: "postgres", Title: "new password", Statements: []string{"SECRET 2"}, Secret: true,
			Password: &Password{Role: "dbuser_meta", Password: "Changed", Method: "scram-sha-256"}},
	}
	var reported []string
	if err := Apply(context.Background(), srv.connect, steps, false, outcomes(&reported)); err != nil {
		t.Fatal(err)
	}
	if strings.Join(reported, ",") != "create: in place,same password: in place,new password: " {
		t.Errorf("progress %q", reported)
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

// A dry run reports what a real run then executes, and changes nothing:
// whole steps are not sent, tried statements are rolled back with the one
// transaction per database, later steps see what earlier ones would do.
func TestDryRunReportsWhatTheRunExecutes(t *testing.T) {
	srv := newServer()
	srv.answer["SELECT false"] = false
	steps := []Step{
		{Database: "postgres", Title: "role", Statements: []string{"CREATE ROLE a", "NOOP ALTER"}},
		{Database: "postgres", Title: "terminate", Statements: []string{"SELECT pg_terminate_backend(1)"}, Unless: "SELECT false"},
		{Database: "postgres", Title: "create db", Statements: []string{"CREATE DATABASE x"}, NoTx: true, Always: true},
		{Database: "x", Title: "inside x", Statements: []string{"CREATE SCHEMA s"}, Always: true},
		{Database: "postgres", Title: "again", Statements: []string{"NOOP"}},
	}
	var planned, ran []string
	if err := Apply(context.Background(), srv.connect, steps, true, outcomes(&planned)); err != nil {
		t.Fatal(err)
	}
	if srv.catalog != 0 || srv.conns["x"] != 0 {
		t.Fatalf("the dry run changed the catalog (%d) or connected to x (%v)", srv.catalog, srv.conns)
	}
	log := strings.Join(srv.log, "\n")
	for _, never := range []string{"COMMIT", "pg_terminate_backend", "CREATE DATABASE", "CREATE SCHEMA"} {
		if strings.Contains(log, never) {
			t.Errorf("the dry run sent %s:\n%s", never, log)
		}
	}
	if strings.Count(log, "BEGIN") != 1 {
		t.Errorf("the dry run should hold one transaction per database:\n%s", log)
	}
	srv.log = nil
	if err := Apply(context.Background(), srv.connect, steps, false, outcomes(&ran)); err != nil {
		t.Fatal(err)
	}
	if strings.Join(planned, "\n") != strings.Join(ran, "\n") {
		t.Errorf("planned:\n%s\nran:\n%s", strings.Join(planned, "\n"), strings.Join(ran, "\n"))
	}
}

func TestApplyStopsAtFirstFailureWithoutShowingSecrets(t *testing.T) {
	srv := newServer()
	srv.fail = "ALTER ROLE x PASSWORD 'hunter2'"
	steps := []Step{
		{Database: "postgres", Title: "set password of x", Statements: []string{srv.fail}, Secret: true, Always: true},
		{Database: "postgres", Title: "never", Statements: []string{"NEVER"}},
	}
	var failed error
	err := Apply(context.Background(), srv.connect, steps, false, func(o Outcome) { failed = o.Err })
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

// A statement that fails in a dry run fails the plan: the change would
// fail, so it is refused before anything is stored.
func TestDryRunFailsWhereTheRunWould(t *testing.T) {
	srv := newServer()
	srv.fail = "ALTER ROLE a SET work_mem = 'lots'"
	err := Apply(context.Background(), srv.connect, []Step{{Database: "postgres", Title: "role a", Statements: []string{srv.fail}}}, true, nil)
	if err == nil || !strings.Contains(err.Error(), "role a (database postgres): statement 1 of 1: ERROR: boom") {
		t.Fatalf("error %v", err)
	}
}

func TestApplyReportsConnectionFailure(t *testing.T) {
	srv := newServer()
	srv.refusing = "meta"
	err := Apply(context.Background(), srv.connect, []Step{{Database: "meta", Title: "create schema pigsty in meta", Statements: []string{"X"}}}, false, nil)
	if err == nil || !strings.Contains(err.Error(), "create schema pigsty in meta (database meta): connect: connection refused") {
		t.Fatalf("error %v", err)
	}
}

func TestApplyRefusesStepsItCannotCheck(t *testing.T) {
	for _, s := range []Step{
		{Database: "postgres", Title: "secret outside a transaction", Statements: []string{"X"}, Secret: true, NoTx: true, Always: true},
		{Database: "postgres", Title: "unchecked outside a transaction", Statements: []string{"X"}, NoTx: true},
	} {
		srv := newServer()
		if err := Apply(context.Background(), srv.connect, []Step{s}, false, nil); err == nil || len(srv.log) != 0 {
			t.Errorf("%s: error %v, sent %q", s.Title, err, srv.log)
		}
	}
}
