package ha

import (
	"fmt"
	"testing"
	"time"

	"pigsty/build/harness"
)

// TestHA builds pg-test on three hosts — the infra host's primary, a
// replica and an offline instance on two hosts that join it by token —
// and, on that one cluster: checks replication and every service from
// every host; switches over by command; then cuts the primary's link and
// heals it five times with a writer running; last takes a host out of the
// etcd group. All along a watch samples every 150 ms, on every host,
// whether it accepts writes directly and through 5433, and no two hosts
// may ever do so at once.
func TestHA(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up a cluster of three hosts (not -short)")
	}
	topo := func(c *harness.Cluster) harness.Topology {
		tp := topology("fast", nil)
		tp.HostVars = map[*harness.Host]map[string]any{c.Hosts[2]: {"pg_role": "offline"}}
		return tp
	}
	f := newFleet(t, 3, topo)
	h1, h2, h3 := f.c.Hosts[0], f.c.Hosts[1], f.c.Hosts[2]
	w := f.startWatch(150 * time.Millisecond)
	defer w.Stop()

	ok := t.Run("join and services", func(t *testing.T) {
		leader, _, err := f.leader()
		if err != nil {
			t.Fatal(err)
		}
		if leader != h1 {
			t.Fatalf("leader on %s, want the declared primary on %s", leader.Name, h1.Name)
		}
		took := waitFor(t, time.Minute, "replicas stream", func() error { return f.streaming(3, 1) })
		t.Logf("both replicas stream (%s after ready)", ms(took))
		for _, h := range f.c.Hosts {
			if err := f.listStreaming(h, 3); err != nil {
				t.Error(err)
			}
		}
		// Right after a host is ready its HAProxy may not have checked
		// every server yet.
		took = waitFor(t, 30*time.Second, "5433 on every host leads to the primary", func() error { return f.primaryFollows(h1) })
		t.Logf("5433 on every host leads to %s (%s after ready)", h1.Name, ms(took))
		for _, s := range []struct {
			port int
			want *harness.Host
		}{{5434, h2}, {5438, h3}} {
			waitFor(t, 30*time.Second, fmt.Sprintf("%d on every host leads to %s", s.port, s.want.Name), func() error {
				for _, h := range f.c.Hosts {
					b, rec, err := f.who(h, s.port)
					if err != nil {
						return err
					}
					if b != s.want || !rec {
						return fmt.Errorf("%s:%d leads to %s (in recovery %t)", h.Name, s.port, b.Name, rec)
					}
				}
				return nil
			})
		}
		if err := f.probeHBA(h1); err != nil {
			t.Error(err)
		}
		obs := w.take()
		for _, pair := range splitBrain(obs) {
			t.Errorf("two hosts accepted writes at once: %s and %s", pair[0], pair[1])
		}
		t.Logf("watch: %s", summary(obs))
	})
	if !ok {
		return
	}

	// A failed check of the switchover leaves the cluster usable for
	// the failovers: they run anyway.
	// 5434 is checked after each role change but reported at the end,
	// so that a wrong replica service does not stop the failovers.
	var replica []string
	t.Run("switchover", func(t *testing.T) {
		o := f.strike(t, w, switchover, h2, 3)
		if o.Replica != nil {
			replica = append(replica, fmt.Sprintf("after the switchover to %s: %v", o.New.Name, o.Replica))
		}
		t.Log(o)
	})
	for i := 1; i <= 5; i++ {
		if !t.Run(fmt.Sprintf("cut and heal %d", i), func(t *testing.T) {
			o := f.strike(t, w, cut, nil, 3)
			if o.Replica != nil {
				replica = append(replica, fmt.Sprintf("after cut %d, %s → %s: %v", i, o.Old.Name, o.New.Name, o.Replica))
			}
			t.Log(o)
		}) {
			break
		}
	}
	for _, r := range replica {
		t.Errorf("5434 %s", r)
	}
	t.Run("etcd shrinks", func(t *testing.T) { f.etcdShrinks(t, topo(f.c), h3) })
}
