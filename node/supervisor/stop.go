package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// stop stops c's process, then its tracked processes, then what is left in
// their sessions. The caller holds c.op.
func (s *Supervisor) stop(ctx context.Context, c *child) error {
	s.haltLoop(c)
	s.mu.Lock()
	spec, p := c.spec, c.proc
	s.mu.Unlock()
	log := s.log.With("child", c.name)
	s.setState(c, StateStopping)
	var errs []error
	var sessions []int
	if p != nil {
		log.Info("stopping", "pid", p.pid, "signal", spec.StopSignal)
		if err := terminate(ctx, p, spec.StopSignal, spec.StopTimeout); err != nil {
			errs = append(errs, err)
		} else {
			log.Info("stopped", "pid", p.pid, "exit", s.gone(c, p))
		}
		if p.sid == p.pid {
			sessions = append(sessions, p.sid)
		}
	}
	s.refreshTracked(c)
	s.mu.Lock()
	tracked := c.tracked
	s.mu.Unlock()
	var survivors []*proc
	for _, t := range tracked {
		log.Info("stopping tracked process", "pid", t.pid, "signal", spec.TrackedStopSignal)
		err := escalate(ctx, t,
			step{spec.TrackedStopSignal, spec.TrackedStopTimeout},
			step{syscall.SIGQUIT, spec.TrackedStopTimeout},
			step{syscall.SIGKILL, killWait})
		if err != nil {
			errs = append(errs, err)
			survivors = append(survivors, t)
		} else {
			t.reap()
		}
		sessions = append(sessions, t.sid)
	}
	s.mu.Lock()
	c.tracked = survivors
	s.mu.Unlock()
	if err := sweep(sessions, log); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		err = fmt.Errorf("stop child %s: %w", c.name, err)
		s.setError(c, StateFailed, err)
		return err
	}
	s.setState(c, StateStopped)
	return nil
}

type step struct {
	sig  syscall.Signal
	wait time.Duration
}

// terminate sends sig and, if the process outlives grace, SIGKILL.
func terminate(ctx context.Context, p *proc, sig syscall.Signal, grace time.Duration) error {
	return escalate(ctx, p, step{sig, grace}, step{syscall.SIGKILL, killWait})
}

// escalate sends each signal in turn until the process exits. Cancelling
// ctx cuts the waits short but never skips the last signal, or the wait
// after it.
func escalate(ctx context.Context, p *proc, steps ...step) error {
	for i, st := range steps {
		if err := p.signal(st.sig); err != nil && !errors.Is(err, errExited) {
			return err
		}
		wctx := ctx
		if i == len(steps)-1 {
			wctx = context.Background()
		}
		if p.wait(wctx, st.wait) {
			return nil
		}
	}
	last := steps[len(steps)-1]
	return fmt.Errorf("pid %d still running %s after %s", p.pid, last.wait, last.sig)
}

// sweep kills what is left in the sessions of stopped processes — HAProxy
// workers, backends of a killed postmaster, helpers a script left behind —
// and waits until they are gone. The agent's own session is never swept.
func sweep(sessions []int, log *slog.Logger) error {
	self := os.Getpid()
	own, _ := unix.Getsid(0)
	want := map[int]bool{}
	for _, sid := range sessions {
		if sid > 1 && sid != own {
			want[sid] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	killed := map[int]bool{}
	deadline := time.Now().Add(killWait)
	for {
		pids, err := allPIDs()
		if err != nil {
			return err
		}
		left := 0
		for _, pid := range pids {
			st, err := readStat(pid)
			if err != nil || pid == self || st.zombie() || !want[st.sid] {
				continue
			}
			left++
			if !killed[pid] {
				log.Info("killing leftover process", "pid", pid, "session", st.sid)
				killed[pid] = true
			}
			kill(pid, st.start)
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes left in sessions %v after SIGKILL", left, sessions)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL to pid if it is still the process that started at
// start ticks.
func kill(pid int, start uint64) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if st, err := readStat(pid); err == nil && st.start == start {
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
}
