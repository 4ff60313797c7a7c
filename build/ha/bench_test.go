package ha

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"pigsty/build/harness"
	"pigsty/pgsql/tune"
)

// TestBenchHA measures on three hosts (PIGSTY_BENCH=1, make bench; runs
// per figure from PIGSTY_BENCH_RUNS, default 5): the write-unavailability
// of a planned switchover and of a node-loss failover — the primary's
// link cut — at the default pg_rto (norm) and the fastest the inventory
// accepts (fast: ttl 20), each with the etcd raft leader away from the
// primary's host and on it (a new etcd leader renews every lease, so
// losing it with the primary costs up to one more ttl); and the
// acknowledged rows lost in async and in sync (pg_rpo: 0) mode. It prints
// a table of medians and ranges.
func TestBenchHA(t *testing.T) {
	if os.Getenv("PIGSTY_BENCH") == "" {
		t.Skip("set PIGSTY_BENCH=1 (make bench)")
	}
	runs := 5
	if n, err := strconv.Atoi(os.Getenv("PIGSTY_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	var figures []figure
	var lostAsync, lostSync []float64
	for _, mode := range []struct {
		name, rto string
		sync      bool
	}{{"norm", "norm", false}, {"fast", "fast", false}, {"fast-sync", "fast", true}} {
		t.Run(mode.name, func(t *testing.T) {
			vars := map[string]any{}
			if mode.sync {
				vars["pg_rpo"] = 0
			}
			f := newFleet(t, 3, func(*harness.Cluster) harness.Topology { return topology(mode.rto, vars) })
			w := f.startWatch(150 * time.Millisecond)
			defer w.Stop()
			plan, err := tune.ParsePlan(mode.rto)
			if err != nil {
				t.Fatal(err)
			}
			goal := time.Duration(plan.TTL+plan.LoopWait+5) * time.Second
			label := fmt.Sprintf("pg_rto %s (ttl %d, loop_wait %d)", mode.rto, plan.TTL, plan.LoopWait)
			if mode.sync {
				label += ", pg_rpo 0"
			}

			if mode.name == "norm" {
				sw, gap := figure{What: "switchover, write-unavailability (writer)", Mode: label, Goal: 2 * time.Second},
					figure{What: "switchover, no host accepting writes (watch)", Mode: label}
				for i := 0; i < runs; i++ {
					leader, _, err := f.leader()
					if err != nil {
						t.Fatal(err)
					}
					to := f.c.Hosts[0]
					if leader == to {
						to = f.c.Hosts[1]
					}
					o := f.strike(t, w, switchover, to, 3)
					t.Logf("switchover %d: %s", i+1, o)
					sw.add(o.Unavailable)
					gap.add(o.Handover)
				}
				figures = append(figures, sw, gap)
			}

			const away, onPrimary = "away from the primary", "on the primary's host"
			placements := []string{away, onPrimary}
			if mode.sync {
				placements = placements[:1]
			}
			for _, where := range placements {
				fo := figure{What: "cut of the primary's link, write-unavailability; etcd leader " + where, Mode: label, Goal: goal}
				for i := 0; i < runs; i++ {
					leader, _, err := f.leader()
					if err != nil {
						t.Fatal(err)
					}
					target := leader
					if where == away {
						target = f.away(leader)
					}
					if err := f.moveEtcdLeader(target); err != nil {
						t.Fatal(err)
					}
					o := f.strike(t, w, cut, nil, 3)
					t.Logf("cut %d: %s", i+1, o)
					fo.add(o.Unavailable)
					if mode.sync {
						lostSync = append(lostSync, float64(len(o.Report.Lost)))
					} else {
						lostAsync = append(lostAsync, float64(len(o.Report.Lost)))
					}
				}
				figures = append(figures, fo)
			}
		})
	}
	report(t, figures, lostAsync, lostSync)
}

// away is a host other than h whose etcd member may lead: the one after it.
func (f *fleet) away(h *harness.Host) *harness.Host {
	for i, x := range f.c.Hosts {
		if x == h {
			return f.c.Hosts[(i+1)%len(f.c.Hosts)]
		}
	}
	return f.c.Hosts[0]
}

// figure is one measured quantity over several runs.
type figure struct {
	What, Mode string
	Goal       time.Duration // 0: none
	Runs       []time.Duration
}

func (f *figure) add(d time.Duration) { f.Runs = append(f.Runs, d) }

func (f figure) stats() (median, lo, hi time.Duration) {
	if len(f.Runs) == 0 {
		return 0, 0, 0
	}
	s := append([]time.Duration(nil), f.Runs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[0], s[len(s)-1]
}

func report(t *testing.T, figures []figure, lostAsync, lostSync []float64) {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "MEASURE\tSETTINGS\tRUNS\tMEDIAN\tMIN\tMAX\tGOAL\tEACH RUN")
	for _, f := range figures {
		med, lo, hi := f.stats()
		goal, verdict := "-", ""
		if f.Goal > 0 {
			goal = "≤ " + f.Goal.String()
			verdict = " (met)"
			if med > f.Goal {
				verdict = " (MISSED)"
			}
		}
		var each []string
		for _, d := range f.Runs {
			each = append(each, ms(d))
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s%s\t%s\n", f.What, f.Mode, len(f.Runs), ms(med), ms(lo), ms(hi), goal, verdict, strings.Join(each, " "))
	}
	for _, l := range []struct {
		what string
		n    []float64
	}{{"acknowledged rows lost per failover, async", lostAsync}, {"acknowledged rows lost per failover, sync (pg_rpo 0)", lostSync}} {
		if len(l.n) == 0 {
			continue
		}
		s := append([]float64(nil), l.n...)
		sort.Float64s(s)
		total := 0.0
		var each []string
		for _, v := range l.n {
			total += v
			each = append(each, strconv.FormatFloat(v, 'f', 0, 64))
		}
		fmt.Fprintf(w, "%s\tall cuts\t%d\t%.0f\t%.0f\t%.0f\t-\ttotal %.0f: %s\n", l.what, len(s), s[len(s)/2], s[0], s[len(s)-1], total, strings.Join(each, " "))
	}
	w.Flush()
	t.Logf("HA figures on three namespace hosts of this machine:\n%s", b.String())
}
