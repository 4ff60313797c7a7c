package supervisor

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// waiters is process-wide, as reaping is: every Supervisor's reaper and
// every command helper share it.
var waiters = struct {
	// starting is held shared from fork to registration, so starts run in
	// parallel, and exclusively while reaping, so a reaper never sees a
	// child that exited before its pid was registered.
	starting sync.RWMutex
	sync.Mutex
	n       map[int]int       // pid → callers that will wait(2) for it themselves
	zombies map[int]time.Time // unregistered zombies in our own session → first seen
}{n: map[int]int{}, zombies: map[int]time.Time{}}

// orphanGrace is how long an unregistered zombie in the agent's own session
// is left for code that runs commands without this package's helpers.
var orphanGrace = 5 * time.Second

// startRegistered runs start, which forks, and registers the new pid before
// any reaper may look at our children again.
func startRegistered(start func() (pid int, err error)) (int, error) {
	waiters.starting.RLock()
	defer waiters.starting.RUnlock()
	pid, err := start()
	if err == nil {
		waiters.Lock()
		waiters.n[pid]++
		waiters.Unlock()
	}
	return pid, err
}

// unregister is called once the registered caller has waited for pid.
func unregister(pid int) {
	waiters.Lock()
	defer waiters.Unlock()
	if waiters.n[pid] <= 1 {
		delete(waiters.n, pid)
	} else {
		waiters.n[pid]--
	}
}

// reap reaps orphans until ctx ends: on every SIGCHLD, and again when an
// own-session zombie's grace runs out.
func reap(ctx context.Context, log *slog.Logger) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGCHLD)
	defer signal.Stop(sigs)
	self := os.Getpid()
	session, err := unix.Getsid(0)
	if err != nil {
		log.Error("reaper: cannot read own session; reaping only other sessions", "err", err)
		session = -1
	}
	for {
		var retry <-chan time.Time
		if d := reapOnce(self, session, log); d > 0 {
			retry = time.After(d)
		}
		select {
		case <-ctx.Done():
			return
		case <-sigs:
		case <-retry:
		}
	}
}

// reapOnce reaps the zombie children nobody waits for and returns when to
// look again for those still in their grace period (0 = no need).
func reapOnce(self, session int, log *slog.Logger) time.Duration {
	zombies := zombieChildren(self)
	if len(zombies) == 0 {
		waiters.Lock()
		clear(waiters.zombies)
		waiters.Unlock()
		return 0
	}
	waiters.starting.Lock()
	defer waiters.starting.Unlock()
	waiters.Lock()
	defer waiters.Unlock()
	now := time.Now()
	for pid := range waiters.zombies {
		if _, ok := zombies[pid]; !ok {
			delete(waiters.zombies, pid)
		}
	}
	var retry time.Duration
	for pid := range zombies {
		if waiters.n[pid] > 0 {
			continue
		}
		// Read again under the lock: the zombie may have been waited for
		// since the scan, and its pid reused.
		st, err := readStat(pid)
		if err != nil || !st.zombie() || st.ppid != self {
			continue
		}
		if st.sid == session {
			first, ok := waiters.zombies[pid]
			if !ok {
				waiters.zombies[pid], first = now, now
			}
			if left := orphanGrace - now.Sub(first); left > 0 {
				if retry == 0 || left < retry {
					retry = left
				}
				continue
			}
		}
		var ws unix.WaitStatus
		if wpid, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err == nil && wpid == pid {
			log.Debug("reaped orphan", "pid", pid, "status", waitString(ws))
		}
		delete(waiters.zombies, pid)
	}
	return retry
}

// zombieChildren scans /proc for zombies whose parent is this process.
func zombieChildren(self int) map[int]struct{} {
	pids, err := allPIDs()
	if err != nil {
		return nil
	}
	zombies := map[int]struct{}{}
	for _, pid := range pids {
		if st, err := readStat(pid); err == nil && st.zombie() && st.ppid == self {
			zombies[pid] = struct{}{}
		}
	}
	return zombies
}

func waitString(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "signal: " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}
