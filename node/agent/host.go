package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"pigsty/infra/etcd"
	"pigsty/infra/store"
	"pigsty/node/supervisor"
)

// State is the directory of pigsty's own state on a host.
func State(root string) string { return filepath.Join(root, "var/lib/pigsty") }

// PidFile is where the running agent writes its pid.
func PidFile(root string) string { return filepath.Join(State(root), "agent.pid") }

// PID returns the pid of the running agent of this root, if any.
func PID(root string) (int, bool) {
	b, err := os.ReadFile(PidFile(root))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !(strings.Contains(string(cmdline), "\x00infra") || strings.Contains(string(cmdline), "\x00node")) {
		return 0, false
	}
	return pid, true
}

// Host is what runs one host's agent: `pigsty infra` on the control
// plane, `pigsty node` elsewhere.
type Host struct {
	Config
	Access etcd.Access // how the agent reaches etcd
	// StopAll, when it fires, stops every child before Run returns
	// (`pigsty stop`). Otherwise children outlive the agent.
	StopAll <-chan struct{}
	// Before runs once the supervisor exists, before the store is opened:
	// the infra host starts its etcd member there.
	Before func(ctx context.Context, sup *supervisor.Supervisor) error
	// After runs once the store is open: the infra host stores the
	// desired state and serves the trust port there.
	After func(ctx context.Context, st *store.Store) error
}

// Run runs the host's agent until ctx ends.
func (h Host) Run(ctx context.Context, log *slog.Logger) error {
	state := State(h.Root)
	for _, d := range []string{state, filepath.Join(state, "log"), filepath.Join(state, "run")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("agent: %w", err)
		}
	}
	// Children must outlive this process: they are stopped only by
	// StopAll, never by ctx, which ends on SIGTERM (an agent restart).
	supCtx, detach := context.WithCancel(context.WithoutCancel(ctx))
	defer detach()
	sup, err := supervisor.New(supCtx, filepath.Join(state, "run"), log)
	if err != nil {
		return fmt.Errorf("agent: %w (is another pigsty agent running?)", err)
	}
	defer sup.Wait()
	defer detach()
	if err := os.WriteFile(PidFile(h.Root), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	defer os.Remove(PidFile(h.Root))
	if h.Before != nil {
		if err := h.Before(ctx, sup); err != nil {
			return err
		}
	}
	st, err := openStore(ctx, h.Access, log)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	defer st.Close()
	if h.After != nil {
		if err := h.After(ctx, st); err != nil {
			return err
		}
	}
	a, err := New(h.Config, st, sup, log)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	select {
	case err = <-done:
	case <-h.StopAll:
		cancel()
		<-done
		log.Info("stopping every child")
		stopCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer stop()
		err = sup.StopAll(stopCtx)
	}
	return err
}

// openStore opens the store, again and again until ctx ends: etcd may be
// starting, electing a leader, or slow to authenticate a crowd of hosts
// joining at once (each authentication is a bcrypt comparison), and an
// agent that gave up would leave its host unmanaged. A wrong password
// is not waited out.
func openStore(ctx context.Context, a etcd.Access, log *slog.Logger) (*store.Store, error) {
	delay := time.Second
	for {
		st, err := store.Open(ctx, a, log)
		if err == nil || ctx.Err() != nil || errors.Is(err, rpctypes.ErrAuthFailed) {
			return st, err
		}
		log.Warn("etcd does not answer yet; trying again", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(delay):
		}
		delay = min(2*delay, 15*time.Second)
	}
}
