// Package provision turns an instance's inventory into the SQL that sets up
// a freshly bootstrapped primary, in Pigsty's order (roles, template1 and
// postgres, business users, business databases), and applies it through
// pgx. Every step is idempotent: applying a plan twice changes nothing the
// second time.
package provision

// Step is one unit of provisioning: SQL run in one database, in one
// transaction unless NoTx.
type Step struct {
	Database string // where it runs: "postgres", "template1", "meta", …
	Title    string // the progress line: "create role dbuser_meta"
	SQL      string // one or more statements; a NoTx step holds exactly one
	// NoTx is for statements PostgreSQL refuses inside a transaction
	// (CREATE DATABASE, ALTER DATABASE … SET TABLESPACE).
	NoTx bool
	// Secret marks SQL holding a password: only the title is ever shown,
	// and the applier keeps the server from logging the statement.
	Secret bool
	// Unless, when set, is a query returning one boolean, run first in the
	// same database: true means the step's work is already done. It makes
	// statements idempotent that have no IF NOT EXISTS form.
	Unless string
	// Password, when set, skips the step if the role's stored verifier
	// already holds this password. The server salts each SCRAM verifier
	// anew, so setting an unchanged password would rewrite it every run.
	Password *Password
}

// Password is a role's password as the inventory gives it.
type Password struct {
	Role     string
	Password string // plaintext, or a SCRAM-SHA-256$… / md5… verifier
	Method   string // password_encryption the plan sets: scram-sha-256 or md5
}
