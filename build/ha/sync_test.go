package ha

import (
	"context"
	"fmt"
	"testing"
	"time"

	"pigsty/build/harness"
)

// TestSyncNoLoss: with pg_rpo: 0 Patroni runs in synchronous mode, and a
// writer that records every acknowledged row loses none over five
// failovers — the primary's link cut, then healed — each promoting the
// synchronous standby, and over a kill -9 of the primary's Patroni and
// postmaster, which its agent restarts.
func TestSyncNoLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up a cluster of three hosts (not -short)")
	}
	f := newFleet(t, 3, func(*harness.Cluster) harness.Topology {
		return topology("fast", map[string]any{"pg_rpo": 0})
	})
	waitFor(t, time.Minute, "synchronous mode with a synchronous standby", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cfg, err := restAPI(f.c.Hosts[0]).Config(ctx)
		if err != nil {
			return err
		}
		if cfg["synchronous_mode"] != true {
			return fmt.Errorf("Patroni's synchronous_mode is %v", cfg["synchronous_mode"])
		}
		if f.syncStandby() == nil {
			return fmt.Errorf("no synchronous standby")
		}
		return nil
	})
	w := f.startWatch(150 * time.Millisecond)
	defer w.Stop()
	lost, acked := 0, 0
	faults := []fault{cut, cut, cut, cut, cut, kill}
	for i, kind := range faults {
		if !t.Run(fmt.Sprintf("%s %d", kind, i+1), func(t *testing.T) {
			o := f.strike(t, w, kind, nil, 3)
			lost += len(o.Report.Lost)
			acked += o.Report.Acked
			t.Log(o)
		}) {
			break
		}
	}
	t.Logf("pg_rpo 0: %d acknowledged rows lost of %d over %d faults", lost, acked, len(faults))
}
