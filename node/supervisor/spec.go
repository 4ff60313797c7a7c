package supervisor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Spec describes one child. Zero durations and signals take the defaults
// noted on each field.
type Spec struct {
	Name       string              // unique; names the pid file
	Path       string              // absolute: PATH is not searched
	Args       []string            // without argv[0], which is Path
	Env        []string            // the complete environment; nil means an empty one
	Dir        string              // working directory; "" = the agent's
	Credential *syscall.Credential // nil = the agent's user; Groups are set exactly as given
	LogFile    string              // stdout and stderr; "" = /dev/null

	// Ready is polled after every start until it returns nil or StartTimeout
	// (default 60 s) passes; a child that is not ready by then is stopped and
	// restarted. nil means ready once started. It must return when ctx ends.
	Ready        func(ctx context.Context) error
	StartTimeout time.Duration

	StopSignal  syscall.Signal // default SIGTERM
	StopTimeout time.Duration  // before SIGKILL; default 10 s

	ReloadSignal syscall.Signal                  // 0 = the child cannot be reloaded
	BeforeReload func(ctx context.Context) error // runs first; an error cancels the reload

	// Tracked names a process the child started and detached, e.g. the
	// postmaster from postmaster.pid. It is asked every second while the
	// child runs, and what it names must run as the child's user. Stop stops
	// it after the child: TrackedStopSignal (default SIGTERM), SIGQUIT after
	// TrackedStopTimeout (default 30 s), SIGKILL after another.
	Tracked            func() (pid int, ok bool)
	TrackedStopSignal  syscall.Signal
	TrackedStopTimeout time.Duration

	Restart Restart

	// OnGiveUp runs once per outage when the child, after exiting on its
	// own, is not ready again within GiveUpAfter (0 = no deadline), or when
	// it fails. An outage ends when the child is ready, so a child without
	// a Ready probe ends it as soon as it runs. OnGiveUp runs on a goroutine
	// of its own and may call the Supervisor.
	GiveUpAfter time.Duration
	OnGiveUp    func()
}

// Restart limits how a child that exits on its own is restarted.
type Restart struct {
	Backoff    time.Duration // delay before the second restart in a row, doubled for each further one; default 1 s
	MaxBackoff time.Duration // default 30 s
	ResetAfter time.Duration // uptime after which the next restart is immediate again; default 60 s
	Intensity  int           // restarts allowed within Period before the child fails; default 5
	Period     time.Duration // default 60 s
}

func (spec Spec) withDefaults() Spec {
	setDuration(&spec.StartTimeout, 60*time.Second)
	setDuration(&spec.StopTimeout, 10*time.Second)
	setDuration(&spec.TrackedStopTimeout, 30*time.Second)
	if spec.StopSignal == 0 {
		spec.StopSignal = syscall.SIGTERM
	}
	if spec.TrackedStopSignal == 0 {
		spec.TrackedStopSignal = syscall.SIGTERM
	}
	r := &spec.Restart
	setDuration(&r.Backoff, time.Second)
	setDuration(&r.MaxBackoff, 30*time.Second)
	setDuration(&r.ResetAfter, 60*time.Second)
	setDuration(&r.Period, 60*time.Second)
	if r.Intensity <= 0 {
		r.Intensity = 5
	}
	return spec
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

func (spec Spec) validate() error {
	switch {
	case spec.Name == "" || spec.Name != filepath.Base(spec.Name) || strings.HasPrefix(spec.Name, "."):
		return fmt.Errorf("child name %q: want a plain file name", spec.Name)
	case !filepath.IsAbs(spec.Path):
		return fmt.Errorf("child %s: path %q is not absolute", spec.Name, spec.Path)
	case spec.LogFile != "" && !filepath.IsAbs(spec.LogFile):
		return fmt.Errorf("child %s: log file %q is not absolute", spec.Name, spec.LogFile)
	}
	return nil
}

// delay is the backoff before restart number n of an outage (n >= 1).
func (r Restart) delay(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	d := r.Backoff
	for i := 2; i < n && d < r.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.MaxBackoff)
}

// launchHash identifies what a process was started with, so a process
// started from an older Spec can be reported as outdated.
func (spec Spec) launchHash() string {
	b, _ := json.Marshal(struct {
		Path, Dir, LogFile string
		Args, Env          []string
		Credential         *syscall.Credential
	}{spec.Path, spec.Dir, spec.LogFile, spec.Args, spec.Env, spec.Credential})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

var errUnknownChild = errors.New("no such child")
