// Package backup runs pgBackRest for an instance of this host, as the
// dbsu: stanza creation and upgrade, backups with their progress, the
// repository's catalogue, restores, and the backup entries of
// node_crontab and pg_crontab.
package backup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"pigsty/node/supervisor"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/pgbackrest"
)

// Runner runs pgBackRest against one stanza. Commands run as the dbsu
// (as root, pgBackRest's checks fail on peer authentication and files it
// creates in the repository would belong to root), from the Debian
// package's absolute path, with a clean environment.
type Runner struct {
	Config string              // pgbackrest.conf
	Stanza string              // the cluster's name, or another cluster's for a restore from it
	Cred   *syscall.Credential // the dbsu
	Home   string              // the dbsu's home
	// Options go on every command line: repository options of a restore
	// from another cluster's repository (pg_pitr.repo).
	Options []string
}

// For is the runner of instance i's own stanza.
func For(i *inventory.Instance, l layout.Layout, cred *syscall.Credential, home string) Runner {
	return Runner{Config: pgbackrest.ConfigPath(l), Stanza: i.Cluster, Cred: cred, Home: home}
}

// Command is pgbackrest with the runner's configuration and stanza.
// Extra arguments come first, the command name last.
func (r Runner) Command(ctx context.Context, args ...string) *exec.Cmd {
	argv := append(append([]string{"--config=" + r.Config, "--stanza=" + r.Stanza}, r.Options...), args...)
	cmd := exec.CommandContext(ctx, pgbackrest.Binary, argv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.Cred}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + r.Home, "LANG=C.UTF-8"}
	cmd.Dir = "/"
	return cmd
}

// Run runs a command to its end and returns its output; a failure names
// the command and carries pgBackRest's error lines.
func (r Runner) Run(ctx context.Context, args ...string) ([]byte, error) {
	out, err := supervisor.CombinedOutput(r.Command(ctx, args...))
	if err != nil {
		return out, fmt.Errorf("pgbackrest %s (stanza %s): %w%s", args[len(args)-1], r.Stanza, err, errorLines(out))
	}
	return out, nil
}

// errorLines are the ERROR lines of pgBackRest's output, or its last
// line, to put into an error.
func errorLines(out []byte) string {
	var errs []string
	var last string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if ev, ok := pgbackrest.ParseLine(line); ok && ev.Error != "" {
			errs = append(errs, ev.Error)
		}
		if strings.TrimSpace(line) != "" {
			last = strings.TrimSpace(line)
		}
	}
	if len(errs) == 0 {
		if last == "" {
			return ""
		}
		errs = []string{last}
	}
	return ": " + strings.Join(errs, "; ")
}

// Stream runs a command at log-level-console=detail, passing every line
// pgBackRest prints that says something to fn as it comes.
func (r Runner) Stream(ctx context.Context, fn func(pgbackrest.Event), args ...string) error {
	cmd := r.Command(ctx, args...)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := supervisor.StartCommand(cmd); err != nil {
		return fmt.Errorf("start pgbackrest %s: %w", args[len(args)-1], err)
	}
	var errs []string
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		ev, ok := pgbackrest.ParseLine(sc.Text())
		if !ok {
			continue
		}
		if ev.Error != "" {
			errs = append(errs, ev.Error)
		}
		if fn != nil {
			fn(ev)
		}
	}
	if err := supervisor.WaitCommand(cmd); err != nil {
		if len(errs) > 0 {
			err = fmt.Errorf("%w: %s", err, strings.Join(errs, "; "))
		}
		return fmt.Errorf("pgbackrest %s (stanza %s): %w", args[len(args)-1], r.Stanza, err)
	}
	return nil
}

// Info is the repository's catalogue of the runner's stanza.
func (r Runner) Info(ctx context.Context) (pgbackrest.Stanza, error) {
	out, err := supervisor.Output(r.Command(ctx, "--output=json", "--log-level-console=off", "info"))
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return pgbackrest.Stanza{}, fmt.Errorf("pgbackrest info (stanza %s): %w", r.Stanza, err)
	}
	st, err := pgbackrest.ParseInfo(out)
	if err != nil {
		return pgbackrest.Stanza{}, err
	}
	for _, s := range st {
		if s.Name == r.Stanza {
			return s, nil
		}
	}
	return pgbackrest.Stanza{}, fmt.Errorf("pgbackrest info: no stanza %s in the answer", r.Stanza)
}

// StanzaCreate creates the stanza from the running database; it is a
// no-op when the stanza exists for this database.
func (r Runner) StanzaCreate(ctx context.Context) error {
	_, err := r.Run(ctx, "stanza-create")
	return err
}

// StanzaUpgrade makes an existing stanza follow a database that changed
// under it — restored from another cluster's backup, or upgraded — from
// its pg_control, with postgres stopped or running.
func (r Runner) StanzaUpgrade(ctx context.Context) error {
	_, err := r.Run(ctx, "--no-online", "stanza-upgrade")
	return err
}

// Check makes the database switch to a new WAL segment and waits until
// the archive has it: afterwards everything committed so far can be
// restored.
func (r Runner) Check(ctx context.Context) error {
	_, err := r.Run(ctx, "check")
	return err
}
