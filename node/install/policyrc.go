package install

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
)

// Maintainer scripts start the services they install (pgbouncer, haproxy,
// postgresql) through invoke-rc.d unless policy-rc.d forbids it. pigsty
// supervises every process itself, so while apt runs it makes sure the
// policy says no (exit 101) for everything.

const policyRCPath = "/usr/sbin/policy-rc.d"

const denyPolicy = "#!/bin/sh\n# Written by pigsty while it installs packages: pigsty starts its services itself.\nexit 101\n"

// denyServiceStarts installs a deny-all policy-rc.d unless one that
// already denies is in place, and returns the function that puts things
// back. A policy left behind by an interrupted run is restored first.
func denyServiceStarts(ctx context.Context, stateDir string) (restore func() error, err error) {
	return denyServiceStartsAt(ctx, policyRCPath, filepath.Join(stateDir, "policy-rc.d.saved"))
}

func denyServiceStartsAt(ctx context.Context, path, saved string) (func() error, error) {
	if err := restorePolicy(path, saved); err != nil {
		return nil, err
	}
	current, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.WriteFile(path, []byte(denyPolicy), 0o755); err != nil {
			return nil, err
		}
		return func() error { return os.Remove(path) }, nil
	case err != nil:
		return nil, err
	}
	if string(current) == denyPolicy {
		// Left behind by an interrupted run that found no policy at all.
		return func() error { return os.Remove(path) }, nil
	}
	if policyDenies(ctx, path) {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(filepath.Dir(saved), 0o755); err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(saved, current, st.Mode().Perm()); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(denyPolicy), 0o755); err != nil {
		return nil, err
	}
	return func() error { return restorePolicy(path, saved) }, nil
}

// restorePolicy puts a saved policy-rc.d back and forgets the copy.
func restorePolicy(path, saved string) error {
	b, err := os.ReadFile(saved)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := os.Stat(saved)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, st.Mode().Perm()); err != nil {
		return fmt.Errorf("restoring %s: %w", path, err)
	}
	return os.Remove(saved)
}

// policyDenies asks an existing policy-rc.d whether it lets a service start.
func policyDenies(ctx context.Context, path string) bool {
	cmd := exec.CommandContext(ctx, path, "pgbouncer", "start")
	cmd.Env = aptEnv()
	err := cmd.Run()
	var exit *exec.ExitError
	return errors.As(err, &exit) && exit.ExitCode() == 101
}
