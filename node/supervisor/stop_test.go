package supervisor

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StopAll stops children in reverse start order, kills one that ignores
// its stop signal after its timeout, stops a tracked process that ignores
// SIGTERM with SIGQUIT, kills what a child left in its session, and leaves
// no process and no zombie behind.
func TestStopAll(t *testing.T) {
	e := newEnv(t)
	s, _ := e.supervisor()
	loop := `while :; do /bin/sleep 0.02; done`
	a := e.spec("a", `trap 'echo a >> "$W/order"; exit 0' TERM; /bin/sleep 1000 & echo $! > "$W/bg.pid"; `+loop)
	b := e.spec("b", `trap 'echo b >> "$W/order"' TERM; `+loop) // ignores SIGTERM
	b.StopTimeout = 300 * time.Millisecond
	c := e.spec("c", `trap 'echo c >> "$W/order"; exit 0' INT; `+loop)
	c.StopSignal = syscall.SIGINT
	// A background job of a script ignores SIGQUIT; env gives it back.
	d := e.spec("d", `( /usr/bin/setsid /usr/bin/env --default-signal=QUIT /bin/sh -c 'trap "" TERM; echo $$ > "$W/gc.pid"; exec /bin/sleep 1000' & )
trap 'echo d >> "$W/order"; exit 0' TERM; `+loop)
	d.Tracked = PIDFromFile(e.path("gc.pid"), "")
	d.TrackedStopTimeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, spec := range []Spec{a, b, c, d} {
		if err := s.Start(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	gc := readPID(t, e.path("gc.pid"))
	bg := readPID(t, e.path("bg.pid"))
	waitTracked(t, s, "d", gc)
	time.Sleep(100 * time.Millisecond) // let the shells install their traps
	t.Logf("%d processes before StopAll", len(marked(e.marker)))

	t0 := time.Now()
	if err := s.StopAll(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	t.Logf("StopAll took %s", took.Round(time.Millisecond))
	if took < 600*time.Millisecond {
		t.Errorf("StopAll took %s: b's stop timeout and d's tracked timeout are 300ms each", took)
	}
	if order := readFile(t, e.path("order")); order != "d\nc\nb\na\n" {
		t.Errorf("stop order %q, want d c b a", order)
	}
	if left := marked(e.marker); len(left) != 0 {
		t.Errorf("processes left: %v", left)
	}
	waitFor(t, 2*time.Second, "no zombies", func() bool { return len(zombies()) == 0 })
	logs := e.logs.String()
	for _, want := range []string{
		fmt.Sprintf(`msg="killing leftover process" child=a pid=%d`, bg),
		fmt.Sprintf(`msg="reaped orphan" pid=%d status="signal: quit"`, gc),
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	for _, st := range s.Status() {
		if st.State != StateStopped || st.PID != 0 || len(st.Tracked) != 0 {
			t.Errorf("%s after StopAll: %+v", st.Name, st)
		}
		if _, err := os.Stat(s.pidPath(st.Name)); !os.IsNotExist(err) {
			t.Errorf("%s: pid file left: %v", st.Name, err)
		}
	}
	if st := status(t, s, "b"); st.LastExit != "signal: killed" {
		t.Errorf("b ignored SIGTERM and should have been killed: %+v", st)
	}
}

// A cancelled context makes Stop skip the grace period, not the kill.
func TestStopCancelled(t *testing.T) {
	e := newEnv(t)
	s, _ := e.supervisor()
	spec := e.spec("stubborn", `trap '' TERM; : > "$W/trapped"; exec /bin/sleep 1000`)
	spec.Ready = fileExists(e.path("trapped"))
	spec.StopTimeout = time.Minute
	if err := s.Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx, "stubborn"); err != nil {
		t.Fatal(err)
	}
	pid := status(t, s, "stubborn").PID
	stopCtx, stop := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer stop()
	t0 := time.Now()
	if err := s.Stop(stopCtx, "stubborn"); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %s", time.Since(t0).Round(time.Millisecond))
	if alive(pid) || time.Since(t0) > 2*time.Second {
		t.Errorf("pid %d alive %v after %s", pid, alive(pid), time.Since(t0))
	}
}
