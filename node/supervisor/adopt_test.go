package supervisor

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A Supervisor whose context ends leaves its children running; the next
// one on the same run directory adopts them — same pids, no duplicates —
// watches them, and stops them.
func TestAdoption(t *testing.T) {
	e := newEnv(t)
	a, detachA := e.supervisor()
	plain := e.spec("pgbouncer", `exec /bin/sleep 1000`)
	patroni := e.forkerSpec("patroni")
	for _, spec := range []Spec{plain, patroni} {
		if err := a.Start(context.Background(), spec); err != nil {
			t.Fatal(err)
		}
	}
	gc := readPID(t, e.path("gc.pid"))
	waitTracked(t, a, "patroni", gc)
	before := marked(e.marker)
	pids := map[string]int{"pgbouncer": status(t, a, "pgbouncer").PID, "patroni": status(t, a, "patroni").PID}
	if len(before) != 3 {
		t.Fatalf("processes %v, want 3", before)
	}
	if _, err := New(context.Background(), e.run, e.log); err == nil {
		t.Fatal("a second Supervisor got the run directory in use")
	}

	t0 := time.Now()
	detachA()
	t.Logf("detached in %s", time.Since(t0).Round(time.Millisecond))
	time.Sleep(100 * time.Millisecond)
	if after := marked(e.marker); !slices.Equal(after, before) {
		t.Fatalf("processes after detaching: %v, before: %v", after, before)
	}

	b, _ := e.supervisor()
	t0 = time.Now()
	for _, spec := range []Spec{plain, patroni} {
		if err := b.Start(context.Background(), spec); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("adopted in %s", time.Since(t0).Round(time.Millisecond))
	for name, pid := range pids {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := b.WaitReady(ctx, name)
		cancel()
		if st := status(t, b, name); err != nil || st.PID != pid || !st.Adopted {
			t.Errorf("%s: %+v, want pid %d adopted", name, st, pid)
		}
	}
	waitTracked(t, b, "patroni", gc)
	if after := marked(e.marker); !slices.Equal(after, before) {
		t.Fatalf("processes after adopting: %v, before: %v", after, before)
	}

	// Not our child any more as far as the Supervisor knows: watched
	// through its pidfd.
	unix.Kill(pids["pgbouncer"], unix.SIGKILL)
	if pid := newPID(t, b, "pgbouncer", pids["pgbouncer"]); status(t, b, "pgbouncer").Adopted {
		t.Errorf("restarted pgbouncer %d still reported adopted", pid)
	}

	if err := b.StopAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := marked(e.marker); len(left) != 0 {
		t.Errorf("processes left after StopAll: %v", left)
	}
	waitFor(t, 2*time.Second, "no zombies", func() bool { return len(zombies()) == 0 })
}

// A pid file whose pid now names another process — different start time,
// an earlier boot — is not adopted: a new child starts and the other
// process is left alone.
func TestPidReuse(t *testing.T) {
	e := newEnv(t)
	other := exec.Command("/bin/sleep", "1000")
	other.Env = []string{e.marker}
	other.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := StartCommand(other); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		other.Process.Kill()
		WaitCommand(other)
	})
	pid := other.Process.Pid
	st, err := readStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	boot, _ := bootID()
	real := pidRecord{PID: pid, Boot: boot, Start: st.start, Argv: other.Args}
	if err := os.MkdirAll(e.run, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(r *pidRecord){
		"start":    func(r *pidRecord) { r.Start++ },
		"boot":     func(r *pidRecord) { r.Boot = "00000000-0000-0000-0000-000000000000" },
		"identity": func(r *pidRecord) {}, // the real one: adopted
	}
	for name, mutate := range cases {
		r := real
		mutate(&r)
		if err := writePidFile(e.run+"/"+name+".pid", r); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := e.supervisor()
	for name := range cases {
		spec := e.spec(name, `exec /bin/sleep 1000`)
		if err := s.Start(context.Background(), spec); err != nil {
			t.Fatal(err)
		}
		st := status(t, s, name)
		if adopted := name == "identity"; st.Adopted != adopted || (st.PID == pid) != adopted {
			t.Errorf("%s: %+v; want adopted=%v for pid %d", name, st, adopted, pid)
		}
		if rec, _ := readPidFile(s.pidPath(name)); rec.PID != st.PID {
			t.Errorf("%s: pid file names %d, child runs as %d", name, rec.PID, st.PID)
		}
	}
	if !alive(pid) {
		t.Fatal("the unrelated process was killed")
	}
	if err := s.Stop(context.Background(), "start"); err != nil || !alive(pid) {
		t.Fatalf("stopping a child whose stale pid file named pid %d: %v, that process alive: %v", pid, err, alive(pid))
	}
	t.Log("pid " + strconv.Itoa(pid) + " survived")
}

// Adopt takes over a running child but never starts one.
func TestAdoptOnly(t *testing.T) {
	e := newEnv(t)
	a, detachA := e.supervisor()
	spec := e.spec("sleeper", "exec sleep 300")
	if err := a.Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	pid := status(t, a, "sleeper").PID
	detachA()

	b, _ := e.supervisor()
	ok, err := b.Adopt(context.Background(), spec)
	if err != nil || !ok {
		t.Fatalf("adopt: %v %v", ok, err)
	}
	if got := status(t, b, "sleeper").PID; got != pid {
		t.Fatalf("adopted pid %d, want %d", got, pid)
	}
	ok, err = b.Adopt(context.Background(), e.spec("never-started", "exec sleep 300"))
	if err != nil || ok || len(b.Status()) != 1 {
		t.Fatalf("adopted a child that never ran: %v %v %v", ok, err, b.Status())
	}
	if err := b.StopAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatal("adopted child survived StopAll")
	}
}
