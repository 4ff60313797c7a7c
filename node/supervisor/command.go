package supervisor

import (
	"bytes"
	"errors"
	"os/exec"
)

// StartCommand starts cmd so that no reaper can take its exit status;
// finish it with WaitCommand. Use it instead of cmd.Start in the agent.
func StartCommand(cmd *exec.Cmd) error {
	_, err := startRegistered(func() (int, error) {
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		return cmd.Process.Pid, nil
	})
	return err
}

// WaitCommand waits for a command started with StartCommand, like cmd.Wait.
func WaitCommand(cmd *exec.Cmd) error {
	err := cmd.Wait()
	if cmd.Process != nil {
		unregister(cmd.Process.Pid)
	}
	return err
}

// Run is cmd.Run for the agent's process.
func Run(cmd *exec.Cmd) error {
	if err := StartCommand(cmd); err != nil {
		return err
	}
	return WaitCommand(cmd)
}

// Output is cmd.Output for the agent's process: stdout is returned, and
// stderr, unless cmd.Stderr is set, is kept in the *exec.ExitError.
func Output(cmd *exec.Cmd) ([]byte, error) {
	if cmd.Stdout != nil {
		return nil, errors.New("exec: Stdout already set")
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	captured := cmd.Stderr == nil
	if captured {
		cmd.Stderr = &stderr
	}
	err := Run(cmd)
	var ee *exec.ExitError
	if captured && errors.As(err, &ee) {
		ee.Stderr = stderr.Bytes()
	}
	return stdout.Bytes(), err
}

// CombinedOutput is cmd.CombinedOutput for the agent's process.
func CombinedOutput(cmd *exec.Cmd) ([]byte, error) {
	if cmd.Stdout != nil || cmd.Stderr != nil {
		return nil, errors.New("exec: Stdout or Stderr already set")
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := Run(cmd)
	return out.Bytes(), err
}
