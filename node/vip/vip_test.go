package vip

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/vishvananda/netns"
)

// TestBindRelease binds and releases an address on a dummy interface in a
// network namespace of its own, so the host's network is never touched.
func TestBindRelease(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New() // switches this thread into it
	if err != nil {
		t.Fatal(err)
	}
	defer func() { netns.Set(orig); ns.Close() }()
	name := fmt.Sprintf("pgvip%d", os.Getpid()%10000)
	if out, err := exec.Command("ip", "link", "add", name, "type", "dummy").CombinedOutput(); err != nil {
		t.Skipf("no dummy interface here: %v %s", err, out)
	}
	if out, err := exec.Command("ip", "link", "set", name, "up").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	const addr = "10.213.0.10/24"
	added, err := Bind(name, addr)
	if err != nil || !added {
		t.Fatalf("bind: %v %v", added, err)
	}
	if again, err := Bind(name, addr); err != nil || again {
		t.Fatalf("second bind: %v %v", again, err)
	}
	if ok, _ := Bound(name, addr); !ok {
		t.Fatal("not bound")
	}
	if removed, err := Release(name, addr); err != nil || !removed {
		t.Fatalf("release: %v %v", removed, err)
	}
	if ok, _ := Bound(name, addr); ok {
		t.Fatal("still bound")
	}
}
