// Package harness runs several pigsty hosts on one machine for tests of
// multi-host HA: each host is a network namespace with its own address on
// a bridge the harness creates, and its own root directory (PIGSTY_ROOT),
// running the pigsty binary. It cuts and restores links, kills processes,
// runs SQL through any port of any host and measures write availability.
//
// Only loopback and the harness's own addresses are contacted: the
// namespaces have no default route and nothing forwards between the
// bridge and the machine's other links.
//
// Everything a Cluster makes — processes, namespaces, links — is removed
// when its test ends, also when it fails (t.Cleanup → Close). When the
// test binary itself dies (a test timeout, SIGKILL), a janitor process
// started by Main removes it, and the next run sweeps whatever is left
// (SweepStale). A test package uses it as
//
//	func TestMain(m *testing.M) { harness.Main(m) }
//
//	func TestX(t *testing.T) {
//		c := harness.New(t, 3)
//		inv := c.WriteInventory(harness.Topology{})
//		c.Hosts[0].Infra(inv)
//		…
//	}
package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary is the pigsty binary the hosts run, built by Main.
var binary string

// binaryEnv names a pigsty binary to use instead of building one.
const binaryEnv = "PIGSTY_HARNESS_BINARY"

// Main builds the pigsty binary once for the test binary, sweeps what
// crashed runs left, starts the janitor, and runs the tests. Without root
// it only runs them: New skips.
func Main(m *testing.M) { os.Exit(mainCode(m)) }

func mainCode(m *testing.M) int {
	if os.Getenv(janitorEnv) != "" {
		return janitor()
	}
	if os.Geteuid() != 0 {
		return m.Run()
	}
	if err := SweepStale(); err != nil {
		fmt.Fprintln(os.Stderr, "harness: sweeping what earlier runs left:", err)
	}
	guard, err := startJanitor()
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	defer guard.Close() // the janitor sweeps, finds nothing, exits
	if binary = os.Getenv(binaryEnv); binary != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "pigsty-harness-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755) // the dbsu re-executes the binary
	binary = filepath.Join(dir, "pigsty")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Dir = filepath.Join(filepath.Dir(file), "../..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "harness: build pigsty: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// Binary is the pigsty binary the hosts run.
func Binary() string { return binary }

// Cluster is a set of hosts on one bridge.
type Cluster struct {
	Slot    int    // the harness slot: addresses 10.211.<slot>.0/24
	Bridge  string // the bridge in the root namespace
	Gateway string // the root namespace's address on the bridge
	Dir     string // the run's directory: the hosts' roots, inventories, logs
	Hosts   []*Host

	t    testing.TB
	lock *slotLock

	mu      sync.Mutex
	procs   []*Proc
	writers []*Writer
	seq     int

	closeOnce sync.Once
	closeErr  error
}

// Host is one host of the cluster.
type Host struct {
	Name string // h1, h2, …
	IP   string // its address on the bridge, eth0 in its namespace
	Root string // PIGSTY_ROOT: every file the binary writes for this host is under it
	NS   string // its network namespace (ip netns)

	c    *Cluster
	veth string // the host side of its link, on the bridge
	mu   sync.Mutex
	cut  bool
}

// New creates a bridge and n hosts, and removes them when the test ends.
// It skips without root.
func New(t testing.TB, n int) *Cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the harness needs root (network namespaces)")
	}
	if binary == "" {
		t.Fatal("harness: no pigsty binary: call harness.Main(m) from the package's TestMain")
	}
	if n < 1 || n > 200 {
		t.Fatalf("harness: %d hosts: 1 to 200", n)
	}
	start := time.Now()
	lock, err := lockFreeSlot()
	if err != nil {
		t.Fatal("harness:", err)
	}
	// What a crashed run left in this slot is stale: we hold its lock.
	if err := sweepSlot(lock.slot); err != nil {
		lock.release()
		t.Fatalf("harness: sweep slot %d: %v", lock.slot, err)
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("pigsty-harness-%d-", lock.slot))
	if err != nil {
		lock.release()
		t.Fatal("harness:", err)
	}
	c := &Cluster{Slot: lock.slot, Bridge: bridgeName(lock.slot), Gateway: gatewayIP(lock.slot), Dir: dir, t: t, lock: lock}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("harness: %v", err)
		}
	})
	// The dbsu traverses every root.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal("harness:", err)
	}
	if err := makeBridge(c.Slot); err != nil {
		t.Fatal("harness:", err)
	}
	for i := 1; i <= n; i++ {
		h := &Host{Name: fmt.Sprintf("h%d", i), IP: hostIP(c.Slot, i), NS: hostName(c.Slot, i), veth: hostName(c.Slot, i), c: c}
		h.Root = filepath.Join(dir, h.Name)
		if err := skeleton(h.Root); err != nil {
			t.Fatal("harness:", err)
		}
		c.Hosts = append(c.Hosts, h)
		if err := makeHost(c.Slot, i); err != nil {
			t.Fatal("harness:", err)
		}
	}
	t.Logf("harness: slot %d, %d hosts on %s (%s.0/24) in %s, up in %s",
		c.Slot, n, c.Bridge, subnet(c.Slot), dir, time.Since(start).Round(time.Millisecond))
	return c
}

// skeleton makes a root look like a fresh host: the directories every
// Debian host has, with their usual modes, so that what the binary
// creates 0700 under them (a CA, etcd's data) does not close the way for
// the dbsu to the rest.
func skeleton(root string) error {
	for _, d := range []string{"", "etc", "var", "var/lib", "var/log", "var/run", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	return os.Chmod(filepath.Join(root, "tmp"), 0o1777)
}

// Host returns the host of that name (h1, …) or address.
func (c *Cluster) Host(nameOrIP string) *Host {
	for _, h := range c.Hosts {
		if h.Name == nameOrIP || h.IP == nameOrIP {
			return h
		}
	}
	return nil
}

// VIP is an address of the cluster's subnet no host has: for pg_vip_address.
func (c *Cluster) VIP() string { return subnet(c.Slot) + ".2" }

// Close heals cut links, stops pigsty on every host (`pigsty stop` in its
// namespace; hosts without an etcd member first, so that Patroni can
// still reach the DCS while it stops), kills whatever is left — every
// process of the namespaces, any process outside this one's namespace
// naming the run's directory, every process the harness started — waits
// for them to exit, then deletes the veths, namespaces and bridge and
// checks that none is left. It removes
// the run's directory unless the test failed. It is idempotent, and runs
// when the test ends.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Cluster) close() error {
	start := time.Now()
	defer c.lock.release()
	c.mu.Lock()
	writers := c.writers
	c.mu.Unlock()
	for _, w := range writers {
		w.halt()
	}
	var errs []error
	for _, h := range c.Hosts {
		if err := h.Heal(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.t.Failed() {
		c.logTails()
	}
	var etcdHosts, others []*Host
	for _, h := range c.Hosts {
		switch procs := h.Procs(); {
		case len(procs["etcd"]) > 0:
			etcdHosts = append(etcdHosts, h)
		case len(procs) > 0:
			others = append(others, h)
		}
	}
	for _, group := range [][]*Host{others, etcdHosts} {
		errs = append(errs, parallel(group, func(h *Host) error { return h.stop(time.Minute) })...)
	}
	stopped := time.Now()

	inodes := map[uint64]bool{}
	for _, h := range c.Hosts {
		if ino, err := netnsInode(h.NS); err == nil {
			inodes[ino] = true
		}
	}
	marker, own := c.Dir+"/", ownNetns()
	if err := killAll(func(p process) bool {
		return p.netns != own && (inodes[p.netns] || p.mentions(marker))
	}, 15*time.Second); err != nil {
		errs = append(errs, err)
	}
	c.mu.Lock()
	procs := c.procs
	c.mu.Unlock()
	for _, p := range procs {
		p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			errs = append(errs, fmt.Errorf("%s did not exit", p))
		}
	}
	if err := removeNet(c.Slot); err != nil {
		errs = append(errs, err)
	}
	links, nss, err := netObjects()
	if err != nil {
		errs = append(errs, err)
	} else if left := append(links[c.Slot], nss[c.Slot]...); len(left) > 0 {
		errs = append(errs, fmt.Errorf("left behind: %s", strings.Join(left, ", ")))
	}
	if c.t.Failed() {
		c.t.Logf("harness: left %s for inspection", c.Dir)
	} else if len(errs) == 0 {
		os.RemoveAll(c.Dir)
	}
	c.t.Logf("harness: slot %d torn down in %s (pigsty stop %s)", c.Slot,
		time.Since(start).Round(time.Millisecond), stopped.Sub(start).Round(time.Millisecond))
	return errors.Join(errs...)
}

// logTails shows the end of the logs of the processes the harness
// started and of the agents on every host, for a test that failed.
func (c *Cluster) logTails() {
	c.mu.Lock()
	var logs []string
	for _, p := range c.procs {
		logs = append(logs, p.Log)
	}
	c.mu.Unlock()
	for _, h := range c.Hosts {
		for _, agent := range []string{"infra", "node"} {
			logs = append(logs, filepath.Join(h.Root, "var/lib/pigsty/log", agent+".log"))
		}
	}
	for _, path := range logs {
		b, err := os.ReadFile(path)
		if err != nil || len(b) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		c.t.Logf("harness: last lines of %s:\n%s", path, strings.Join(lines, "\n"))
	}
}

// parallel runs fn for each host at once and collects the errors.
func parallel(hosts []*Host, fn func(*Host) error) []error {
	errc := make(chan error, len(hosts))
	for _, h := range hosts {
		go func() { errc <- fn(h) }()
	}
	var errs []error
	for range hosts {
		if err := <-errc; err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
