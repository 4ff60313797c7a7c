package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Supervisor runs the children of one agent process.
type Supervisor struct {
	dir  string
	boot string
	log  *slog.Logger
	ctx  context.Context
	lock *os.File // flock on runDir: one Supervisor per runDir
	done chan struct{}
	wg   sync.WaitGroup // the reaper, supervise loops and operations in flight

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every state change
	detached bool
	children map[string]*child
	seq      int
}

type child struct {
	name string
	op   sync.Mutex // serializes Start, Restart, Stop and Reload of this child

	// guarded by Supervisor.mu
	spec     Spec
	hash     string // spec.launchHash()
	seq      int    // start order, for StopAll
	state    State
	since    time.Time
	proc     *proc // nil while no process runs
	tracked  []*proc
	adopted  bool
	restarts int
	history  []time.Time // restarts within Restart.Period
	lastExit string
	lastErr  string
	halt     context.CancelFunc // ends the supervise loop; nil when none was started
	loopDone chan struct{}
}

var errDetached = errors.New("supervisor is detached: its context ended")

// New makes this process a child subreaper and starts reaping orphans. The
// Supervisor lives until ctx ends; then it detaches: children keep running,
// for the next agent to adopt. runDir holds the pid files.
func New(ctx context.Context, runDir string, log *slog.Logger) (*Supervisor, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, fmt.Errorf("supervisor run dir: %w", err)
	}
	boot, err := bootID()
	if err != nil {
		return nil, err
	}
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open (needs Linux 5.3 or later): %w", err)
	}
	unix.Close(fd)
	lock, err := os.OpenFile(filepath.Join(runDir, "supervisor.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("supervisor lock: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("run dir %s is in use by another supervisor", runDir)
		}
		return nil, fmt.Errorf("lock run dir %s: %w", runDir, err)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		lock.Close()
		return nil, fmt.Errorf("become child subreaper: %w", err)
	}
	s := &Supervisor{dir: runDir, boot: boot, log: log, ctx: ctx, lock: lock,
		done: make(chan struct{}), changed: make(chan struct{}), children: map[string]*child{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		reap(ctx, log)
	}()
	go s.detach()
	return s, nil
}

// detach lets go of every process once the context ends and the loops
// have returned; the processes keep running.
func (s *Supervisor) detach() {
	<-s.ctx.Done()
	s.mu.Lock()
	s.detached = true
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	for _, c := range s.children {
		if c.proc != nil {
			c.proc.release()
		}
		for _, t := range c.tracked {
			t.release()
		}
	}
	s.mu.Unlock()
	s.lock.Close()
	close(s.done)
}

// Wait returns once the Supervisor's context has ended and it has let go of
// its processes and of runDir.
func (s *Supervisor) Wait() { <-s.done }

// enter counts an operation in flight, so detach waits for it.
func (s *Supervisor) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.detached || s.ctx.Err() != nil {
		return errDetached
	}
	s.wg.Add(1)
	return nil
}

func (s *Supervisor) child(name string) (*child, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.children[name]
	if c == nil {
		return nil, fmt.Errorf("child %s: %w", name, errUnknownChild)
	}
	return c, nil
}

// Start starts the child, or adopts the process its pid file names, and
// supervises it; it returns once the process runs, not when it is ready.
// Starting a child that runs already only updates its Spec, like Update;
// starting a failed or stopped one starts it afresh.
func (s *Supervisor) Start(ctx context.Context, spec Spec) error {
	if err := spec.validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	spec = spec.withDefaults()
	if err := s.enter(); err != nil {
		return err
	}
	defer s.wg.Done()
	s.mu.Lock()
	c := s.children[spec.Name]
	if c == nil {
		c = &child{name: spec.Name, state: StateStopped, since: time.Now()}
		s.children[spec.Name] = c
	}
	s.mu.Unlock()
	c.op.Lock()
	defer c.op.Unlock()
	s.mu.Lock()
	c.spec, c.hash = spec, spec.launchHash()
	running := c.halt != nil && c.state != StateFailed && c.state != StateStopped
	if !running {
		s.seq++
		c.seq = s.seq
	}
	s.mu.Unlock()
	if running {
		return nil
	}
	s.haltLoop(c)
	return s.launch(c, true)
}

// Update replaces the Spec of a known child. The running process keeps the
// old command line and environment (Status reports it Outdated) until the
// next restart; Restart applies them now. Everything else applies at once.
func (s *Supervisor) Update(spec Spec) error {
	if err := spec.validate(); err != nil {
		return err
	}
	c, err := s.child(spec.Name)
	if err != nil {
		return err
	}
	spec = spec.withDefaults()
	s.mu.Lock()
	c.spec, c.hash = spec, spec.launchHash()
	s.mu.Unlock()
	return nil
}

// Restart stops the child's process gracefully and starts it again with its
// current Spec. Tracked processes are not stopped here, though the child
// may stop them on its stop signal: Patroni stops PostgreSQL on SIGTERM.
func (s *Supervisor) Restart(ctx context.Context, name string) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.wg.Done()
	c, err := s.child(name)
	if err != nil {
		return err
	}
	c.op.Lock()
	defer c.op.Unlock()
	s.haltLoop(c)
	s.mu.Lock()
	spec, p := c.spec, c.proc
	s.mu.Unlock()
	if p != nil {
		s.setState(c, StateStopping)
		s.log.Info("restarting", "child", name, "pid", p.pid, "signal", spec.StopSignal)
		if err := terminate(ctx, p, spec.StopSignal, spec.StopTimeout); err != nil {
			err = fmt.Errorf("child %s: %w", name, err)
			s.setError(c, StateFailed, err)
			return err
		}
		s.gone(c, p)
	}
	return s.launch(c, false)
}

// launch starts or adopts c's process and the loop that supervises it.
func (s *Supervisor) launch(c *child, adopt bool) error {
	s.mu.Lock()
	spec := c.spec
	s.mu.Unlock()
	log := s.log.With("child", c.name)
	var p *proc
	if adopt {
		var err error
		switch p, err = s.adopt(c.name); {
		case p != nil:
			log.Info("adopted running process", "pid", p.pid)
		case !errors.Is(err, os.ErrNotExist):
			log.Info("not adopting", "reason", err)
		}
	}
	adopted := p != nil
	if p == nil {
		var err error
		if p, err = s.spawn(spec); err != nil {
			s.setError(c, StateFailed, err)
			return err
		}
		log.Info("started", "pid", p.pid)
	}
	s.supervised(c, p, adopted)
	return nil
}

// supervised runs the loop that supervises c's process p.
func (s *Supervisor) supervised(c *child, p *proc, adopted bool) {
	ctx, halt := context.WithCancel(s.ctx)
	done := make(chan struct{})
	s.mu.Lock()
	c.proc, c.adopted = p, adopted
	c.restarts, c.history, c.lastErr = 0, nil, ""
	c.halt, c.loopDone = halt, done
	s.enterState(c, StateStarting)
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer close(done)
		s.supervise(ctx, c, p)
	}()
}

// haltLoop ends c's supervise loop and waits for it.
func (s *Supervisor) haltLoop(c *child) {
	s.mu.Lock()
	halt, done := c.halt, c.loopDone
	c.halt, c.loopDone = nil, nil
	s.mu.Unlock()
	if halt != nil {
		halt()
		<-done
	}
}

// Reload runs the Spec's BeforeReload and sends its ReloadSignal.
func (s *Supervisor) Reload(ctx context.Context, name string) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.wg.Done()
	c, err := s.child(name)
	if err != nil {
		return err
	}
	c.op.Lock()
	defer c.op.Unlock()
	s.mu.Lock()
	spec, p := c.spec, c.proc
	s.mu.Unlock()
	switch {
	case spec.ReloadSignal == 0:
		return fmt.Errorf("child %s has no reload signal", name)
	case p == nil || p.exited():
		return fmt.Errorf("child %s is not running", name)
	}
	if spec.BeforeReload != nil {
		if err := spec.BeforeReload(ctx); err != nil {
			return fmt.Errorf("child %s: before reload: %w", name, err)
		}
	}
	if err := p.signal(spec.ReloadSignal); err != nil {
		return fmt.Errorf("child %s: reload: %w", name, err)
	}
	s.log.Info("reload signalled", "child", name, "pid", p.pid, "signal", spec.ReloadSignal)
	return nil
}

// Stop stops one child and what it leaves behind; see StopAll.
func (s *Supervisor) Stop(ctx context.Context, name string) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.wg.Done()
	c, err := s.child(name)
	if err != nil {
		return err
	}
	c.op.Lock()
	defer c.op.Unlock()
	return s.stop(ctx, c)
}

// StopAll stops every child, the last started first: each gets its stop
// signal, then SIGKILL after its StopTimeout; its tracked processes, then
// whatever is left in its session and theirs, follow. Cancelling ctx skips
// the grace periods, not the kills, so nothing the Supervisor started
// remains when StopAll returns nil.
func (s *Supervisor) StopAll(ctx context.Context) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.wg.Done()
	s.mu.Lock()
	type ordered struct {
		c   *child
		seq int
	}
	all := make([]ordered, 0, len(s.children))
	for _, c := range s.children {
		all = append(all, ordered{c, c.seq})
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b ordered) int { return b.seq - a.seq })
	var errs []error
	for _, o := range all {
		c := o.c
		c.op.Lock()
		errs = append(errs, s.stop(ctx, c))
		c.op.Unlock()
	}
	return errors.Join(errs...)
}
