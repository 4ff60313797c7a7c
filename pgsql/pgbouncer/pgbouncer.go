// Package pgbouncer renders the files of an instance's pgbouncer:
// pgbouncer.ini, database.txt, useropts.txt and userlist.txt (pgb_hba.conf
// comes from package hba). pgbouncer runs as the dbsu in the foreground
// under the node agent, which captures its stderr as the log.
package pgbouncer

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// File is one rendered file and the permissions it is written with.
type File struct {
	Data []byte
	Mode fs.FileMode
}

// Files are rendered files by absolute path.
type Files map[string]File

// ConfigPath is pgbouncer.ini, the file pgbouncer is started with.
func ConfigPath(l layout.Layout) string { return filepath.Join(l.Pgbouncer(), "pgbouncer.ini") }

// PidPath is where pgbouncer writes its pid: in the socket directory, as
// Pigsty has it, which the dbsu owns (pgbouncer never runs as root).
func PidPath(l layout.Layout) string { return filepath.Join(l.Socket(), "pgbouncer.pid") }

func databasesPath(l layout.Layout) string { return filepath.Join(l.Pgbouncer(), "database.txt") }
func userOptsPath(l layout.Layout) string  { return filepath.Join(l.Pgbouncer(), "useropts.txt") }
func userListPath(l layout.Layout) string  { return filepath.Join(l.Pgbouncer(), "userlist.txt") }

// Render renders the pgbouncer files of instance i. secrets are the
// password verifiers of pg_authid by user name; a user without one is left
// out of userlist.txt until it exists on the server.
func Render(i *inventory.Instance, l layout.Layout, secrets map[string]string) (Files, error) {
	ini, err := config(i, l)
	if err != nil {
		return nil, fmt.Errorf("render pgbouncer.ini for %s: %w", i.Name, err)
	}
	dbs, err := databases(i, l)
	if err != nil {
		return nil, fmt.Errorf("render pgbouncer database.txt for %s: %w", i.Name, err)
	}
	opts, err := userOpts(i)
	if err != nil {
		return nil, fmt.Errorf("render pgbouncer useropts.txt for %s: %w", i.Name, err)
	}
	list, err := userList(i, secrets)
	if err != nil {
		return nil, fmt.Errorf("render pgbouncer userlist.txt for %s: %w", i.Name, err)
	}
	return Files{
		ConfigPath(l):    {ini, 0o640},
		databasesPath(l): {dbs, 0o640},
		userOptsPath(l):  {opts, 0o640},
		userListPath(l):  {list, 0o600}, // password verifiers
	}, nil
}

// oneLine refuses a value that would end its line early in a config file.
func oneLine(what, s string) error {
	if strings.ContainsAny(s, "\r\n\x00") {
		return fmt.Errorf("%s %q spans lines", what, s)
	}
	return nil
}
