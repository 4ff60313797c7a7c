// Package provision turns an instance's inventory into the SQL that brings
// its primary to what the inventory says — roles, template1 and postgres,
// business users and databases, and on day 2 their changes and removals —
// and applies it through pgx, or plans it without changing anything.
//
// A plan is computed against the live server (Facts): what exists decides
// whether an object is created whole or brought up to date statement by
// statement. Applying a plan twice changes nothing the second time, and a
// dry run reports exactly the statements a real run then executes.
package provision

import "strings"

// Step is one unit of provisioning: statements run in one database, in one
// transaction unless NoTx.
//
// How Apply decides whether a step has work to do:
//   - Unless, when set, is asked first: true means the step is in place.
//   - Password, when set, skips the step if the role's verifier already
//     holds the password.
//   - Always steps run whole: they build objects that do not exist yet, or
//     do what was asked for explicitly (drop, recreate, baseline).
//   - Every other step is tried statement by statement: each statement runs
//     in a savepoint and is kept only if it changed the catalog (see
//     fingerprint), so a step of a role or database that is already as the
//     inventory says executes nothing.
type Step struct {
	Database   string   // where it runs: "postgres", "template1", "meta", …
	Title      string   // the progress line: "create role dbuser_meta"
	Statements []string // each one SQL statement (a DO block counts as one)
	// NoTx runs each statement on its own, outside a transaction, for
	// statements PostgreSQL refuses inside one (CREATE/DROP DATABASE,
	// ALTER DATABASE … SET TABLESPACE). Such a step is Always or has Unless.
	NoTx bool
	// Secret marks statements holding a password: only the title is ever
	// shown, and the applier keeps the server from logging them.
	Secret   bool
	Unless   string    // a query returning one boolean: true = in place
	Password *Password // skip when the role's verifier already holds it
	Always   bool
	// Disconnect are databases whose sessions must end before the step
	// runs: the one it drops, the template it copies. Apply closes its own
	// sessions there first.
	Disconnect []string
	// Summary, when set, is shown instead of the statements (a baseline
	// file is shown by its name, not its whole text).
	Summary string
	// roles are the roles the statements name; a step outside the postgres
	// database that names a role this plan creates runs Always, since a dry
	// run's uncommitted role is not visible from another database.
	roles []string
}

// Password is a role's password as the inventory gives it.
type Password struct {
	Role     string
	Password string // plaintext, or a SCRAM-SHA-256$… / md5… verifier
	Method   string // password_encryption the plan sets: scram-sha-256 or md5
}

// SQL is the step's statements as one script.
func (s Step) SQL() string {
	var b strings.Builder
	for _, st := range s.Statements {
		b.WriteString(strings.TrimRight(st, "\n"))
		b.WriteString("\n")
	}
	return b.String()
}

// Show is what a plan or a progress report may print of statements that
// ran (or would run): nothing of a secret step, the summary when there is
// one.
func (s Step) Show(ran []string) []string {
	switch {
	case s.Secret:
		return nil
	case s.Summary != "" && len(ran) > 0:
		return []string{s.Summary}
	}
	return ran
}
