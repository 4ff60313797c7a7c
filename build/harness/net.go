package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// Every object the harness makes is named after its slot, so that a run
// owns exactly the names of the slots it holds the lock of:
//
//	bridge   pgh<slot>br           10.211.<slot>.1/24 in the root namespace
//	host i   netns pgh<slot>-<i>   eth0 10.211.<slot>.<10+i>/24, lo
//	         veth  pgh<slot>-<i>   its peer, on the bridge
//	roots    <tmp>/pigsty-harness-<slot>-<random>/h<i>
const (
	namePrefix = "pgh"
	slots      = 256
	// lockDir is machine-wide on purpose (not $TMPDIR): namespaces and
	// links are machine-wide too.
	lockDir = "/run/pigsty-harness"
)

var reName = regexp.MustCompile(`^` + namePrefix + `(\d{1,3})(br|-\d+)$`)

func bridgeName(slot int) string     { return fmt.Sprintf("%s%dbr", namePrefix, slot) }
func hostName(slot, i int) string    { return fmt.Sprintf("%s%d-%d", namePrefix, slot, i) }
func subnet(slot int) string         { return fmt.Sprintf("10.211.%d", slot) }
func gatewayIP(slot int) string      { return subnet(slot) + ".1" }
func hostIP(slot, i int) string      { return fmt.Sprintf("%s.%d", subnet(slot), 10+i) }
func rootMarker(slot int) string     { return fmt.Sprintf("/pigsty-harness-%d-", slot) }
func slotOf(name string) (int, bool) { return parseSlot(reName.FindStringSubmatch(name)) }

func parseSlot(m []string) (int, bool) {
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil && n < slots
}

// slotLock is the flock that makes a slot this process's: held for the
// life of a Cluster, released by the kernel if the process dies.
type slotLock struct {
	slot int
	f    *os.File
}

// tryLockSlot takes the slot's lock if nobody holds it.
func tryLockSlot(slot int) (*slotLock, error) {
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(lockDir, strconv.Itoa(slot)+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("lock slot %d: %w", slot, err)
	}
	return &slotLock{slot: slot, f: f}, nil
}

// lockFreeSlot takes the first slot nobody holds.
func lockFreeSlot() (*slotLock, error) {
	for s := 0; s < slots; s++ {
		l, err := tryLockSlot(s)
		if err != nil {
			return nil, err
		}
		if l != nil {
			return l, nil
		}
	}
	return nil, fmt.Errorf("all %d harness slots are taken", slots)
}

func (l *slotLock) release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// ipCmd runs iproute2's ip with the given arguments.
func ipCmd(args ...string) error {
	out, err := exec.Command(ipPath(), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func ipPath() string {
	if p, err := exec.LookPath("ip"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "ip"
}

// makeBridge creates the slot's bridge with the root namespace's address
// on it. No forwarding is enabled: hosts reach each other and the root
// namespace, nothing else.
func makeBridge(slot int) error {
	br := bridgeName(slot)
	for _, args := range [][]string{
		{"link", "add", br, "type", "bridge"},
		{"addr", "add", gatewayIP(slot) + "/24", "dev", br},
		{"link", "set", br, "up"},
	} {
		if err := ipCmd(args...); err != nil {
			return err
		}
	}
	return nil
}

// makeHost creates host i: its namespace, and a veth pair whose peer is
// created directly inside the namespace as eth0.
func makeHost(slot, i int) error {
	name := hostName(slot, i)
	for _, args := range [][]string{
		{"netns", "add", name},
		{"link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", name},
		{"link", "set", name, "master", bridgeName(slot), "up"},
		{"-n", name, "addr", "add", hostIP(slot, i) + "/24", "dev", "eth0"},
		{"-n", name, "link", "set", "lo", "up"},
		{"-n", name, "link", "set", "eth0", "up"},
	} {
		if err := ipCmd(args...); err != nil {
			return err
		}
	}
	return nil
}

// netObjects lists the harness's links (in the root namespace) and
// namespaces, by slot.
func netObjects() (links, namespaces map[int][]string, err error) {
	links, namespaces = map[int][]string{}, map[int][]string{}
	ifs, err := os.ReadDir("/sys/class/net")
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ifs {
		if s, ok := slotOf(e.Name()); ok {
			links[s] = append(links[s], e.Name())
		}
	}
	nss, err := os.ReadDir("/run/netns")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	for _, e := range nss {
		if s, ok := slotOf(e.Name()); ok {
			namespaces[s] = append(namespaces[s], e.Name())
		}
	}
	return links, namespaces, nil
}

// removeNet deletes a slot's veths, then its namespaces, then its bridge:
// a veth deleted first takes its peer in the namespace with it, where
// deleting the namespace first leaves the pair to a deferred kernel
// cleanup that races the link deletion. Callers kill the namespaces'
// processes first; a namespace with a live process would otherwise
// outlive its name.
func removeNet(slot int) error {
	links, nss, err := netObjects()
	if err != nil {
		return err
	}
	var errs []error
	br := bridgeName(slot)
	for _, l := range links[slot] {
		if l != br {
			if err := ipCmd("link", "del", l); err != nil && linkExists(l) {
				errs = append(errs, err)
			}
		}
	}
	for _, ns := range nss[slot] {
		if err := ipCmd("netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if linkExists(br) {
		if err := ipCmd("link", "del", br); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func linkExists(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name))
	return err == nil
}

// netnsInode identifies a named namespace, to find its processes.
func netnsInode(ns string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join("/run/netns", ns), &st); err != nil {
		return 0, fmt.Errorf("netns %s: %w", ns, err)
	}
	return st.Ino, nil
}
