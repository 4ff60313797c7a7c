package supervisor

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Reload runs BeforeReload, then delivers the reload signal; a failing
// BeforeReload cancels it.
func TestReload(t *testing.T) {
	e := newEnv(t)
	s, _ := e.supervisor()
	spec := e.spec("haproxy", `trap 'echo reloaded >> "$W/reloads"' USR2
: > "$W/trapped"
while :; do /bin/sleep 0.02; done`)
	spec.Ready = fileExists(e.path("trapped"))
	spec.ReloadSignal = syscall.SIGUSR2
	var calls []string
	fail := false
	spec.BeforeReload = func(context.Context) error {
		b, _ := os.ReadFile(e.path("reloads"))
		calls = append(calls, strings.TrimSpace(string(b)))
		if fail {
			return errors.New("cannot dump server state")
		}
		return nil
	}
	if err := s.Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx, "haproxy"); err != nil {
		t.Fatal(err)
	}
	pid := status(t, s, "haproxy").PID

	t0 := time.Now()
	if err := s.Reload(ctx, "haproxy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "the trap to run", func() bool {
		b, _ := os.ReadFile(e.path("reloads"))
		return string(b) == "reloaded\n"
	})
	t.Logf("signal handled after %s", time.Since(t0).Round(time.Millisecond))
	if len(calls) != 1 || calls[0] != "" {
		t.Errorf("BeforeReload calls %q: want one, before the signal", calls)
	}

	fail = true
	if err := s.Reload(ctx, "haproxy"); err == nil || !strings.Contains(err.Error(), "cannot dump server state") {
		t.Errorf("Reload with a failing BeforeReload: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	if b, _ := os.ReadFile(e.path("reloads")); string(b) != "reloaded\n" {
		t.Errorf("signal sent although BeforeReload failed: %q", b)
	}
	if st := status(t, s, "haproxy"); st.PID != pid || st.Restarts != 0 {
		t.Errorf("reload restarted the child: %+v", st)
	}

	plain := e.spec("plain", `exec /bin/sleep 1000`)
	if err := s.Start(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(ctx, "plain"); err == nil {
		t.Error("Reload of a child without a reload signal succeeded")
	}
}
