package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// spawn starts spec's process and writes its pid file.
func (s *Supervisor) spawn(spec Spec) (*proc, error) {
	cmd := &exec.Cmd{
		Path: spec.Path,
		Args: append([]string{spec.Path}, spec.Args...),
		// Never nil: a nil Env would hand the agent's environment down.
		Env:         append([]string{}, spec.Env...),
		Dir:         spec.Dir,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Credential: spec.Credential},
	}
	if spec.LogFile != "" {
		f, err := openLog(spec.LogFile, spec.Credential)
		if err != nil {
			return nil, fmt.Errorf("child %s: %w", spec.Name, err)
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	if _, err := startRegistered(func() (int, error) {
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		return cmd.Process.Pid, nil
	}); err != nil {
		return nil, fmt.Errorf("child %s: %w", spec.Name, err)
	}
	pid := cmd.Process.Pid
	p, err := watchPID(pid, 0)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		unregister(pid)
		return nil, fmt.Errorf("child %s: cannot watch pid %d, killed it: %w", spec.Name, pid, err)
	}
	p.cmd, p.hash = cmd, spec.launchHash()
	rec := pidRecord{PID: pid, Boot: s.boot, Start: p.start, Argv: cmd.Args, Spec: p.hash}
	if err := writePidFile(s.pidPath(spec.Name), rec); err != nil {
		// Without a pid file the next agent would start a duplicate.
		p.signal(syscall.SIGKILL)
		p.wait(context.Background(), killWait)
		p.reap()
		return nil, fmt.Errorf("child %s: killed pid %d: %w", spec.Name, pid, err)
	}
	return p, nil
}

// openLog opens a child's log file for appending, owned by the child's user.
func openLog(path string, cred *syscall.Credential) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	if cred != nil && os.Geteuid() == 0 {
		if err := f.Chown(int(cred.Uid), int(cred.Gid)); err != nil {
			f.Close()
			return nil, fmt.Errorf("chown log %s: %w", path, err)
		}
	}
	return f, nil
}

// adopt returns the process name's pid file names if it is still the one
// that was started; otherwise the error says why not (fs.ErrNotExist: no
// pid file).
func (s *Supervisor) adopt(name string) (*proc, error) {
	rec, err := readPidFile(s.pidPath(name))
	if err != nil {
		return nil, err
	}
	st, err := readStat(rec.PID)
	switch {
	case rec.Boot != s.boot:
		return nil, errors.New("pid file is from an earlier boot")
	case errors.Is(err, fs.ErrNotExist) || err == nil && st.zombie():
		return nil, fmt.Errorf("pid %d has exited", rec.PID)
	case err != nil:
		return nil, err
	case st.start != rec.Start:
		return nil, fmt.Errorf("pid %d was reused: started at tick %d, not %d", rec.PID, st.start, rec.Start)
	case st.sid != rec.PID:
		return nil, fmt.Errorf("pid %d does not lead its own session", rec.PID)
	}
	p, err := watchPID(rec.PID, rec.Start)
	if err != nil {
		return nil, err
	}
	p.hash = rec.Spec
	return p, nil
}

func (s *Supervisor) pidPath(name string) string { return filepath.Join(s.dir, name+".pid") }

// removePidFile forgets a process that is gone.
func (s *Supervisor) removePidFile(name string, pid int) {
	if rec, err := readPidFile(s.pidPath(name)); err == nil && rec.PID == pid {
		os.Remove(s.pidPath(name))
	}
}

// killWait bounds the wait for a process to vanish after SIGKILL.
const killWait = 5 * time.Second
