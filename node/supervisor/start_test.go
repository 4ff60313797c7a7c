package supervisor

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A child starts as its own user, in its own session, with exactly its
// environment, writing to its log file; Start returns before it is ready.
func TestStartAndReady(t *testing.T) {
	e := newEnv(t)
	s, _ := e.supervisor()
	spec := e.spec("svc", `echo to-stdout; echo to-stderr >&2; /bin/sleep 0.3; : > "$W/ready"; exec /bin/sleep 1000`)
	spec.Ready = fileExists(e.path("ready"))

	t0 := time.Now()
	if err := s.Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	started := time.Since(t0)
	st := status(t, s, "svc")
	if st.State != StateStarting || st.PID == 0 {
		t.Fatalf("right after Start: %+v, want starting with a pid", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	ready := time.Since(t0)
	t.Logf("Start returned after %s, ready after %s", started, ready)
	if started > 200*time.Millisecond || ready < 300*time.Millisecond {
		t.Errorf("Start took %s, ready after %s: Start must not wait for readiness", started, ready)
	}
	pid := st.PID

	sid, err := unix.Getsid(pid)
	if err != nil || sid != pid {
		t.Errorf("session of %d = %d (%v), want its own", pid, sid, err)
	}
	// The shell exports its own environment to what it execs; a direct
	// child shows exactly what it was given.
	direct := e.spec("direct", "")
	direct.Path, direct.Args = "/bin/sleep", []string{"1000"}
	if err := s.Start(context.Background(), direct); err != nil {
		t.Fatal(err)
	}
	environ, _ := os.ReadFile("/proc/" + strconv.Itoa(status(t, s, "direct").PID) + "/environ")
	if got := strings.Split(strings.TrimSuffix(string(environ), "\x00"), "\x00"); !slices.Equal(got, spec.Env) {
		t.Errorf("environment %q, want exactly %q", got, spec.Env)
	}
	if e.cred != nil {
		procStatus, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		for _, want := range []string{"Uid:\t65534\t65534\t65534\t65534", "Gid:\t65534\t65534\t65534\t65534", "Groups:\t \n"} {
			if !strings.Contains(string(procStatus), want) {
				t.Errorf("/proc/%d/status lacks %q:\n%s", pid, want, procStatus)
			}
		}
		fi, _ := os.Stat(spec.LogFile)
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != e.cred.Uid {
			t.Errorf("log file owned by uid %d, want %d", uid, e.cred.Uid)
		}
	} else {
		t.Log("not root: credentials not exercised")
	}
	logged, _ := os.ReadFile(spec.LogFile)
	if string(logged) != "to-stdout\nto-stderr\n" {
		t.Errorf("log file holds %q", logged)
	}
	rec, err := readPidFile(s.pidPath("svc"))
	if err != nil || rec.PID != pid || rec.Start == 0 || rec.Boot == "" || !slices.Equal(rec.Argv, append([]string{"/bin/sh"}, spec.Args...)) {
		t.Errorf("pid file: %+v, %v", rec, err)
	}
	if first, _, _ := strings.Cut(readFile(t, s.pidPath("svc")), "\n"); first != strconv.Itoa(pid) {
		t.Errorf("pid file's first line is %q, want %d", first, pid)
	}
}

// A child that is not ready within StartTimeout is stopped and restarted.
func TestStartTimeout(t *testing.T) {
	e := newEnv(t)
	s, _ := e.supervisor()
	spec := e.spec("slow", `exec /bin/sleep 1000`)
	spec.Ready = fileExists(e.path("never"))
	spec.StartTimeout = 300 * time.Millisecond
	spec.Restart = Restart{Backoff: 50 * time.Millisecond, Intensity: 10}
	if err := s.Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	first := status(t, s, "slow").PID
	second := newPID(t, s, "slow", first)
	if alive(first) {
		t.Errorf("unready pid %d still runs", first)
	}
	st := status(t, s, "slow")
	t.Logf("restarted as %d: %+v", second, st)
	if !strings.Contains(st.LastError, "not ready after 300ms") || st.LastExit != "signal: terminated" {
		t.Errorf("status %+v: want the start timeout as last error and SIGTERM as last exit", st)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
