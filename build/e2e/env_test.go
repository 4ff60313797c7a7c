// Package e2e runs the pigsty binary as a user would, as root against the
// real packages, with every file of the host under a temporary root and
// every connection on loopback.
package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	code := func() int {
		if os.Geteuid() != 0 {
			return m.Run() // every test skips
		}
		dir, err := os.MkdirTemp("", "pigsty-e2e-bin-")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(dir)
		os.Chmod(dir, 0o755)
		binary = filepath.Join(dir, "pigsty")
		_, file, _, _ := runtime.Caller(0)
		repo := filepath.Join(filepath.Dir(file), "../..")
		build := exec.Command("go", "build", "-o", binary, ".")
		build.Dir = repo
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			os.Stderr.Write(out)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// host is one pigsty host under a temporary root.
type host struct {
	t    *testing.T
	root string
}

// newHost makes a root the dbsu can traverse, and stops everything the
// test started there when it ends, also on failure.
func newHost(t *testing.T) *host {
	t.Helper()
	if os.Geteuid() != 0 || testing.Short() {
		t.Skip("needs root and the real packages (not -short)")
	}
	lockHost(t)
	// Agents in network namespaces of their own (build/harness) hold no
	// port of this one.
	self, _ := os.Readlink("/proc/self/ns/net")
	out, _ := exec.Command("pgrep", "-f", "pigsty.* infra").Output()
	for _, pid := range strings.Fields(string(out)) {
		if ns, _ := os.Readlink("/proc/" + pid + "/ns/net"); ns == self {
			t.Skipf("another pigsty agent runs on this machine: pid %s", pid)
		}
	}
	root, err := os.MkdirTemp("", "pigsty-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(root, 0o755)
	h := &host{t: t, root: root}
	t.Cleanup(func() {
		h.run("stop")
		h.killAll()
		if !t.Failed() {
			os.RemoveAll(root)
		} else {
			t.Logf("left %s for inspection", root)
		}
	})
	return h
}

// lockHost serializes the tests that bring up a host on the standard ports
// of this machine (5432, 6432, 5433-5438, 8008, 2379, …), across packages
// and processes.
func lockHost(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "pigsty-e2e.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
}

// run runs the binary with PIGSTY_ROOT set, in the root directory.
func (h *host) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = h.root
	cmd.Env = append(os.Environ(), "PIGSTY_ROOT="+h.root)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (h *host) must(args ...string) string {
	h.t.Helper()
	out, err := h.run(args...)
	if err != nil {
		h.t.Fatalf("pigsty %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// procs lists the live processes (no zombies) whose command line names
// the root, by the first word of their command line.
func (h *host) procs() map[string][]int {
	out := map[string][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(cmdline, []byte(h.root)) {
			continue
		}
		if stat, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				continue
			}
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		out[kind(args)] = append(out[kind(args)], pid)
	}
	return out
}

// kind names a process of the host by what it is.
func kind(args []string) string {
	joined := strings.Join(args, " ")
	switch {
	case strings.Contains(joined, " run etcd"):
		return "etcd"
	case strings.Contains(joined, " infra"):
		return "agent"
	case strings.Contains(joined, "-m patroni"):
		return "patroni"
	case strings.HasSuffix(args[0], "pgbouncer"):
		return "pgbouncer"
	case strings.HasSuffix(args[0], "haproxy"):
		return "haproxy"
	case strings.Contains(args[0], "postgres"):
		return "postgres"
	}
	return filepath.Base(args[0])
}

// killAll is the last resort of cleanup.
func (h *host) killAll() {
	for _, pids := range h.procs() {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// waitFor polls cond until it holds or the timeout passes, and returns
// how long that took.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	var err error
	for time.Since(start) < timeout {
		if err = cond(); err == nil {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %v", what, timeout, err)
	return 0
}
