package supervisor

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A child killed with SIGKILL is restarted at once, then after the
// backoff, doubling.
func TestRestartBackoff(t *testing.T) {
	e := newEnv(t)
	s, _ := e.supervisor()
	spec := e.spec("sleeper", `exec /bin/sleep 1000`)
	spec.Restart = Restart{Backoff: 300 * time.Millisecond, MaxBackoff: 600 * time.Millisecond, ResetAfter: time.Minute, Intensity: 10}
	if err := s.Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	pid := status(t, s, "sleeper").PID
	wants := []struct{ min, max time.Duration }{
		{0, 200 * time.Millisecond},                      // first restart: at once
		{300 * time.Millisecond, 700 * time.Millisecond}, // Backoff
		{600 * time.Millisecond, time.Second},            // doubled, capped at MaxBackoff
		{600 * time.Millisecond, time.Second},            // stays at the cap
	}
	for i, want := range wants {
		t0 := time.Now()
		unix.Kill(pid, unix.SIGKILL)
		pid = newPID(t, s, "sleeper", pid)
		took := time.Since(t0)
		t.Logf("restart %d after %s", i+1, took.Round(time.Millisecond))
		if took < want.min || took > want.max {
			t.Errorf("restart %d took %s, want %s–%s", i+1, took, want.min, want.max)
		}
	}
	if st := status(t, s, "sleeper"); st.Restarts != 4 || st.LastExit != "signal: killed" {
		t.Errorf("status %+v: want 4 restarts, killed", st)
	}
}

// More restarts than the intensity limit within the period leave the
// child failed, report the give-up, and only a new Start brings it back.
func TestRestartIntensity(t *testing.T) {
	e := newEnv(t)
	s, _ := e.supervisor()
	spec := e.spec("crasher", `[ -e "$W/fixed" ] || exit 3; exec /bin/sleep 1000`)
	spec.Restart = Restart{Backoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Intensity: 3, Period: 10 * time.Second}
	var gaveUp atomic.Int32
	spec.OnGiveUp = func() { gaveUp.Add(1) }
	t0 := time.Now()
	if err := s.Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "crasher to fail", func() bool { return status(t, s, "crasher").State == StateFailed })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx, "crasher"); err == nil || !strings.Contains(err.Error(), "more than 3 restarts within 10s") {
		t.Errorf("WaitReady of a failed child: %v", err)
	}
	st := status(t, s, "crasher")
	t.Logf("failed after %s: %+v", time.Since(t0).Round(time.Millisecond), st)
	if st.State != StateFailed || st.Restarts != 3 || st.LastExit != "exit status 3" || st.PID != 0 || gaveUp.Load() != 1 {
		t.Fatalf("status %+v, OnGiveUp ran %d times: want failed after 3 restarts, exit status 3, OnGiveUp once", st, gaveUp.Load())
	}
	time.Sleep(200 * time.Millisecond)
	if st := status(t, s, "crasher"); st.Restarts != 3 || st.State != StateFailed {
		t.Fatalf("a failed child was restarted: %+v", st)
	}

	if err := os.WriteFile(e.path("fixed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitReady(ctx, "crasher"); err != nil {
		t.Fatal(err)
	}
	if st := status(t, s, "crasher"); st.Restarts != 0 || st.PID == 0 {
		t.Errorf("after Start: %+v, want running with the count reset", st)
	}
}
