package supervisor

import (
	"context"
	"errors"
	"os"
	"time"
)

// Adopt takes over the process a child's pid file names and supervises it
// like Start would, but never starts one: it reports false when there is
// no live process to adopt. `pigsty stop` uses it to stop the children of
// an agent that is gone.
func (s *Supervisor) Adopt(ctx context.Context, spec Spec) (bool, error) {
	if err := spec.validate(); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	spec = spec.withDefaults()
	if err := s.enter(); err != nil {
		return false, err
	}
	defer s.wg.Done()
	p, err := s.adopt(spec.Name)
	if p == nil {
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Info("nothing to adopt", "child", spec.Name, "reason", err)
		}
		return false, nil
	}
	s.log.Info("adopted running process", "child", spec.Name, "pid", p.pid)
	s.mu.Lock()
	c := s.children[spec.Name]
	if c == nil {
		c = &child{name: spec.Name, state: StateStopped, since: time.Now()}
		s.children[spec.Name] = c
	}
	s.seq++
	c.seq = s.seq
	c.spec, c.hash = spec, spec.launchHash()
	s.mu.Unlock()
	c.op.Lock()
	defer c.op.Unlock()
	s.supervised(c, p, true)
	return true, nil
}
