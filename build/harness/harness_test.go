package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// serve answers every connection with the host's name.
func serve(l net.Listener, name string) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		fmt.Fprintln(conn, name)
		conn.Close()
	}
}

// hello reads the greeting of a connection.
func hello(conn net.Conn, err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestNetwork(t *testing.T) {
	c := New(t, 3)
	h1, h2, h3 := c.Hosts[0], c.Hosts[1], c.Hosts[2]
	l, err := h2.Listen("tcp", ":7000") // every address of host 2, its loopback too
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go serve(l, "h2")
	target := net.JoinHostPort(h2.IP, "7000")
	fromRoot := func() (string, error) { return hello(net.DialTimeout("tcp", target, time.Second)) }
	from := func(h *Host, addr string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return hello(h.Dial(ctx, "tcp", addr))
	}
	reachable := func(when string) {
		t.Helper()
		if got, err := fromRoot(); got != "h2" {
			t.Errorf("%s: from the root namespace: %q, %v", when, got, err)
		}
		for _, h := range []*Host{h1, h3} {
			if got, err := from(h, target); got != "h2" {
				t.Errorf("%s: from %s: %q, %v", when, h.Name, got, err)
			}
		}
	}
	reachable("at start")

	// Each host has its own ports and loopback.
	if got, err := from(h2, "127.0.0.1:7000"); got != "h2" {
		t.Errorf("host 2 on its loopback: %q, %v", got, err)
	}
	if _, err := from(h1, "127.0.0.1:7000"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("host 1's loopback answers on host 2's port: %v", err)
	}
	// Nothing leads out of the bridge's subnet.
	for _, h := range c.Hosts {
		out, err := exec.Command(ipPath(), "-n", h.NS, "route", "show", "default").CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("%s has a default route: %q, %v", h.Name, out, err)
		}
	}

	if err := h2.Cut(); err != nil {
		t.Fatal(err)
	}
	if got, err := fromRoot(); err == nil {
		t.Errorf("cut host answers the root namespace: %q", got)
	}
	if got, err := from(h1, target); err == nil {
		t.Errorf("cut host answers host 1: %q", got)
	}
	if got, err := from(h2, target); got != "h2" {
		t.Errorf("a cut host no longer reaches its own address: %q, %v", got, err)
	}

	if err := h2.Heal(); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	for {
		if _, err := fromRoot(); err == nil {
			break
		}
		if time.Since(healed) > 5*time.Second {
			t.Fatal("host 2 unreachable 5 s after Heal")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("reachable again %s after Heal", time.Since(healed).Round(time.Millisecond))
	reachable("after Heal")
}

// TestClose: every process of the namespaces goes — the harness's, one
// started with Command, one that left its session — then every namespace
// and link, and the slot is free again.
func TestClose(t *testing.T) {
	c := New(t, 3)
	ctx := context.Background()
	sleeper := c.Hosts[1].Command(ctx, "sleep", "600")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	go sleeper.Wait()
	if out, err := c.Hosts[2].Command(ctx, "sh", "-c", "setsid sleep 601 </dev/null >/dev/null 2>&1 &").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	proc, err := c.Hosts[0].Start("--help")
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Err(); err != nil {
		t.Errorf("pigsty --help in host 1: %v", err)
	}
	if b, _ := os.ReadFile(proc.Log); !strings.Contains(string(b), "pigsty") {
		t.Errorf("log of pigsty --help: %q", b)
	}
	var pids []int
	deadline := time.Now().Add(5 * time.Second)
	for _, h := range c.Hosts[1:] {
		for len(h.Procs()["sleep"]) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if len(h.Procs()["sleep"]) != 1 {
			t.Fatalf("%s: %v", h.Name, h.Procs())
		}
		pids = append(pids, h.Procs()["sleep"]...)
	}
	if len(c.Hosts[0].Procs()) != 0 {
		t.Errorf("host 1 sees processes of other namespaces: %v", c.Hosts[0].Procs())
	}
	killed, err := c.Hosts[1].Kill("sleep")
	if err != nil || len(killed) != 1 {
		t.Fatalf("kill: %v %v", killed, err)
	}
	for len(c.Hosts[1].Procs()["sleep"]) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if left := c.Hosts[1].Procs()["sleep"]; len(left) > 0 {
		t.Errorf("sleep survived kill -9: %v", left)
	}
	if _, err := c.Hosts[1].Kill("sleep"); err == nil {
		t.Error("Kill of nothing is not an error")
	}

	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close of 3 hosts: %s", time.Since(start).Round(time.Millisecond))
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	assertGone(t, c.Slot, c.Dir)
	for _, pid := range pids {
		if !zombie("/proc/" + strconv.Itoa(pid)) {
			t.Errorf("pid %d alive after Close", pid)
		}
	}
	if _, err := os.Stat(c.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left after a passing test: %v", c.Dir, err)
	}
	l, err := tryLockSlot(c.Slot)
	if err != nil || l == nil {
		t.Fatalf("slot %d still locked after Close: %v", c.Slot, err)
	}
	l.release()
}

// assertGone checks that no namespace, link or process of the slot or
// the run's directory is left.
func assertGone(t *testing.T, slot int, dir string) {
	t.Helper()
	links, nss, err := netObjects()
	if err != nil {
		t.Fatal(err)
	}
	if left := append(links[slot], nss[slot]...); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	out, _ := exec.Command(ipPath(), "-o", "link", "show").Output()
	if name := bridgeName(slot); strings.Contains(string(out), name+":") {
		t.Errorf("ip link still lists %s", name)
	}
	for _, p := range processes() {
		if p.mentions(dir + "/") {
			t.Errorf("process left: %d %v", p.pid, p.args)
		}
	}
}

// TestDeliberateFailure runs a test that fails, and one that the test
// timeout kills, in a child test binary, and checks that nothing of
// theirs is left: the first cleans up through t.Cleanup, the second
// through the janitor.
func TestDeliberateFailure(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	reSlot := regexp.MustCompile(`harness-helper slot=(\d+) dir=(\S+)`)
	for mode, timeout := range map[string]string{"fail": "1m", "timeout": "4s"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRun$", "-test.v", "-test.timeout="+timeout)
			cmd.Env = append(os.Environ(), "HARNESS_HELPER="+mode, binaryEnv+"="+binary)
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the helper passed:\n%s", out)
			}
			m := reSlot.FindStringSubmatch(string(out))
			if m == nil {
				t.Fatalf("the helper said nothing of its slot:\n%s", out)
			}
			slot, _ := strconv.Atoi(m[1])
			dir := m[2]
			defer os.RemoveAll(dir)
			switch mode {
			case "fail":
				for _, want := range []string{"deliberate failure", "torn down in", "left " + dir + " for inspection"} {
					if !strings.Contains(string(out), want) {
						t.Errorf("the helper's output lacks %q:\n%s", want, out)
					}
				}
			case "timeout":
				if !strings.Contains(string(out), "test timed out") {
					t.Errorf("the helper did not time out:\n%s", out)
				}
			}
			// The janitor needs a moment after the helper's death.
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				links, nss, _ := netObjects()
				if len(links[slot])+len(nss[slot]) == 0 && len(processesNaming(dir)) == 0 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			assertGone(t, slot, dir)
			t.Logf("%s: everything gone %s after the helper started", mode, time.Since(start).Round(time.Millisecond))
		})
	}
}

func processesNaming(dir string) []process {
	var out []process
	for _, p := range processes() {
		if p.mentions(dir + "/") {
			out = append(out, p)
		}
	}
	return out
}

// TestHelperRun is the child of TestDeliberateFailure: it makes hosts, a
// process that left its session on each, and fails or hangs.
func TestHelperRun(t *testing.T) {
	mode := os.Getenv("HARNESS_HELPER")
	if mode == "" {
		t.Skip("run by TestDeliberateFailure")
	}
	c := New(t, 2)
	fmt.Printf("harness-helper slot=%d dir=%s\n", c.Slot, c.Dir)
	for _, h := range c.Hosts {
		cmd := h.Command(context.Background(), "sh", "-c", "setsid sleep 602 </dev/null >/dev/null 2>&1 &")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	switch mode {
	case "fail":
		t.Fatal("deliberate failure")
	case "timeout":
		time.Sleep(time.Hour)
	}
}

// TestSingleNode brings up pg-meta on a namespace host with `pigsty
// infra` — PIGSTY_ROOT and an address that is not 127.0.0.1 — and writes
// through 5433 from the root namespace while pgbouncer is killed.
func TestSingleNode(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up PostgreSQL (not -short)")
	}
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/sbin/haproxy", "/usr/lib/pigsty/patroni"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("packages not installed (pigsty install): %v", err)
		}
	}
	c := New(t, 1)
	h := c.Hosts[0]
	inv := c.WriteInventory(Topology{Name: "pg-meta"})
	start := time.Now()
	if _, err := h.Infra(inv); err != nil {
		t.Fatal(err)
	}
	if err := h.WaitReady(3 * time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("pg-meta ready %s after pigsty infra started", time.Since(start).Round(100*time.Millisecond))
	rows, err := h.Status()
	// Patroni 4 calls the primary of the cluster its leader.
	if err != nil || len(rows) != 1 || rows[0].Role != "leader" || rows[0].State != "running" || rows[0].IP != h.IP {
		t.Fatalf("status: %+v, %v", rows, err)
	}
	got, err := h.SQL(5432, "dbuser_dba", "DBUser.DBA", "postgres", "SELECT host(inet_server_addr()), current_setting('data_directory')")
	if err != nil {
		t.Fatal(err)
	}
	if got[0][0] != h.IP || !strings.HasPrefix(got[0][1], h.Root+"/") {
		t.Errorf("postgres serves %v, want %s and a data directory under %s", got, h.IP, h.Root)
	}

	w, err := c.StartWriter(WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	before := h.Procs()["pgbouncer"]
	if _, err := h.Kill("pgbouncer"); err != nil {
		t.Fatal(err)
	}
	fault := time.Now()
	deadline := time.Now().Add(30 * time.Second)
	for {
		now := h.Procs()["pgbouncer"]
		if len(now) > 0 && now[0] != before[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pgbouncer not restarted within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	rep, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("writer: %s; unavailable %s after kill -9 pgbouncer", rep, rep.UnavailableAfter(fault).Round(time.Millisecond))
	for _, wr := range rep.Writes {
		if !wr.Acked {
			t.Logf("failed write %d at +%s (%s): %s", wr.ID, wr.Start.Sub(fault).Round(time.Millisecond), wr.End.Sub(wr.Start).Round(time.Millisecond), wr.Err)
		}
	}
	if rep.Acked < 20 || len(rep.Lost) > 0 {
		t.Errorf("writer: %s", rep)
	}
	if rep.UnavailableAfter(fault) <= 0 || len(rep.Unavailable) == 0 {
		t.Errorf("the writer saw no gap when pgbouncer died: %s", rep)
	}
	if rep.Primary != h.Name {
		t.Errorf("checked against %q", rep.Primary)
	}
	count, err := h.SQL(5433, TestUser, TestPassword, TestDB, "SELECT count(*) FROM harness_writes")
	if err != nil || count[0][0] != strconv.Itoa(rep.Acked+len(rep.InDoubt)) {
		t.Errorf("rows through 5433: %v, %v; want %d acknowledged + %d in doubt", count, err, rep.Acked, len(rep.InDoubt))
	}
	if _, err := os.Stat(filepath.Join(h.Root, "pg/data/PG_VERSION")); err != nil {
		t.Errorf("no data directory under the host's root: %v", err)
	}
}
