package ha

import (
	"fmt"
	"testing"
	"time"

	"pigsty/build/harness"
)

// fault is what happens to the primary's host.
type fault string

const (
	// cut takes the host's link down (a pulled cable): Patroni, PostgreSQL
	// and the etcd member of the host are isolated together.
	cut fault = "cut"
	// kill sends SIGKILL to Patroni and the postmaster of the host: its
	// agent starts Patroni again at once.
	kill fault = "kill"
	// switchover is `pigsty pg switchover --candidate … -y`, planned.
	switchover fault = "switchover"
)

// outcome is what one fault of the primary's host did.
type outcome struct {
	Fault       fault
	Old, New    *harness.Host // the leader before and after; the same when Patroni kept the lock
	EtcdLeader  *harness.Host // the etcd raft leader when the fault struck
	Sync        *harness.Host // the synchronous standby when the fault struck, if any
	Command     time.Duration // how long pigsty pg switchover took
	Elected     time.Duration // fault → a member holds the leader lock and accepts writes on 5432
	Primary     time.Duration // fault → 5433 on every reachable host leads to the new leader
	Replica     error         // 5434 on every host leading to a replica, once every member is back
	HBA         time.Duration // fault → the probe user's primary-only rule follows
	Rejoined    time.Duration // heal → every member streams from the leader on its timeline
	Unavailable time.Duration // fault → first acknowledged write sent after it
	Handover    time.Duration // last writable answer of the old leader → first of the new (the watch)
	Report      *harness.Report
}

func (o outcome) String() string {
	moved := o.Old.Name + " → " + o.New.Name
	if o.Fault == switchover {
		moved += fmt.Sprintf(" (command %s)", ms(o.Command))
	}
	if o.Old == o.New {
		moved = o.Old.Name + " kept the lock"
	}
	etcd := "on " + nameOf(o.EtcdLeader)
	if o.EtcdLeader == o.Old {
		etcd += ", the primary's host"
	}
	return fmt.Sprintf("%s: %s; writes unavailable %s; elected+writable %s, 5433 everywhere %s, HBA %s, no host writable %s, rejoined %s after heal; etcd leader %s; writer: %s",
		o.Fault, moved, ms(o.Unavailable), ms(o.Elected), ms(o.Primary), ms(o.HBA), ms(o.Handover), ms(o.Rejoined), etcd, o.Report)
}

// unavailable is the longest stretch without acknowledged writes that
// ended after at: the write-unavailability of a fault or switchover at at
// (a stretch starts with the last write acknowledged before it).
func unavailable(rep *harness.Report, at time.Time) time.Duration {
	var d time.Duration
	for _, w := range rep.Unavailable {
		if w.To.After(at) && w.Duration() > d {
			d = w.Duration()
		}
	}
	return d
}

func ms(d time.Duration) string { return d.Round(10 * time.Millisecond).String() }

// strike strikes the primary's host with the fault (or switches over to
// candidate) while a writer writes through 5433 of every host, waits for
// a leader that accepts writes, for 5433 everywhere and the primary-only
// HBA rule to follow it, then heals the host (a cut) or lets its agent
// restart Patroni (a kill) and waits until every member streams from the
// leader on the leader's timeline. It fails the test on a lost
// acknowledged row and on two hosts seen accepting writes at once by the
// watch.
func (f *fleet) strike(t *testing.T, w *watch, kind fault, candidate *harness.Host, members int) outcome {
	t.Helper()
	old, _, err := f.leader()
	if err != nil {
		t.Fatal(err)
	}
	o := outcome{Fault: kind, Old: old, EtcdLeader: f.etcdLeader(), Sync: f.syncStandby()}
	wr, err := f.c.StartWriter(harness.WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	w.take() // what came before the fault was checked already
	at := time.Now()
	switch kind {
	case cut:
		f.Cut(old)
	case kill:
		for _, k := range []string{"patroni", "postgres"} {
			if _, err := old.Kill(k); err != nil {
				t.Fatal(err)
			}
		}
	case switchover:
		// From the last host, a joined one: the command needs nothing of
		// the infra host.
		out := f.c.Hosts[len(f.c.Hosts)-1].Must("pg", "switchover", f.cls, "--candidate", f.member(candidate), "-y")
		o.Command = time.Since(at)
		t.Logf("pigsty pg switchover took %s:\n%s", ms(o.Command), out)
	}
	o.Elected = waitFor(t, 3*time.Minute, "a leader that accepts writes", func() error {
		h, _, err := f.leader()
		if err != nil {
			return err
		}
		if kind == cut && h == old {
			return fmt.Errorf("%s still holds the lock", old.Name)
		}
		if kind == switchover && h != candidate {
			return fmt.Errorf("%s holds the lock, not the candidate %s", h.Name, candidate.Name)
		}
		rows, err := dba(h, "SELECT pg_is_in_recovery()")
		if err != nil {
			return err
		}
		if rows[0][0] != "f" {
			return fmt.Errorf("leader %s still in recovery", h.Name)
		}
		o.New = h
		return nil
	})
	if o.Sync != nil && kind == cut && o.New != o.Sync {
		t.Errorf("%s was promoted, not the synchronous standby %s", o.New.Name, o.Sync.Name)
	}
	o.Primary = time.Since(at)
	o.Primary += waitFor(t, time.Minute, "5433 on every host leads to the new leader", func() error { return f.primaryFollows(o.New) })
	o.HBA = time.Since(at)
	o.HBA += waitFor(t, time.Minute, "the primary-only HBA rule follows", func() error { return f.probeHBA(o.New) })

	if kind == cut {
		f.Heal(old)
	}
	healed := time.Now()
	marker := healed.UnixNano()
	o.Rejoined = waitFor(t, 4*time.Minute, "every member streams from the leader", func() error { return f.streaming(members, marker) })
	waitFor(t, time.Minute, "pigsty pg list on the old leader's host shows every member streaming", func() error { return f.listStreaming(old, members) })
	waitFor(t, time.Minute, "5433 on every host, the healed one too, leads to the leader", func() error { return f.primaryFollows(o.New) })
	waitFor(t, time.Minute, "the primary-only HBA rule on every host", func() error { return f.probeHBA(o.New) })
	// With every member back, 5434 must lead to a replica (while the
	// cut host is away it may lead to the primary: Pigsty's replica
	// service lets its backup servers, the primary among them, serve
	// when no other replica is up).
	_, o.Replica = retry(10*time.Second, f.replicaFollows)

	rep, err := wr.Stop()
	if err != nil {
		t.Fatal(err)
	}
	o.Report, o.Unavailable = rep, unavailable(rep, at)
	if len(rep.Lost) > 0 {
		t.Errorf("%s: acknowledged rows lost: %v", kind, rep.Lost)
	}
	if rep.Acked == 0 {
		t.Errorf("%s: the writer had no write acknowledged: %s", kind, rep)
	}
	obs := w.take()
	for _, pair := range splitBrain(obs) {
		t.Errorf("two hosts accepted writes at once: %s and %s", pair[0], pair[1])
	}
	if from, to, gap := handover(obs); from != nil {
		o.Handover = gap
		t.Logf("watch: last write accepted by %s, %s before the first by %s", from.Name, ms(gap), to.Name)
	}
	t.Logf("watch: %s", summary(obs))
	return o
}
