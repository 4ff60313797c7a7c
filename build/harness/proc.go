package harness

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a live process as /proc shows it.
type process struct {
	pid   int
	args  []string
	netns uint64
}

// processes lists the machine's live processes, zombies and this process
// and its parent excepted. A process that exits while it is read is left
// out.
func processes() []process {
	entries, _ := os.ReadDir("/proc")
	var out []process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == 1 || pid == os.Getpid() || pid == os.Getppid() {
			continue
		}
		dir := "/proc/" + e.Name()
		if zombie(dir) {
			continue
		}
		cmdline, err := os.ReadFile(dir + "/cmdline")
		if err != nil || len(cmdline) == 0 { // kernel threads have none
			continue
		}
		p := process{pid: pid, args: strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")}
		if link, err := os.Readlink(dir + "/ns/net"); err == nil {
			// "net:[4026532283]"
			if i, j := strings.IndexByte(link, '['), strings.IndexByte(link, ']'); i > 0 && j > i {
				p.netns, _ = strconv.ParseUint(link[i+1:j], 10, 64)
			}
		}
		out = append(out, p)
	}
	return out
}

func zombie(dir string) bool {
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return true // gone
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X'
}

// ownNetns is the network namespace of this process: no process of a
// host is ever in it (a host's processes are in the host's namespace and
// children inherit it), so nothing in it is killed, whatever it names.
func ownNetns() uint64 {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &st); err != nil {
		return 0
	}
	return st.Ino
}

// mentions reports whether the process's command line or environment
// holds s: how the processes of a run are found once their namespace is
// gone (every path of a host is under its root, and the harness sets
// PIGSTY_ROOT).
func (p process) mentions(s string) bool {
	if strings.Contains(strings.Join(p.args, " "), s) {
		return true
	}
	env, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/environ")
	return err == nil && bytes.Contains(env, []byte(s))
}

// kind names a process of a host by what it is: agent, etcd, patroni,
// postgres (the postmaster), backend (its children), pgbouncer, haproxy,
// else the base name of its program ("pigsty" for other subcommands).
func kind(args []string) string {
	joined := strings.Join(args, " ")
	switch {
	case strings.Contains(joined, " run etcd"):
		return "etcd"
	case slices.Contains(args, "infra"):
		return "agent"
	case strings.Contains(joined, "-m patroni") || strings.HasSuffix(args[0], "/patroni"):
		return "patroni"
	case strings.HasPrefix(args[0], "postgres: "):
		return "backend"
	case filepath.Base(args[0]) == "postgres":
		return "postgres"
	case filepath.Base(args[0]) == "pgbouncer":
		return "pgbouncer"
	case filepath.Base(args[0]) == "haproxy":
		return "haproxy"
	}
	return filepath.Base(args[0])
}

// killAll sends SIGKILL to every process match selects, again until none
// is left — a supervisor may start a child between two rounds — or the
// timeout passes. It returns what was still alive then.
func killAll(match func(process) bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var alive []string
		for _, p := range processes() {
			if match(p) {
				syscall.Kill(p.pid, syscall.SIGKILL)
				alive = append(alive, fmt.Sprintf("%d (%s)", p.pid, strings.Join(p.args, " ")))
			}
		}
		if len(alive) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still alive after SIGKILL: %s", strings.Join(alive, ", "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
