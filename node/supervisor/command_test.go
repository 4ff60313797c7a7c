package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Commands run through the helpers never lose their exit status to the
// reaper, while it reaps orphans from a child's session and from the
// commands themselves.
func TestCommandsUnderReaping(t *testing.T) {
	e := newEnv(t)
	s, _ := e.supervisor()
	// An orphan factory: every 10 ms a process whose parent is already
	// gone, in a session of its own, is reparented to us and exits.
	orphans := e.spec("orphans", `i=0
while :; do
	( /usr/bin/setsid /bin/sleep 0.01 & )
	i=$((i+1)); echo $i > "$W/n"
	/bin/sleep 0.01
done`)
	if err := s.Start(context.Background(), orphans); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)

	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	// Zombies in other sessions are orphans nobody waits for: they must not
	// pile up. Our own session holds commands not yet waited for and the
	// orphans they left, which wait out orphanGrace.
	session, _ := unix.Getsid(0)
	maxOrphans := 0
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(10 * time.Millisecond):
			}
			orphans := 0
			for _, pid := range zombies() {
				if st, err := readStat(pid); err == nil && st.sid != session {
					orphans++
				}
			}
			maxOrphans = max(maxOrphans, orphans)
		}
	}()
	before, _ := strconv.Atoi(strings.TrimSpace(readFile(t, e.path("n"))))
	t0 := time.Now()
	// 16 at a time: more than the agent will ever run at once. A reaping
	// pass waits for the starts in flight, so with all 200 at once orphans
	// would wait for 200 forks.
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs <- runOne(e, i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	took := time.Since(t0)
	made, _ := strconv.Atoi(strings.TrimSpace(readFile(t, e.path("n"))))
	made -= before
	close(stopSampling)
	<-sampled
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			if failed <= 5 {
				t.Error(err)
			}
		}
	}
	t.Logf("%d commands in %s, %d failed; %d orphans made meanwhile, at most %d unreaped at a time", n, took.Round(time.Millisecond), failed, made, maxOrphans)
	if made < 10 {
		t.Errorf("only %d orphans made: the test did not exercise the reaper", made)
	}
	if maxOrphans > 10 {
		t.Errorf("%d orphan zombies at once: the reaper falls behind", maxOrphans)
	}
	if err := s.StopAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Orphans the commands left in our own session wait out orphanGrace.
	waitFor(t, 2*time.Second, "no zombies", func() bool { return len(zombies()) == 0 })
}

// runOne runs command i with one of the helpers and checks its exit status
// and output; each command also leaves an orphan in our own session.
func runOne(e *env, i int) error {
	code := i % 7
	script := fmt.Sprintf(`/bin/sleep 0.05 & /bin/sleep 0.02; echo out-%d; exit %d`, i, code)
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = []string{e.marker}
	var out []byte
	var err error
	switch i % 3 {
	case 0:
		out, err = Output(cmd)
	case 1:
		out, err = CombinedOutput(cmd)
	default:
		var b strings.Builder
		cmd.Stdout = &b
		err = Run(cmd)
		out = []byte(b.String())
	}
	var ee *exec.ExitError
	switch {
	case code == 0 && err != nil, code != 0 && !errors.As(err, &ee):
		return fmt.Errorf("command %d: %v (want exit status %d)", i, err, code)
	case code != 0 && ee.ExitCode() != code:
		return fmt.Errorf("command %d: exit status %d, want %d", i, ee.ExitCode(), code)
	case string(out) != fmt.Sprintf("out-%d\n", i):
		return fmt.Errorf("command %d: output %q", i, out)
	}
	return nil
}

// What the rule protects against: a command in another session that is
// not registered loses its exit status to the reaper once it has exited
// before Wait; registered, or in our own session within the grace, it
// does not.
func TestUnregisteredCommand(t *testing.T) {
	e := newEnv(t)
	e.supervisor()
	start := func(setsid bool, helper bool) (*exec.Cmd, error) {
		cmd := exec.Command("/bin/sh", "-c", "exit 3")
		cmd.Env = []string{e.marker}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
		if helper {
			return cmd, StartCommand(cmd)
		}
		return cmd, cmd.Start()
	}
	for _, c := range []struct {
		name           string
		setsid, helper bool
		lost           bool
	}{
		{"own session, exec.Cmd", false, false, false},
		{"new session, exec.Cmd", true, false, true},
		{"new session, StartCommand", true, true, false},
	} {
		cmd, err := start(c.setsid, c.helper)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // exited, not yet waited for
		if c.helper {
			err = WaitCommand(cmd)
		} else {
			err = cmd.Wait()
		}
		var ee *exec.ExitError
		lost := !errors.As(err, &ee) || ee.ExitCode() != 3
		t.Logf("%s: %v", c.name, err)
		if lost != c.lost {
			t.Errorf("%s: Wait returned %v; want the status lost: %v", c.name, err, c.lost)
		}
	}
}
