package supervisor

import (
	"context"
	"fmt"
	"sync"
	"time"
)

const (
	readyInterval = 100 * time.Millisecond // between Ready probes
	trackInterval = time.Second            // between Tracked look-ups
)

// supervise keeps c's process up until ctx ends: Start, Restart and Stop
// end it before they touch the process, and the Supervisor's context ends
// it to detach. The only process it stops itself is one that was not ready
// within its StartTimeout.
func (s *Supervisor) supervise(ctx context.Context, c *child, p *proc) {
	log := s.log.With("child", c.name)
	var out *outage
	defer func() { out.end() }()
	failures := 0 // exits in a row, for the backoff
	for {
		s.refreshTracked(c)
		spec := s.specOf(c)
		err := s.awaitReady(ctx, c, p, spec)
		if err == nil {
			out.end()
			out = nil
			s.watch(ctx, c, p)
		}
		if ctx.Err() != nil {
			return
		}
		if !p.exited() {
			log.Warn("not ready in time, stopping it", "pid", p.pid, "err", err)
			s.setError(c, StateStopping, err)
			if err := terminate(ctx, p, spec.StopSignal, spec.StopTimeout); err != nil {
				if ctx.Err() == nil {
					log.Error("cannot stop unready child", "pid", p.pid, "err", err)
					s.setError(c, StateFailed, err)
					out.giveUp()
				}
				return
			}
		}
		if time.Since(p.began) >= spec.Restart.ResetAfter {
			failures = 0
		}
		exit := s.gone(c, p)
		s.setState(c, StateBackoff)
		log.Warn("exited", "pid", p.pid, "exit", exit, "uptime", time.Since(p.began).Round(time.Millisecond))
		if out == nil {
			out = s.newOutage(c, spec)
		}
		s.refreshTracked(c)
		if p = s.restart(ctx, c, &failures, out); p == nil {
			return
		}
	}
}

// restart starts c again after the backoff: at once after the first exit
// in a row, which is what a Patroni whose postmaster still runs needs. It
// returns nil when c failed or ctx ended.
func (s *Supervisor) restart(ctx context.Context, c *child, failures *int, out *outage) *proc {
	log := s.log.With("child", c.name)
	for {
		spec := s.specOf(c)
		if !s.mayRestart(c, spec.Restart) {
			err := fmt.Errorf("more than %d restarts within %s", spec.Restart.Intensity, spec.Restart.Period)
			log.Error("giving up restarting", "err", err)
			s.setError(c, StateFailed, err)
			out.giveUp()
			return nil
		}
		*failures++
		delay := spec.Restart.delay(*failures)
		if delay > 0 {
			s.setState(c, StateBackoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(delay):
			}
		}
		p, err := s.spawn(spec)
		s.mu.Lock()
		c.restarts++
		c.history = append(c.history, time.Now())
		if err == nil {
			c.proc, c.adopted = p, false
			s.enterState(c, StateStarting)
		}
		s.mu.Unlock()
		if err == nil {
			log.Info("restarted", "pid", p.pid, "after", delay)
			return p
		}
		log.Error("restart failed", "err", err)
		s.setError(c, StateBackoff, err)
	}
}

// mayRestart applies the restart intensity limit.
func (s *Supervisor) mayRestart(c *child, r Restart) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := time.Now().Add(-r.Period)
	c.history = dropBefore(c.history, cut)
	return len(c.history) < r.Intensity
}

func dropBefore(ts []time.Time, cut time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(cut) {
		i++
	}
	return ts[i:]
}

// awaitReady polls the Spec's Ready until it passes; it fails when the
// process exits, the start timeout passes or ctx ends.
func (s *Supervisor) awaitReady(ctx context.Context, c *child, p *proc, spec Spec) error {
	if spec.Ready != nil {
		rctx, cancel := context.WithTimeout(ctx, spec.StartTimeout)
		defer cancel()
		tick := time.NewTicker(readyInterval)
		defer tick.Stop()
		for {
			err := spec.Ready(rctx)
			if err == nil {
				break
			}
			select {
			case <-p.done:
				return errExited
			case <-rctx.Done():
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("not ready after %s: %w", spec.StartTimeout, err)
			case <-tick.C:
			}
		}
	}
	if p.exited() {
		return errExited
	}
	s.setState(c, StateReady)
	s.log.Info("ready", "child", c.name, "pid", p.pid)
	return nil
}

// watch waits for the process to exit, looking for tracked processes.
func (s *Supervisor) watch(ctx context.Context, c *child, p *proc) {
	tick := time.NewTicker(trackInterval)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
			s.refreshTracked(c)
		}
	}
}

// gone records the end of c's process p and forgets its pid file.
func (s *Supervisor) gone(c *child, p *proc) string {
	exit := p.reap()
	s.removePidFile(c.name, p.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	c.lastExit = exit
	if c.proc == p {
		c.proc = nil
	}
	return exit
}

func (s *Supervisor) specOf(c *child) Spec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.spec
}

// outage runs OnGiveUp once if the child is not ready again within
// GiveUpAfter of exiting, or as soon as it fails.
type outage struct {
	timer *time.Timer
	once  sync.Once
	fn    func()
}

func (s *Supervisor) newOutage(c *child, spec Spec) *outage {
	o := &outage{fn: func() {
		s.log.Warn("child not back: giving up", "child", c.name)
		if spec.OnGiveUp != nil {
			spec.OnGiveUp()
		}
	}}
	if spec.GiveUpAfter > 0 {
		o.timer = time.AfterFunc(spec.GiveUpAfter, o.giveUp)
	}
	return o
}

// giveUp runs the hook on a goroutine of its own, so the hook may call the
// Supervisor, even Stop, which waits for the loop that calls giveUp.
func (o *outage) giveUp() {
	if o != nil {
		o.once.Do(func() { go o.fn() })
	}
}

// end cancels a pending give-up: the child is back, or the Supervisor let go.
func (o *outage) end() {
	if o != nil && o.timer != nil {
		o.timer.Stop()
	}
}
