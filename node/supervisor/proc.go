package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var errExited = errors.New("process has exited")

// proc is one process the supervisor watches: a child it started, a child
// an earlier agent started, or a tracked process. It is watched and
// signalled through a pidfd, which keeps naming this process even after
// the pid is reused.
type proc struct {
	pid   int
	sid   int
	start uint64    // start time in ticks after boot
	began time.Time // when this agent started or adopted it
	cmd   *exec.Cmd // set when this agent started it: only then is the exit status known
	fd    *os.File  // the pidfd, non-blocking so the runtime's poller waits on it
	done  chan struct{}
	hash  string // the Spec it was started with, for children

	reapOnce sync.Once
	exit     string
}

// watchPID opens a pidfd for pid. When want is not zero the process must
// still be the one that started at want ticks: the identity is read after
// the pidfd is opened and the pidfd checked afterwards, so both name the
// same process.
func watchPID(pid int, want uint64) (*proc, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	p := &proc{pid: pid, began: time.Now(), fd: os.NewFile(uintptr(fd), "pidfd:"+strconv.Itoa(pid)), done: make(chan struct{})}
	st, err := readStat(pid)
	switch {
	case err != nil:
	case want != 0 && (st.zombie() || st.start != want):
		err = fmt.Errorf("pid %d is another process now", pid)
	case want != 0 && p.pollExited():
		err = errExited
	}
	if err != nil {
		p.fd.Close()
		return nil, err
	}
	p.sid, p.start = st.sid, st.start
	go p.watch()
	return p, nil
}

// watch closes done when the process exits. Closing fd ends it early.
func (p *proc) watch() {
	rc, err := p.fd.SyscallConn()
	if err != nil {
		return
	}
	if rc.Read(func(fd uintptr) bool { return pidfdReadable(fd) }) == nil {
		close(p.done)
	}
}

// pollExited asks the pidfd directly, for callers that cannot wait for
// watch to notice.
func (p *proc) pollExited() bool {
	exited := false
	if rc, err := p.fd.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { exited = pidfdReadable(fd) })
	}
	return exited
}

// pidfdReadable reports whether the process behind a pidfd has exited.
func pidfdReadable(fd uintptr) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&unix.POLLIN != 0
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig through the pidfd.
func (p *proc) signal(sig syscall.Signal) error {
	rc, err := p.fd.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.PidfdSendSignal(int(fd), sig, nil, 0) }); err != nil {
		return err
	}
	if errors.Is(serr, unix.ESRCH) {
		return errExited
	}
	if serr != nil {
		return fmt.Errorf("send %s to pid %d: %w", sig, p.pid, serr)
	}
	return nil
}

// wait reports whether the process exits within d; ctx cuts it short.
func (p *proc) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return p.exited()
}

// reap collects the exit of a process that has exited and describes it.
// Only a child this agent started has an exit status for us; the reaper
// takes care of any other process that happens to be our child.
func (p *proc) reap() string {
	p.reapOnce.Do(func() {
		p.exit = "exited"
		if p.cmd != nil {
			p.cmd.Wait()
			unregister(p.pid)
			p.exit = p.cmd.ProcessState.String()
		}
		p.fd.Close()
	})
	return p.exit
}

// release stops watching a process that keeps running without us. A child
// we started is handed to the reaper.
func (p *proc) release() {
	if p.exited() {
		p.reap()
		return
	}
	p.reapOnce.Do(func() {
		if p.cmd != nil {
			p.cmd.Process.Release()
			unregister(p.pid)
		}
		p.fd.Close()
	})
}
