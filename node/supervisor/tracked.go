package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// refreshTracked drops tracked processes that have exited, starts watching
// the one the Spec's Tracked names now, and returns how many are alive.
// Only the supervise loop, or Stop once the loop has ended, calls it.
func (s *Supervisor) refreshTracked(c *child) int {
	s.mu.Lock()
	spec, tracked := c.spec, c.tracked
	childPID := 0
	if c.proc != nil {
		childPID = c.proc.pid
	}
	s.mu.Unlock()
	log := s.log.With("child", c.name)
	var alive []*proc
	for _, t := range tracked {
		if t.exited() {
			log.Info("tracked process exited", "pid", t.pid)
			t.reap()
			continue
		}
		alive = append(alive, t)
	}
	if spec.Tracked != nil {
		if pid, ok := spec.Tracked(); ok && pid > 1 && pid != os.Getpid() && pid != childPID && !watching(alive, pid) {
			if t, err := s.track(pid, spec); err == nil {
				log.Info("tracking process", "pid", pid)
				alive = append(alive, t)
			} else {
				log.Debug("not tracking", "pid", pid, "reason", err)
			}
		}
	}
	s.mu.Lock()
	c.tracked = alive
	s.mu.Unlock()
	return len(alive)
}

// track watches pid if it runs as the child's user: a stale pid file may
// name a pid that now belongs to somebody else.
func (s *Supervisor) track(pid int, spec Spec) (*proc, error) {
	st, err := readStat(pid)
	if err != nil {
		return nil, err
	}
	if st.zombie() {
		return nil, errExited
	}
	uid, err := readUID(pid)
	if err != nil {
		return nil, err
	}
	want := os.Getuid()
	if spec.Credential != nil {
		want = int(spec.Credential.Uid)
	}
	if uid != want {
		return nil, fmt.Errorf("pid %d runs as uid %d, not as the child's user %d", pid, uid, want)
	}
	return watchPID(pid, st.start)
}

func watching(ps []*proc, pid int) bool {
	for _, p := range ps {
		if p.pid == pid {
			return true
		}
	}
	return false
}

// PIDFromFile is a Tracked function reading the pid on the first line of a
// pid file, such as <PGDATA>/postmaster.pid. If cwd is not empty the
// process must also work in that directory — a postmaster works in its data
// directory — so a stale file naming a reused pid is ignored.
func PIDFromFile(path, cwd string) func() (int, bool) {
	return func() (int, bool) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, false
		}
		line, _, _ := strings.Cut(string(b), "\n")
		pid, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || pid <= 0 {
			return 0, false
		}
		if cwd != "" {
			// /proc shows the resolved directory, and /pg/data is a symlink.
			want, err1 := filepath.EvalSymlinks(cwd)
			dir, err2 := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
			if err1 != nil || err2 != nil || dir != want {
				return 0, false
			}
		}
		return pid, true
	}
}
