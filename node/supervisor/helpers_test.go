package supervisor

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"pigsty/internal/testkit"
)

func TestMain(m *testing.M) {
	// Commands in tests leave orphans in the test's own session on purpose;
	// don't make the suite wait the production grace for them.
	orphanGrace = 200 * time.Millisecond
	os.Exit(m.Run())
}

// env is one test's sandbox: a work directory the children may write, a
// run directory, and a marker in every child's environment by which
// cleanup finds every process the test started, however detached.
type env struct {
	t      *testing.T
	dir    string
	work   string
	run    string
	marker string
	cred   *syscall.Credential // nobody when the test runs as root
	log    *slog.Logger
	logs   *testkit.Output
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	// Children may run as nobody: let them through to the work directory.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, dir: dir, work: filepath.Join(dir, "work"), run: filepath.Join(dir, "run"),
		marker: "PIGSTY_SUPERVISOR_TEST=" + dir}
	if err := os.Mkdir(e.work, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(e.work, 0o777)
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		e.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	e.logs = &testkit.Output{}
	e.log = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		killMarked(t, e.marker)
		if t.Failed() {
			t.Logf("supervisor log:\n%s", e.logs.String())
		}
	})
	return e
}

// supervisor starts a Supervisor on the env's run directory; it is
// detached when the test ends, before cleanup kills what is left.
func (e *env) supervisor() (*Supervisor, context.CancelFunc) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, e.run, e.log)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	detach := func() {
		cancel()
		s.Wait()
	}
	e.t.Cleanup(detach)
	return s, detach
}

// spec is a /bin/sh child running script, with $W the work directory and
// $0 the child's name.
func (e *env) spec(name, script string) Spec {
	return Spec{
		Name:        name,
		Path:        "/bin/sh",
		Args:        []string{"-c", script, name},
		Env:         []string{"PATH=/usr/bin:/bin", "W=" + e.work, e.marker},
		Dir:         e.work,
		Credential:  e.cred,
		LogFile:     filepath.Join(e.dir, "log", name+".log"),
		StopTimeout: 2 * time.Second,
	}
}

func (e *env) path(name string) string { return filepath.Join(e.work, name) }

// fileExists is a Ready probe.
func fileExists(path string) func(context.Context) error {
	return func(context.Context) error {
		_, err := os.Stat(path)
		return err
	}
}

// readPID reads a pid a script wrote.
func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, 3*time.Second, "pid in "+path, func() bool {
		b, err := os.ReadFile(path)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	return pid
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func status(t *testing.T, s *Supervisor, name string) ChildStatus {
	t.Helper()
	for _, st := range s.Status() {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no status for %s", name)
	return ChildStatus{}
}

// newPID waits until the child runs with a pid other than old.
func newPID(t *testing.T, s *Supervisor, name string, old int) int {
	t.Helper()
	var pid int
	waitFor(t, 5*time.Second, name+" to run again", func() bool {
		pid = status(t, s, name).PID
		return pid != 0 && pid != old
	})
	return pid
}

func alive(pid int) bool {
	st, err := readStat(pid)
	return err == nil && !st.zombie()
}

// marked lists the live processes whose environment holds marker.
func marked(marker string) []int {
	pids, _ := allPIDs()
	var out []int
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err == nil && bytes.Contains(b, []byte(marker+"\x00")) && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// zombies lists this process's children that nobody has reaped.
func zombies() []int {
	var out []int
	for pid := range zombieChildren(os.Getpid()) {
		out = append(out, pid)
	}
	return out
}

// killMarked kills, by pid, every process the test started, and reaps
// those that are our children.
func killMarked(t *testing.T, marker string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := marked(marker)
		if len(left) == 0 {
			break
		}
		for _, pid := range left {
			unix.Kill(pid, unix.SIGKILL)
		}
		if time.Now().After(deadline) {
			t.Errorf("cleanup: processes %v survive SIGKILL", left)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	session, _ := unix.Getsid(0)
	reapOnce(os.Getpid(), session, slog.New(slog.NewTextHandler(io.Discard, nil)))
}
