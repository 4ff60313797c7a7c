package topology

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pigsty/build/harness"
)

// members are pg-test's hosts so far.
func (f *fleet) members() []*harness.Host {
	if f.added {
		return []*harness.Host{f.h2, f.h3, f.h4}
	}
	return []*harness.Host{f.h2, f.h3}
}

// insert writes the next row into topo through 5433 of whichever pg-test
// member answers, and returns its id and when it was acknowledged.
func (f *fleet) insert(t *testing.T) (int, time.Time) {
	t.Helper()
	f.id++
	var errs []string
	for _, h := range f.members() {
		if _, err := query(h.IP, 5433, fmt.Sprintf("INSERT INTO topo (id) VALUES (%d)", f.id)); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		return f.id, time.Now()
	}
	t.Fatalf("insert %d into pg-test: %s", f.id, strings.Join(errs, "; "))
	return 0, time.Time{}
}

// seen reports whether the row is visible on a host's postgres.
func seen(h *harness.Host, id int) error {
	n, err := value(h.IP, 5432, fmt.Sprintf("SELECT count(*) FROM topo WHERE id = %d", id))
	if err != nil {
		return err
	}
	if n != "1" {
		return fmt.Errorf("%s: row %d not there", h.Name, id)
	}
	return nil
}

// sender is where a host's WAL receiver streams from ("" for none).
func sender(h *harness.Host) (string, error) {
	rows, err := query(h.IP, 5432, "SELECT sender_host, status FROM pg_stat_wal_receiver")
	if err != nil || len(rows) == 0 {
		return "", err
	}
	if rows[0][1] != "streaming" {
		return "", fmt.Errorf("%s: WAL receiver %s from %s", h.Name, rows[0][1], rows[0][0])
	}
	return rows[0][0], nil
}

// downstream are the addresses a host's WAL senders stream to.
func downstream(h *harness.Host) ([]string, error) {
	rows, err := query(h.IP, 5432, "SELECT host(client_addr) FROM pg_stat_replication WHERE state = 'streaming' ORDER BY 1")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rows {
		out = append(out, r[0])
	}
	return out, nil
}

// role is the Patroni role of a host's instance as pigsty status reports it.
func role(h *harness.Host) (string, error) {
	rows, err := h.Status()
	if err != nil {
		return "", err
	}
	for _, r := range rows {
		if r.IP == h.IP {
			return r.Role, nil
		}
	}
	return "", fmt.Errorf("%s: no instance in pigsty status", h.Name)
}

// holdsVIP reports whether the VIP is an address of the host's eth0.
func (f *fleet) holdsVIP(t *testing.T, h *harness.Host) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h.Command(ctx, "ip", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("%s: ip addr: %v\n%s", h.Name, err, out)
	}
	return strings.Contains(string(out), " "+f.c.VIP()+"/")
}

func (f *fleet) standbyFollows(t *testing.T) {
	id, at := f.insert(t)
	eventually(t, 30*time.Second, "row on the standby cluster", func() error { return seen(f.h1, id) })
	t.Logf("a row written on pg-test is visible on pg-test2 %s after its commit", time.Since(at).Round(10*time.Millisecond))
	if r, err := role(f.h1); err != nil || r != "standby_leader" {
		t.Errorf("pg-test2-1 is %q (%v), want standby_leader", r, err)
	}
	if s, err := sender(f.h1); err != nil || s != f.h2.IP {
		t.Errorf("pg-test2-1 streams from %q (%v), want its pg_upstream %s", s, err, f.h2.IP)
	}
	if _, err := query(f.h1.IP, 5432, "INSERT INTO topo (id) VALUES (-1)"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("a write on the standby cluster: %v, want a read-only error", err)
	}
}

func (f *fleet) delayed(t *testing.T) {
	// The test user, its password and the table reach the delayed
	// cluster pg_delay after pg-test made them.
	eventually(t, delay+time.Minute, "topo on the delayed cluster", func() error {
		_, err := value(f.h5.IP, 5432, "SELECT count(*) FROM topo")
		return err
	})
	if got, err := value(f.h5.IP, 5432, "SHOW recovery_min_apply_delay"); err != nil || got != fmt.Sprintf("%ds", int(delay.Seconds())) {
		t.Errorf("recovery_min_apply_delay on pg-testdelay-1: %q, %v", got, err)
	}
	id, at := f.insert(t)
	var onStandby time.Duration
	eventually(t, delay+30*time.Second, "row on the delayed cluster", func() error {
		if onStandby == 0 && seen(f.h1, id) == nil {
			onStandby = time.Since(at)
		}
		return seen(f.h5, id)
	})
	lag := time.Since(at)
	t.Logf("row %d: on the standby cluster after %s, on the delayed cluster after %s (pg_delay %s)",
		id, onStandby.Round(10*time.Millisecond), lag.Round(10*time.Millisecond), delay)
	if lag < delay-500*time.Millisecond || lag > delay+10*time.Second {
		t.Errorf("the delayed cluster showed the row %s after its commit, want about pg_delay (%s)", lag.Round(10*time.Millisecond), delay)
	}
}

func (f *fleet) add(t *testing.T) {
	before, err := os.ReadFile(f.inv.path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out := run(t, f.h1, "pgsql", "add", "pg-test", f.h4.IP, "-f", f.inv.path)
	t.Logf("pigsty pgsql add pg-test %s: %s\n%s", f.h4.IP, time.Since(start).Round(100*time.Millisecond), tail(out, 15))
	f.added = true
	after, err := os.ReadFile(f.inv.path)
	if err != nil {
		t.Fatal(err)
	}
	// The host's entry inserted, in the style of the others (a block
	// here), nothing else changed.
	old, cur := strings.SplitAfter(string(before), "\n"), strings.SplitAfter(string(after), "\n")
	i := 0
	for i < len(old) && old[i] == cur[i] {
		i++
	}
	n := len(cur) - len(old)
	added := strings.Join(cur[i:i+max(n, 0)], "")
	if n <= 0 || strings.Join(cur[i+n:], "") != strings.Join(old[i:], "") || !strings.Contains(added, f.h4.IP+":") ||
		!strings.Contains(added, "pg_seq: 3") || !strings.Contains(added, "pg_role: replica") {
		t.Errorf("pgsql add changed the inventory by %q:\n%s", added, after)
	}
	if !bytes.HasPrefix(after, []byte("# the topology test's inventory")) {
		t.Errorf("the comment at the top is gone:\n%s", after)
	}
	if r, err := role(f.h4); err != nil || r != "replica" {
		t.Errorf("pg-test-3 is %q (%v) when pgsql add returned, want replica", r, err)
	}
	if got, err := downstream(f.h2); err != nil || !slices.Contains(got, f.h4.IP) {
		t.Errorf("the primary streams to %v (%v), want %s among them", got, err, f.h4.IP)
	}
	// 5434 (the replica service) on every member, pg-test's two
	// replicas among its servers.
	for _, h := range f.members() {
		reached := map[string]bool{}
		var last error
		start := time.Now()
		for time.Since(start) < 30*time.Second && (!reached[f.h3.Name] || !reached[f.h4.Name]) {
			s, _, err := server(f.c, h.IP, 5434)
			if err != nil {
				last = err
			} else {
				reached[s.Name] = true
			}
			time.Sleep(200 * time.Millisecond)
		}
		if !reached[f.h3.Name] || !reached[f.h4.Name] {
			t.Errorf("%s:5434 reached %v within 30 s (last error: %v); its HAProxy:\n%s", h.Name, reached, last, haproxyStat(h, "pg-test-replica"))
			continue
		}
		t.Logf("%s:5434 reached %v (%s)", h.Name, reached, time.Since(start).Round(100*time.Millisecond))
		if reached[f.h2.Name] {
			t.Errorf("%s:5434 led to the primary while both replicas are up", h.Name)
		}
	}
	// 5433 of the new member leads to the primary.
	if h, primary, err := server(f.c, f.h4.IP, 5433); err != nil {
		t.Errorf("%s:5433: %v", f.h4.Name, err)
	} else if h != f.h2 || !primary {
		t.Errorf("%s:5433 leads to %s (primary: %v), want the primary %s", f.h4.Name, h.Name, primary, f.h2.Name)
	}
	id, _ := f.insert(t)
	eventually(t, 10*time.Second, "row on the added replica", func() error { return seen(f.h4, id) })
}

func (f *fleet) cascade(t *testing.T) {
	f.inv.setHostVar(t, "pg-test", f.h4, "pg_upstream", f.h3.IP)
	f.inv.apply(t)
	d := eventually(t, time.Minute, "pg-test-3 streaming from pg-test-2", func() error {
		s, err := sender(f.h4)
		if err != nil || s != f.h3.IP {
			return fmt.Errorf("pg-test-3 streams from %q (%v)", s, err)
		}
		down, err := downstream(f.h3)
		if err != nil || !slices.Contains(down, f.h4.IP) {
			return fmt.Errorf("pg-test-2 streams to %v (%v)", down, err)
		}
		return nil
	})
	t.Logf("pg-test-3 streams from pg-test-2 %s after the apply", d.Round(100*time.Millisecond))
	if down, err := downstream(f.h2); err != nil || slices.Contains(down, f.h4.IP) || !slices.Contains(down, f.h3.IP) {
		t.Errorf("the primary streams to %v (%v): want pg-test-2 and not pg-test-3", down, err)
	}
	id, at := f.insert(t)
	eventually(t, 10*time.Second, "row on the cascade replica", func() error { return seen(f.h4, id) })
	t.Logf("a row reaches the cascade replica %s after its commit", time.Since(at).Round(10*time.Millisecond))
}

// vipAt waits until the VIP leads to a primary on one of hosts, and
// returns it.
func (f *fleet) vipAt(t *testing.T, timeout time.Duration, hosts ...*harness.Host) (*harness.Host, time.Duration) {
	t.Helper()
	var at *harness.Host
	d := eventually(t, timeout, "the VIP reaching the primary", func() error {
		h, primary, err := server(f.c, f.c.VIP(), 5432)
		if err != nil {
			return err
		}
		if !primary || !slices.Contains(hosts, h) {
			return fmt.Errorf("the VIP leads to %s (primary: %v)", h.Name, primary)
		}
		at = h
		return nil
	})
	return at, d
}

func (f *fleet) vipSwitchover(t *testing.T) {
	f.vipAt(t, 30*time.Second, f.h2)
	for _, h := range f.members() {
		if got := f.holdsVIP(t, h); got != (h == f.h2) {
			t.Errorf("%s holds the VIP: %v", h.Name, got)
		}
	}
	start := time.Now()
	out := run(t, f.h1, "pg", "switchover", "pg-test", "--candidate", "pg-test-2", "--force", "-f", f.inv.path)
	t.Logf("pigsty pg switchover: %s\n%s", time.Since(start).Round(100*time.Millisecond), tail(out, 8))
	f.vipAt(t, 30*time.Second, f.h3)
	t.Logf("the VIP reaches the new primary pg-test-2 %s after the switchover began", time.Since(start).Round(100*time.Millisecond))
	eventually(t, 10*time.Second, "pg-test-1 releasing the VIP", func() error {
		if f.holdsVIP(t, f.h2) {
			return fmt.Errorf("%s still holds it", f.h2.Name)
		}
		return nil
	})
	if _, err := query(f.c.VIP(), 5433, fmt.Sprintf("INSERT INTO topo (id) VALUES (%d)", 1000+f.id)); err != nil {
		t.Errorf("a write through the VIP's 5433: %v", err)
	}
}

func (f *fleet) vipFailover(t *testing.T) {
	old := f.h3
	if err := old.Cut(); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	var released time.Duration
	watch := func() {
		if released == 0 && !f.holdsVIP(t, old) {
			released = time.Since(cut)
		}
	}
	var now *harness.Host
	eventually(t, 2*time.Minute, "a new primary behind the VIP", func() error {
		watch()
		h, primary, err := server(f.c, f.c.VIP(), 5432)
		if err != nil {
			return err
		}
		if !primary || h == old {
			return fmt.Errorf("the VIP leads to %s (primary: %v)", h.Name, primary)
		}
		now = h
		return nil
	})
	t.Logf("the VIP reaches the new primary %s %s after the cut", now.Name, time.Since(cut).Round(100*time.Millisecond))
	// The cut host loses the leader key within a ttl and demotes itself.
	eventually(t, time.Minute, "the cut primary releasing the VIP", func() error {
		if watch(); released == 0 {
			return fmt.Errorf("%s still holds it", old.Name)
		}
		return nil
	})
	t.Logf("the cut primary released the VIP %s after the cut", released.Round(100*time.Millisecond))
	if err := old.Heal(); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	eventually(t, 2*time.Minute, "the old primary back as a replica", func() error {
		if r, err := role(old); err != nil || r != "replica" {
			return fmt.Errorf("%s is %q (%v)", old.Name, r, err)
		}
		if s, err := sender(old); err != nil || s == "" {
			return fmt.Errorf("%s streams from %q (%v)", old.Name, s, err)
		}
		return nil
	})
	t.Logf("%s streams again %s after its link returned", old.Name, time.Since(healed).Round(100*time.Millisecond))
	for _, h := range f.members() {
		if got := f.holdsVIP(t, h); got != (h == now) {
			t.Errorf("%s holds the VIP after the old primary's link returned: %v", h.Name, got)
		}
	}
	if h, _ := f.vipAt(t, 10*time.Second, now); h != now {
		t.Errorf("the VIP moved to %s", h.Name)
	}
	if _, err := query(f.c.VIP(), 5433, fmt.Sprintf("INSERT INTO topo (id) VALUES (%d)", 2000+f.id)); err != nil {
		t.Errorf("a write through the VIP's 5433: %v", err)
	}
}

// changeUpstream points pg-test2 at pg-test's VIP, which follows every
// failover of pg-test.
func (f *fleet) changeUpstream(t *testing.T) {
	f.inv.setHostVar(t, "pg-test2", f.h1, "pg_upstream", f.c.VIP())
	start := time.Now()
	f.inv.apply(t)
	eventually(t, time.Minute, "pg-test2 streaming from the VIP", func() error {
		if s, err := sender(f.h1); err != nil || s != f.c.VIP() {
			return fmt.Errorf("pg-test2-1 streams from %q (%v)", s, err)
		}
		return nil
	})
	t.Logf("pg-test2 streams from the new upstream %s after the apply began", time.Since(start).Round(100*time.Millisecond))
	id, at := f.insert(t)
	eventually(t, 10*time.Second, "row on the standby cluster", func() error { return seen(f.h1, id) })
	t.Logf("a row written on pg-test is visible on pg-test2 %s after its commit", time.Since(at).Round(10*time.Millisecond))
}

// promote removes pg_upstream from pg-test2's primary, as Pigsty's
// documentation asks (standby_cluster erased from the configuration).
func (f *fleet) promote(t *testing.T) {
	f.inv.setHostVar(t, "pg-test2", f.h1, "pg_upstream", nil)
	start := time.Now()
	f.inv.apply(t)
	eventually(t, time.Minute, "pg-test2 promoted", func() error {
		if r, err := role(f.h1); err != nil || r != "leader" {
			return fmt.Errorf("pg-test2-1 is %q (%v)", r, err)
		}
		_, primary, err := server(f.c, f.h1.IP, 5432)
		if err != nil || !primary {
			return fmt.Errorf("pg-test2-1 in recovery (%v)", err)
		}
		return nil
	})
	t.Logf("pg-test2 accepts writes %s after the apply began", time.Since(start).Round(100*time.Millisecond))
	if _, err := query(f.h1.IP, 5433, "INSERT INTO topo (id) VALUES (-2)"); err != nil {
		t.Errorf("a write through pg-test2's 5433: %v", err)
	}
	// It no longer follows pg-test.
	id, _ := f.insert(t)
	time.Sleep(3 * time.Second)
	if seen(f.h1, id) == nil {
		t.Errorf("row %d of pg-test reached pg-test2 after its promotion", id)
	}
	if err := seen(f.h1, -2); err != nil {
		t.Error(err)
	}
}

// haproxyStat is what a host's HAProxy says of a backend's servers, for
// failure messages.
func haproxyStat(h *harness.Host, backend string) string {
	conn, err := net.DialTimeout("unix", filepath.Join(h.Root, "var/lib/pigsty/run/haproxy.sock"), time.Second)
	if err != nil {
		return err.Error()
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(conn, "show servers state %s\n", backend)
	b, _ := io.ReadAll(conn)
	return string(b)
}
