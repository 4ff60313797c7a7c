// Package topology proves the replication topologies of a pigsty fleet
// against the real binary in the multi-host harness: a standby cluster
// that follows its upstream, changes upstream and promotes; a delayed
// cluster lagging by pg_delay; a cascade replica streaming from another
// replica; the L2 VIP following switchover and failover; and a replica
// added with `pigsty pgsql add`, which every member's services pick up.
package topology

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"pigsty/build/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// delay is pg_delay of the delayed cluster: short, so that the test is.
const delay = 10 * time.Second

// fleet is the harness of TestTopology:
//
//	h1  infra, etcd   pg-test2-1     standby cluster of pg-test (pg_upstream: h2), applied once pg-test is up
//	h2                pg-test-1      primary, pg_vip_enabled
//	h3                pg-test-2      replica
//	h4                (a node)       joins pg-test with pigsty pgsql add, then cascades from h3
//	h5                pg-testdelay-1 delayed cluster of pg-test (pg_upstream: h2, pg_delay), applied with pg-test2
//
// etcd runs on h1 only, which no subtest cuts: a cut of a pg-test host
// costs the cluster its primary, not the DCS.
type fleet struct {
	c                  *harness.Cluster
	inv                *inventory
	h1, h2, h3, h4, h5 *harness.Host
	id                 int  // the last id written into topo
	added              bool // h4 is pg-test-3
}

func TestTopology(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up four PostgreSQL clusters (not -short)")
	}
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/sbin/haproxy", "/usr/lib/pigsty/patroni"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("packages not installed (pigsty install): %v", err)
		}
	}
	c := harness.New(t, 5)
	f := &fleet{c: c, h1: c.Hosts[0], h2: c.Hosts[1], h3: c.Hosts[2], h4: c.Hosts[3], h5: c.Hosts[4]}
	f.up(t)
	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"standby cluster follows its upstream", f.standbyFollows},
		{"delayed cluster lags by pg_delay", f.delayed},
		{"pgsql add grows pg-test to three", f.add},
		{"cascade replica streams from its upstream replica", f.cascade},
		{"VIP follows a switchover", f.vipSwitchover},
		{"VIP follows a failover and leaves the old primary", f.vipFailover},
		{"standby cluster changes upstream", f.changeUpstream},
		{"standby cluster promotes", f.promote},
	}
	for _, s := range steps {
		begin := time.Now()
		ok := t.Run(s.name, s.fn)
		t.Logf("%s: %s", s.name, time.Since(begin).Round(100*time.Millisecond))
		if !ok {
			return
		}
	}
}

// up brings up pg-test on hosts that joined the infra host, then adds
// the standby and delayed clusters of it with pigsty apply, as a Pigsty
// user creates a standby cluster of an existing cluster.
func (f *fleet) up(t *testing.T) {
	c := f.c
	start := time.Now()
	path := c.WriteInventory(harness.Topology{Name: "pg-test", Members: []*harness.Host{f.h2, f.h3},
		Vars: map[string]any{"pg_vip_enabled": true}})
	f.inv = &inventory{c: c, path: path}
	doc := f.inv.doc(t)
	children(doc)["nodes"] = map[string]any{"hosts": map[string]any{f.h4.IP: map[string]any{}, f.h5.IP: map[string]any{}}}
	f.inv.write(t, doc)

	if _, err := f.h1.Infra(f.inv.path); err != nil {
		t.Fatal(err)
	}
	// Hosts join once the infra host serves its trust port (it has no
	// instance yet, so no WaitReady).
	eventually(t, 2*time.Minute, "the infra host's trust port", func() error {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(f.h1.IP, "9443"), time.Second)
		if err == nil {
			conn.Close()
		}
		return err
	})
	// At once: the declared primary bootstraps pg-test all the same.
	errs := make(chan error, 4)
	for _, h := range []*harness.Host{f.h2, f.h3, f.h4, f.h5} {
		go func() {
			out, err := h.Join(f.h1)
			if err != nil {
				err = fmt.Errorf("%w\n%s", err, out)
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []*harness.Host{f.h2, f.h3} {
		if err := h.WaitReady(4 * time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := role(f.h2); err != nil || r != "leader" {
		t.Fatalf("pg-test-1, declared primary, is %q (%v)", r, err)
	}
	t.Logf("pg-test up in %s: %v", time.Since(start).Round(100*time.Millisecond), ipOf(c.Hosts))

	start = time.Now()
	doc = f.inv.doc(t)
	vars := children(doc)["pg-test"].(map[string]any)["vars"].(map[string]any)
	same := map[string]any{"pg_users": vars["pg_users"], "pg_databases": vars["pg_databases"], "pg_hba_rules": vars["pg_hba_rules"]}
	cluster(doc, "pg-test2", []*harness.Host{f.h1}, map[*harness.Host]map[string]any{f.h1: {"pg_upstream": f.h2.IP}}, same)
	cluster(doc, "pg-testdelay", []*harness.Host{f.h5},
		map[*harness.Host]map[string]any{f.h5: {"pg_upstream": f.h2.IP, "pg_delay": fmt.Sprintf("%ds", int(delay.Seconds()))}}, same)
	delete(children(doc)["nodes"].(map[string]any)["hosts"].(map[string]any), f.h5.IP)
	f.inv.write(t, doc)
	f.inv.apply(t)
	t.Logf("standby and delayed clusters up in %s", time.Since(start).Round(100*time.Millisecond))
	if _, err := f.h2.SQL(5433, harness.TestUser, harness.TestPassword, harness.TestDB,
		"CREATE TABLE topo (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())"); err != nil {
		t.Fatal(err)
	}
}
