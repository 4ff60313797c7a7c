package ha

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pigsty/build/harness"
	"pigsty/infra/etcd"
	"pigsty/node/agent"
)

// etcdShrinks takes host gone out of the etcd group with pigsty apply: the
// member list shrinks to the others, gone's member stops with its data
// kept aside, and the cluster keeps streaming and taking writes on the
// smaller etcd cluster.
func (f *fleet) etcdShrinks(t *testing.T, tp harness.Topology, gone *harness.Host) {
	for _, h := range f.c.Hosts {
		if h != gone {
			tp.Etcd = append(tp.Etcd, h)
		}
	}
	tp.File = "pigsty-etcd-shrunk.yml"
	file := f.c.WriteInventory(tp)
	start := time.Now()
	if out, err := f.c.Hosts[0].Run("apply", "-f", file); err != nil {
		t.Fatalf("pigsty apply: %v\n%s", err, out)
	}
	t.Logf("pigsty apply took %s", since(start))
	took := waitFor(t, time.Minute, "the etcd member list shrinks", func() error {
		names, err := f.etcdMembers()
		if err != nil {
			return err
		}
		if len(names) != len(tp.Etcd) || slices.ContainsFunc(names, func(u string) bool { return strings.Contains(u, "//"+gone.IP+":") }) {
			return fmt.Errorf("members %v, want the %d others than %s", names, len(tp.Etcd), gone.Name)
		}
		return nil
	})
	t.Logf("etcd members: %d, %s after the apply", len(tp.Etcd), ms(took))
	waitFor(t, time.Minute, fmt.Sprintf("%s's etcd member stops", gone.Name), func() error {
		if pids := gone.Procs()["etcd"]; len(pids) > 0 {
			return fmt.Errorf("etcd still runs on %s: %v", gone.Name, pids)
		}
		return nil
	})
	kept, _ := filepath.Glob(filepath.Join(gone.Root, "data", "etcd*.removed-*"))
	if len(kept) == 0 {
		t.Errorf("%s: the removed member's data was not kept aside", gone.Name)
	}
	waitFor(t, time.Minute, "every member streams from the leader with etcd shrunk", func() error { return f.streaming(len(f.c.Hosts), time.Now().UnixNano()) })
}

// etcdMembers lists the peer URLs of the etcd cluster's members, asked on
// the infra host.
func (f *fleet) etcdMembers() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	infra := f.c.Hosts[0]
	a := etcd.Access{Endpoints: []string{"https://" + net.JoinHostPort(infra.IP, "2379")},
		CAFile: filepath.Join(agent.PKIDir(infra.Root), "ca.crt"), Username: "root", Password: etcdRootPassword}
	return etcd.PeerURLs(ctx, a)
}
