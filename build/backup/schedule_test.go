// Package backup proves on several hosts of the multi-host harness that a
// backup schedule declared for a whole cluster runs on its primary only:
// every member's agent follows the same pg_crontab entry, the one whose
// member is the primary when the entry fires takes the backup, the
// others skip it, and after a switchover the backups follow the new
// primary.
package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pigsty/build/harness"
	"pigsty/pgsql/patroni"
)

func TestMain(m *testing.M) { harness.Main(m) }

// skipped is what an agent logs when an entry fires on a member that is
// not the primary.
const skipped = "scheduled backup skipped: this member is not the primary"

// taken is a backup in a host's repository.
type taken struct {
	Label string
	Start time.Time
}

// scheduled are the backups a schedule took in the local repository of
// the host, as `pigsty backup ls --json` run there lists them.
func scheduled(h *harness.Host, cls string) ([]taken, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := h.Command(ctx, harness.Binary(), "backup", "ls", cls, "--json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: pigsty backup ls: %w: %s", h.Name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var list struct {
		Backups []struct {
			Label      string            `json:"label"`
			Start      time.Time         `json:"start"`
			Annotation map[string]string `json:"annotation"`
		} `json:"backups"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("%s: pigsty backup ls --json: %w\n%s", h.Name, err, out)
	}
	var backups []taken
	for _, b := range list.Backups {
		if b.Annotation["pigsty_trigger"] == "schedule" {
			backups = append(backups, taken{b.Label, b.Start})
		}
	}
	return backups, nil
}

// skips counts the skipped entries in an agent's log.
func skips(log string) int {
	b, _ := os.ReadFile(log)
	return strings.Count(string(b), skipped)
}

// waitFor polls fn every second until it holds; it fails the test with
// fn's last error after timeout, and returns how long it took.
func waitFor(t *testing.T, timeout time.Duration, what string, fn func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := fn()
		if err == nil {
			return time.Since(start).Round(time.Second)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(time.Second)
	}
}

// pair brings up pg-test with the cluster's vars on two hosts: the
// infra host's primary and a replica on a host that joins it by token.
func pair(t *testing.T, vars map[string]any) (*harness.Cluster, *harness.Proc) {
	t.Helper()
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/sbin/haproxy", "/usr/lib/pigsty/patroni", "/usr/bin/pgbackrest"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("packages not installed (pigsty install): %v", err)
		}
	}
	c := harness.New(t, 2)
	h1, h2 := c.Hosts[0], c.Hosts[1]
	inv := c.WriteInventory(harness.Topology{Vars: vars})
	start := time.Now()
	infra, err := h1.Infra(inv)
	if err != nil {
		t.Fatal(err)
	}
	if err := h1.WaitReady(4 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if out, err := h2.Join(h1); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if err := h2.WaitReady(5 * time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("pg-test on %s and %s ready in %s", h1.Name, h2.Name, time.Since(start).Round(time.Second))
	return c, infra
}

// TestScheduleOnPrimary: pg-test on two hosts (the infra host's primary,
// a replica on a host that joined by token) with one pg_crontab entry,
// a backup every minute, for both members. The backups are in the
// primary's repository, the replica's agent skips the entry and its
// repository gets none; after a switchover the entry's backups are taken
// on the new primary and the old one skips them.
func TestScheduleOnPrimary(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up a cluster of two hosts (not -short)")
	}
	c, infra := pair(t, map[string]any{"pg_crontab": []string{"* * * * * /pg/bin/pg-backup diff"}})
	h1, h2 := c.Hosts[0], c.Hosts[1]
	// The agents' logs: pigsty infra's output, pigsty node's own file.
	log1, log2 := infra.Log, filepath.Join(h2.Root, "var/lib/pigsty/log/node.log")

	// Every entry that fires on the replica is skipped there; the
	// primary takes the backups, into its own repository.
	took := waitFor(t, 3*time.Minute, "a scheduled backup on "+h1.Name+" and a skip on "+h2.Name, func() error {
		on1, err := scheduled(h1, "pg-test")
		if err != nil {
			return err
		}
		if len(on1) == 0 || skips(log2) == 0 {
			return fmt.Errorf("%d scheduled backups on %s, %d skips on %s", len(on1), h1.Name, skips(log2), h2.Name)
		}
		return nil
	})
	on1, _ := scheduled(h1, "pg-test")
	t.Logf("%s took scheduled backup %s, %s skipped the entry (%s after ready)", h1.Name, on1[0].Label, h2.Name, took)
	if on2, err := scheduled(h2, "pg-test"); err != nil || len(on2) > 0 {
		t.Fatalf("scheduled backups in %s's repository while it is a replica: %v %v", h2.Name, on2, err)
	}

	// After a switchover the entry's backups follow the new primary.
	out := h1.Must("pg", "switchover", "pg-test", "--candidate", "pg-test-2", "-y")
	switched := time.Now()
	t.Logf("pigsty pg switchover:\n%s", out)
	waitFor(t, time.Minute, "pg-test-2 leads", func() error {
		cl, err := patroni.NewClient(h2.IP+":8008", "", "", nil).Cluster(t.Context())
		if err != nil {
			return err
		}
		if l := cl.Leader(); l == nil || l.Name != "pg-test-2" {
			return fmt.Errorf("leader %+v", l)
		}
		return nil
	})
	before := skips(log1)
	took = waitFor(t, 3*time.Minute, "a scheduled backup on "+h2.Name+" and a skip on "+h1.Name, func() error {
		on2, err := scheduled(h2, "pg-test")
		if err != nil {
			return err
		}
		if len(on2) == 0 || skips(log1) == before {
			return fmt.Errorf("%d scheduled backups on %s, %d skips on %s since the switchover", len(on2), h2.Name, skips(log1)-before, h1.Name)
		}
		return nil
	})
	on2, _ := scheduled(h2, "pg-test")
	t.Logf("after the switchover %s took scheduled backup %s and %s skipped the entry (%s after the switchover)", h2.Name, on2[0].Label, h1.Name, took)
	// A backup the old primary started before the switchover may end
	// after it; none may start after it.
	on1, err := scheduled(h1, "pg-test")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range on1 {
		if b.Start.After(switched) {
			t.Errorf("%s started scheduled backup %s at %s, after the switchover (%s)", h1.Name, b.Label, b.Start, switched.UTC())
		}
	}
}
