package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// env is the clean environment of the host's processes.
func (h *Host) env() []string {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root",
		"LANG=C.UTF-8",
		"PIGSTY_ROOT=" + h.Root,
		"TMPDIR=" + filepath.Join(h.Root, "tmp"),
	}
	if l := os.Getenv("PIGSTY_LOG_LEVEL"); l != "" {
		env = append(env, "PIGSTY_LOG_LEVEL="+l)
	}
	return env
}

// Command prepares any program to run in the host's namespace, in its
// root directory, with its clean environment (PIGSTY_ROOT, TMPDIR under
// the root). `ip netns exec` also gives it a /sys of the namespace. The
// harness kills it with everything else of the namespace at Close.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, ipPath(), append([]string{"netns", "exec", h.NS, name}, args...)...)
	cmd.Env = h.env()
	cmd.Dir = h.Root
	return cmd
}

// Run runs the pigsty binary in the host's namespace and returns its
// combined output.
func (h *Host) Run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	return h.run(ctx, args...)
}

func (h *Host) run(ctx context.Context, args ...string) (string, error) {
	cmd := h.Command(ctx, binary, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s: pigsty %s: %w", h.Name, strings.Join(args, " "), err)
	}
	return out.String(), err
}

// Must is Run that fails the test on an error (from the test's goroutine
// only).
func (h *Host) Must(args ...string) string {
	h.c.t.Helper()
	out, err := h.Run(args...)
	if err != nil {
		h.c.t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// Proc is a process the harness started in the background.
type Proc struct {
	Host *Host
	Args []string
	Log  string // its stdout and stderr

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (p *Proc) String() string {
	return fmt.Sprintf("%s: pigsty %s (pid %d)", p.Host.Name, strings.Join(p.Args, " "), p.Pid())
}

// Pid is the process's pid (ip netns exec execs: it is pigsty's).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is how the process exited, once Done is closed.
func (p *Proc) Err() error { <-p.done; return p.err }

// Start runs the pigsty binary in the background in the host's namespace,
// in a session of its own, logging to a file of the run's directory.
func (h *Host) Start(args ...string) (*Proc, error) {
	c := h.c
	c.mu.Lock()
	c.seq++
	seq := c.seq
	c.mu.Unlock()
	logDir := filepath.Join(c.Dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	name := "pigsty"
	if len(args) > 0 {
		name = args[0]
	}
	p := &Proc{Host: h, Args: args, Log: filepath.Join(logDir, fmt.Sprintf("%s-%02d-%s.log", h.Name, seq, name)), done: make(chan struct{})}
	logf, err := os.OpenFile(p.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	p.cmd = h.Command(context.Background(), binary, args...)
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = nil, logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start pigsty %s: %w", h.Name, strings.Join(args, " "), err)
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Infra starts `pigsty infra -f inventory` on the host in the background:
// the control plane (if the host is in the infra group) and its agent.
func (h *Host) Infra(inventory string) (*Proc, error) {
	return h.Start("infra", "-f", inventory, "--ip", h.IP)
}

// Join joins the host to the fleet of the infra host with the token
// `pigsty token` prints there (passed in the environment, not argv), as
// `pigsty join` does it: the host's agent, `pigsty node`, then runs in the
// background in its namespace, logging to var/lib/pigsty/log/node.log
// under its root.
func (h *Host) Join(infra *Host) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The token is what `pigsty token` prints on stdout; stderr may hold
	// log lines of libraries (VictoriaMetrics notes a missing cgroup
	// pressure file in a namespace).
	tokenCmd := infra.Command(ctx, binary, "token")
	var stderr bytes.Buffer
	tokenCmd.Stderr = &stderr
	token, err := tokenCmd.Output()
	if err != nil {
		return stderr.String(), fmt.Errorf("%s: pigsty token: %w", infra.Name, err)
	}
	cmd := h.Command(ctx, binary, "join", infra.IP, "--ip", h.IP)
	cmd.Env = append(cmd.Env, "PIGSTY_TOKEN="+strings.TrimSpace(string(token)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: pigsty join %s: %w", h.Name, infra.IP, err)
	}
	return string(out), nil
}

// Status is one row of `pigsty status --json`.
type Status struct {
	Cluster   string `json:"cls"`
	Instance  string `json:"ins"`
	IP        string `json:"ip"`
	Role      string `json:"role"`
	State     string `json:"state"`
	Timeline  int    `json:"timeline"`
	LagBytes  *int64 `json:"lag_bytes"`
	Revision  int64  `json:"revision"`
	Converged bool   `json:"converged"`
	Phase     string `json:"phase"`
	Error     string `json:"error"`
}

// Status runs `pigsty status --json` in the host's namespace.
func (h *Host) Status() ([]Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := h.Command(ctx, binary, "status", "--json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: pigsty status: %w: %s", h.Name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var rows []Status
	if err := json.Unmarshal(out, &rows); err != nil {
		return nil, fmt.Errorf("%s: pigsty status --json: %w", h.Name, err)
	}
	return rows, nil
}

// WaitReady waits until every instance on the host has converged to the
// desired state, as `pigsty status` run on the host reports it.
func (h *Host) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		rows, err := h.Status()
		mine, ready := 0, 0
		if err == nil {
			last = ""
			for _, r := range rows {
				if r.IP != h.IP {
					continue
				}
				mine++
				if r.Converged {
					ready++
				}
				last += fmt.Sprintf(" %s: %s %s phase=%q error=%q;", r.Instance, r.Role, r.State, r.Phase, r.Error)
			}
			if mine > 0 && ready == mine {
				return nil
			}
			if mine == 0 {
				last = "no instance of this host in the inventory the agent runs"
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not ready within %s: %s", h.Name, timeout, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Stop runs `pigsty stop` on the host.
func (h *Host) Stop() error { return h.stop(time.Minute) }

func (h *Host) stop(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := h.run(ctx, "stop", "--ip", h.IP)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

// Cut takes the host off the network as a pulled cable would: the host
// side of its link goes down, so its packets are dropped (peers see
// timeouts, not refusals) while its own address keeps answering inside
// the namespace.
func (h *Host) Cut() error { return h.setLink(true) }

// Heal restores the link Cut took down.
func (h *Host) Heal() error { return h.setLink(false) }

func (h *Host) setLink(cut bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cut == cut {
		return nil
	}
	state := "up"
	if cut {
		state = "down"
	}
	if err := ipCmd("link", "set", h.veth, state); err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	h.cut = cut
	return nil
}

// Procs lists the live processes in the host's namespace by kind: agent,
// etcd, patroni, postgres (the postmaster), backend, pgbouncer, haproxy,
// or the program's name.
func (h *Host) Procs() map[string][]int {
	out := map[string][]int{}
	ino, err := netnsInode(h.NS)
	if err != nil {
		return out
	}
	for _, p := range processes() {
		if p.netns == ino {
			k := kind(p.args)
			out[k] = append(out[k], p.pid)
		}
	}
	return out
}

// Kill sends SIGKILL to the host's processes of a kind (see Procs) and
// returns their pids; none is an error.
func (h *Host) Kill(kind string) ([]int, error) {
	pids := h.Procs()[kind]
	if len(pids) == 0 {
		return nil, fmt.Errorf("%s: no %s runs (%v)", h.Name, kind, h.Procs())
	}
	var errs []error
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("%s: kill %s %d: %w", h.Name, kind, pid, err))
		}
	}
	return pids, errors.Join(errs...)
}
