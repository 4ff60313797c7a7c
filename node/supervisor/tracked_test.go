package supervisor

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// forker stands in for Patroni: it detaches a grandchild into a session
// of its own (the postmaster), writes its pid to $W/gc.pid, and on a
// restart takes over a grandchild that still runs instead of starting one.
const forker = `[ -e "$W/broken" ] && exit 1
echo $$ > "$W/up"
if ! { [ -s "$W/gc.pid" ] && kill -0 "$(cat "$W/gc.pid")" 2>/dev/null; }; then
	( /usr/bin/setsid /bin/sh -c 'echo $$ > "$W/gc.tmp"; mv "$W/gc.tmp" "$W/gc.pid"; exec /bin/sleep 1000' & )
fi
exec /bin/sleep 1000`

func (e *env) forkerSpec(name string) Spec {
	spec := e.spec(name, forker)
	// Like /pg/data, the directory the postmaster works in is a symlink.
	link := filepath.Join(e.dir, "data")
	if err := os.Symlink(e.work, link); err != nil && !os.IsExist(err) {
		e.t.Fatal(err)
	}
	spec.Tracked = PIDFromFile(e.path("gc.pid"), link)
	spec.Ready = func(context.Context) error {
		if pid, ok := PIDFromFile(e.path("up"), "")(); ok && alive(pid) {
			return nil
		}
		return errors.New("not up")
	}
	spec.TrackedStopTimeout = 300 * time.Millisecond
	return spec
}

// waitTracked waits until the child reports exactly the tracked pids.
func waitTracked(t *testing.T, s *Supervisor, name string, want ...int) {
	t.Helper()
	waitFor(t, 3*time.Second, "tracked pids "+name, func() bool {
		return slices.Equal(status(t, s, name).Tracked, want)
	})
}

// When the child dies and its tracked grandchild lives, the child is
// restarted at once and takes the grandchild back; the grandchild is
// reparented to us and reaped when it exits.
func TestTrackedParentDies(t *testing.T) {
	e := newEnv(t)
	s, _ := e.supervisor()
	spec := e.forkerSpec("patroni")
	spec.Restart = Restart{Backoff: 2 * time.Second, ResetAfter: 500 * time.Millisecond, Intensity: 10}
	spec.GiveUpAfter = 3 * time.Second
	var gaveUp atomic.Int32
	spec.OnGiveUp = func() { gaveUp.Add(1) }
	if err := s.Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	gc := readPID(t, e.path("gc.pid"))
	waitTracked(t, s, "patroni", gc)
	if st, _ := readStat(gc); st.ppid != os.Getpid() || st.sid != gc {
		t.Errorf("grandchild %d: parent %d, session %d; want the subreaper %d and its own session", gc, st.ppid, st.sid, os.Getpid())
	}

	pid := status(t, s, "patroni").PID
	for i := range 2 {
		time.Sleep(500 * time.Millisecond) // ResetAfter: each kill is a first exit
		t0 := time.Now()
		unix.Kill(pid, unix.SIGKILL)
		pid = newPID(t, s, "patroni", pid)
		took := time.Since(t0)
		t.Logf("parent killed with grandchild alive: restarted after %s", took.Round(time.Millisecond))
		if took > 300*time.Millisecond {
			t.Errorf("restart %d took %s, want it immediate", i+1, took)
		}
		waitFor(t, 2*time.Second, "ready", func() bool { return status(t, s, "patroni").State == StateReady })
	}
	if got := marked(e.marker); len(got) != 2 || !alive(gc) {
		t.Errorf("processes %v, want the new parent and grandchild %d only", got, gc)
	}
	waitTracked(t, s, "patroni", gc)

	unix.Kill(gc, unix.SIGKILL)
	waitFor(t, 2*time.Second, "the dead grandchild to be reaped", func() bool {
		_, err := readStat(gc)
		return errors.Is(err, fs.ErrNotExist)
	})
	waitTracked(t, s, "patroni")
	if gaveUp.Load() != 0 {
		t.Error("OnGiveUp ran although the child came back at once")
	}
}

// A child that is not back within GiveUpAfter while its tracked process
// lives triggers OnGiveUp once — the agent fences there — and is still
// restarted, with backoff, until it is back.
func TestGiveUpDeadline(t *testing.T) {
	e := newEnv(t)
	s, _ := e.supervisor()
	spec := e.forkerSpec("patroni")
	spec.Restart = Restart{Backoff: 200 * time.Millisecond, Intensity: 20}
	spec.GiveUpAfter = 700 * time.Millisecond
	gaveUp := make(chan time.Time, 5)
	spec.OnGiveUp = func() { gaveUp <- time.Now() }
	if err := s.Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	gc := readPID(t, e.path("gc.pid"))
	waitTracked(t, s, "patroni", gc)

	if err := os.WriteFile(e.path("broken"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	unix.Kill(status(t, s, "patroni").PID, unix.SIGKILL)
	select {
	case at := <-gaveUp:
		t.Logf("OnGiveUp after %s, %d restarts", at.Sub(t0).Round(time.Millisecond), status(t, s, "patroni").Restarts)
		if d := at.Sub(t0); d < 700*time.Millisecond || d > 1200*time.Millisecond {
			t.Errorf("OnGiveUp after %s, want about GiveUpAfter (700ms)", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("OnGiveUp did not run")
	}
	os.Remove(e.path("broken"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx, "patroni"); err != nil {
		t.Fatal(err)
	}
	if len(gaveUp) != 0 {
		t.Errorf("OnGiveUp ran more than once in one outage")
	}
	waitTracked(t, s, "patroni", gc)
}

// Update marks a running child outdated; Restart applies the new Spec to
// the child alone and leaves its tracked process running.
func TestUpdateAndRestart(t *testing.T) {
	e := newEnv(t)
	s, _ := e.supervisor()
	spec := e.forkerSpec("patroni")
	if err := s.Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	gc := readPID(t, e.path("gc.pid"))
	waitTracked(t, s, "patroni", gc)
	old := status(t, s, "patroni").PID

	spec.Env = append(slices.Clone(spec.Env), "NEW=1")
	if err := s.Update(spec); err != nil {
		t.Fatal(err)
	}
	if st := status(t, s, "patroni"); !st.Outdated || st.PID != old {
		t.Fatalf("after Update: %+v, want the same process, outdated", st)
	}
	if err := s.Restart(context.Background(), "patroni"); err != nil {
		t.Fatal(err)
	}
	st := status(t, s, "patroni")
	if st.PID == old || st.Outdated || st.LastExit != "signal: terminated" || alive(old) {
		t.Errorf("after Restart: %+v, old pid alive %v", st, alive(old))
	}
	if !alive(gc) {
		t.Error("Restart stopped the tracked process")
	}
	waitTracked(t, s, "patroni", gc)
}

// A stale pid file naming a pid that now belongs to an unrelated process
// is not tracked: the process works elsewhere, or runs as another user.
func TestTrackedStalePidFile(t *testing.T) {
	e := newEnv(t)
	file := filepath.Join(e.work, "postmaster.pid")
	self := strconv.Itoa(os.Getpid())
	if err := os.WriteFile(file, []byte(self+"\n/pg/data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if pid, ok := PIDFromFile(file, e.work)(); ok {
		t.Errorf("tracked pid %d, whose working directory is not %s", pid, e.work)
	}
	if pid, ok := PIDFromFile(file, "")(); !ok || strconv.Itoa(pid) != self {
		t.Errorf("PIDFromFile without a directory: %d, %v", pid, ok)
	}
	if e.cred == nil {
		t.Skip("not root: no other user to compare with")
	}
	s, _ := e.supervisor()
	spec := e.spec("patroni", `exec /bin/sleep 1000`)
	spec.Tracked = PIDFromFile(file, "") // names the test process, run by root
	if err := s.Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond) // a refresh or two
	if st := status(t, s, "patroni"); len(st.Tracked) != 0 {
		t.Errorf("tracked %v, a process of another user", st.Tracked)
	}
}
