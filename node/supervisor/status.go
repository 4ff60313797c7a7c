package supervisor

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// State is where a child is in its life.
type State string

const (
	StateStarting State = "starting" // running, not ready yet
	StateReady    State = "ready"
	StateBackoff  State = "backoff"  // exited; waiting to be restarted
	StateFailed   State = "failed"   // not restarted until the next Start
	StateStopping State = "stopping" // Stop or Restart in progress
	StateStopped  State = "stopped"
)

// ChildStatus is one line of `pigsty status`.
type ChildStatus struct {
	Name      string
	State     State
	PID       int       // 0 while no process runs
	Tracked   []int     // live tracked processes, e.g. the postmaster
	Adopted   bool      // the process was started by an earlier agent
	Outdated  bool      // it runs an older command line or environment; Restart applies the Spec
	Restarts  int       // restarts since the last Start
	Since     time.Time // when State was entered
	LastExit  string    // how the last process ended: "exit status 1", "signal: killed", "exited"
	LastError string
	LogFile   string
}

// Status describes every child, in start order.
func (s *Supervisor) Status() []ChildStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]*child, 0, len(s.children))
	for _, c := range s.children {
		all = append(all, c)
	}
	slices.SortFunc(all, func(a, b *child) int { return a.seq - b.seq })
	out := make([]ChildStatus, 0, len(all))
	for _, c := range all {
		st := ChildStatus{Name: c.name, State: c.state, Adopted: c.adopted, Restarts: c.restarts,
			Since: c.since, LastExit: c.lastExit, LastError: c.lastErr, LogFile: c.spec.LogFile}
		if p := c.proc; p != nil && !p.exited() {
			st.PID, st.Outdated = p.pid, p.hash != c.hash
		}
		for _, t := range c.tracked {
			if !t.exited() {
				st.Tracked = append(st.Tracked, t.pid)
			}
		}
		out = append(out, st)
	}
	return out
}

// WaitReady waits until the child is ready. It fails when the child fails
// or is stopped, or when ctx ends.
func (s *Supervisor) WaitReady(ctx context.Context, name string) error {
	c, err := s.child(name)
	if err != nil {
		return err
	}
	for {
		s.mu.Lock()
		state, lastErr, changed := c.state, c.lastErr, s.changed
		s.mu.Unlock()
		switch state {
		case StateReady:
			return nil
		case StateFailed:
			return fmt.Errorf("child %s failed: %s", name, lastErr)
		case StateStopped:
			return fmt.Errorf("child %s is stopped", name)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("child %s is %s: %w", name, state, ctx.Err())
		}
	}
}

// enterState records a state change; the caller holds s.mu.
func (s *Supervisor) enterState(c *child, state State) {
	c.state, c.since = state, time.Now()
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Supervisor) setState(c *child, state State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enterState(c, state)
}

// setError records a state change caused by err.
func (s *Supervisor) setError(c *child, state State, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.lastErr = err.Error()
	s.enterState(c, state)
}
