package ha

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"pigsty/build/harness"
	"pigsty/infra/etcd"
	"pigsty/node/agent"
	"pigsty/pgsql/patroni"
)

// The administrator the default inventory declares, and a user whose
// only HBA rule applies to the primary (probeHBA).
const (
	dbaUser, dbaPassword     = "dbuser_dba", "DBUser.DBA"
	probeUser, probePassword = "dbuser_probe", "Probe.Primary"
)

// fleet is one PostgreSQL cluster on the harness's hosts: the first host
// runs `pigsty infra`, the others joined it by token.
type fleet struct {
	t   testing.TB
	c   *harness.Cluster
	inv string
	cls string

	mu  sync.Mutex
	cut map[*harness.Host]bool
}

// topology is what every test cluster declares: an etcd member on every
// host (a cut host must leave a quorum behind), the given pg_rto, the
// probe user and its primary-only HBA rule before the harness's rule
// that lets everyone in from the intranet.
func topology(rto string, vars map[string]any) harness.Topology {
	v := map[string]any{
		"pg_rto": rto,
		"pg_users": []any{
			map[string]any{"name": harness.TestUser, "password": harness.TestPassword, "pgbouncer": true, "roles": []string{"dbrole_admin"}},
			map[string]any{"name": probeUser, "password": probePassword},
		},
		"pg_hba_rules": []any{
			map[string]any{"user": probeUser, "db": "all", "addr": "intra", "auth": "pwd", "role": "primary", "title": "probe user on the primary only", "order": 700},
			map[string]any{"user": probeUser, "db": "all", "addr": "intra", "auth": "deny", "title": "probe user nowhere else", "order": 701},
			map[string]any{"user": "all", "db": "all", "addr": "intra", "auth": "pwd", "title": "allow intranet password access", "order": 800},
		},
	}
	for k, val := range vars {
		v[k] = val
	}
	return harness.Topology{EtcdAll: true, Vars: v}
}

// newFleet brings up n hosts with the topology: `pigsty infra` on the
// first, which must be ready before the others join it one after the
// other, then waits for every host to converge.
func newFleet(t *testing.T, n int, topo func(*harness.Cluster) harness.Topology) *fleet {
	t.Helper()
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/sbin/haproxy", "/usr/lib/pigsty/patroni"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("packages not installed (pigsty install): %v", err)
		}
	}
	c := harness.New(t, n)
	tp := topo(c)
	if tp.Name == "" {
		tp.Name = "pg-test"
	}
	f := &fleet{t: t, c: c, inv: c.WriteInventory(tp), cls: tp.Name, cut: map[*harness.Host]bool{}}
	start := time.Now()
	infra := c.Hosts[0]
	if _, err := infra.Infra(f.inv); err != nil {
		t.Fatal(err)
	}
	if err := infra.WaitReady(4 * time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: pigsty infra ready in %s", infra.Name, since(start))
	for _, h := range c.Hosts[1:] {
		joined := time.Now()
		if out, err := h.Join(infra); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		t.Logf("%s: pigsty join took %s", h.Name, since(joined))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, h := range c.Hosts[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = h.WaitReady(5 * time.Minute) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d hosts ready %s after pigsty infra started", f.cls, n, since(start))
	return f
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }

// Cut takes a host off the network and remembers it, so that nothing
// waits for its answers until Heal.
func (f *fleet) Cut(h *harness.Host) {
	f.t.Helper()
	if err := h.Cut(); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.cut[h] = true
	f.mu.Unlock()
}

func (f *fleet) Heal(h *harness.Host) {
	f.t.Helper()
	if err := h.Heal(); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	delete(f.cut, h)
	f.mu.Unlock()
}

// reachable are the hosts not cut off.
func (f *fleet) reachable() []*harness.Host {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*harness.Host
	for _, h := range f.c.Hosts {
		if !f.cut[h] {
			out = append(out, h)
		}
	}
	return out
}

func restAPI(h *harness.Host) *patroni.Client {
	return patroni.NewClient(net.JoinHostPort(h.IP, "8008"), "", "", nil)
}

// state is the cluster as the Patroni of the first reachable host that
// answers sees it.
func (f *fleet) state() (patroni.Cluster, error) {
	var errs []error
	for _, h := range f.reachable() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		cl, err := restAPI(h).Cluster(ctx)
		cancel()
		if err == nil {
			return cl, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", h.Name, err))
	}
	return patroni.Cluster{}, errors.Join(errs...)
}

// leader is the host whose member holds the leader lock, with the member.
func (f *fleet) leader() (*harness.Host, patroni.Member, error) {
	cl, err := f.state()
	if err != nil {
		return nil, patroni.Member{}, err
	}
	m := cl.Leader()
	if m == nil {
		return nil, patroni.Member{}, fmt.Errorf("no leader: %s", members(cl))
	}
	h := f.c.Host(m.Host)
	if h == nil {
		return nil, patroni.Member{}, fmt.Errorf("leader %s on %s: no such host", m.Name, m.Host)
	}
	return h, *m, nil
}

// syncStandby is the host of the synchronous standby, nil if none.
func (f *fleet) syncStandby() *harness.Host {
	cl, err := f.state()
	if err != nil {
		return nil
	}
	for _, m := range cl.Members {
		if m.Role == patroni.MemberSyncStandby {
			return f.c.Host(m.Host)
		}
	}
	return nil
}

func nameOf(h *harness.Host) string {
	if h == nil {
		return "none"
	}
	return h.Name
}

func members(cl patroni.Cluster) string {
	var out []string
	for _, m := range cl.Members {
		out = append(out, fmt.Sprintf("%s %s %s tl=%d", m.Name, m.Role, m.State, m.Timeline))
	}
	return strings.Join(out, "; ")
}

// member is the name of a host's instance.
func (f *fleet) member(h *harness.Host) string {
	for i, x := range f.c.Hosts {
		if x == h {
			return fmt.Sprintf("%s-%d", f.cls, i+1)
		}
	}
	return ""
}

// waitFor retries fn every 200 ms until it succeeds and returns how long
// that took; it fails the test with fn's last error after timeout. When
// it took more than a few seconds it logs why it waited.
func waitFor(t testing.TB, timeout time.Duration, what string, fn func() error) time.Duration {
	t.Helper()
	var first error
	took, err := retry(timeout, func() error {
		err := fn()
		if first == nil {
			first = err
		}
		return err
	})
	if err != nil {
		t.Fatalf("%s: not within %s: %v", what, timeout, err)
	}
	if took > 5*time.Second {
		t.Logf("%s: took %s; first: %v", what, ms(took), first)
	}
	return took
}

// retry retries fn every 200 ms until it succeeds or timeout passes, and
// returns how long it took and fn's last error.
func retry(timeout time.Duration, fn func() error) (time.Duration, error) {
	start := time.Now()
	for {
		err := fn()
		if err == nil || time.Since(start) > timeout {
			return time.Since(start), err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// backend is the host whose PostgreSQL answered: its data directory is
// under the host's root (a session through pgbouncer comes over the unix
// socket, where inet_server_addr() is NULL).
func (f *fleet) backend(dataDir string) *harness.Host {
	for _, h := range f.c.Hosts {
		if strings.HasPrefix(dataDir, h.Root+"/") {
			return h
		}
	}
	return nil
}

const whoQuery = "SELECT pg_is_in_recovery(), current_setting('data_directory')"

// who asks through a host's port, from the root namespace, which
// instance answers and whether it is in recovery.
func (f *fleet) who(h *harness.Host, port int) (*harness.Host, bool, error) {
	rows, err := h.SQL(port, harness.TestUser, harness.TestPassword, harness.TestDB, whoQuery)
	if err != nil {
		return nil, false, err
	}
	if len(rows) != 1 || len(rows[0]) != 2 {
		return nil, false, fmt.Errorf("%s:%d: %v", h.Name, port, rows)
	}
	b := f.backend(rows[0][1])
	if b == nil {
		return nil, false, fmt.Errorf("%s:%d: data directory %s of no host", h.Name, port, rows[0][1])
	}
	return b, rows[0][0] == "t", nil
}

// primaryFollows checks that 5433 on every reachable host leads to the
// leader.
func (f *fleet) primaryFollows(leader *harness.Host) error {
	var errs []error
	for _, h := range f.reachable() {
		if b, rec, err := f.who(h, 5433); err != nil {
			errs = append(errs, err)
		} else if b != leader || rec {
			errs = append(errs, fmt.Errorf("%s:5433 leads to %s (in recovery %t), want the leader %s", h.Name, b.Name, rec, leader.Name))
		}
	}
	return errors.Join(errs...)
}

// replicaFollows checks that 5434 on every reachable host leads to a
// replica.
func (f *fleet) replicaFollows() error {
	var errs []error
	for _, h := range f.reachable() {
		if b, rec, err := f.who(h, 5434); err != nil {
			errs = append(errs, err)
		} else if !rec {
			errs = append(errs, fmt.Errorf("%s:5434 leads to the primary %s, want a replica", h.Name, b.Name))
		}
	}
	return errors.Join(errs...)
}

// probeHBA checks that the role-specific rule follows the roles: the
// probe user gets in on the leader's 5432 and is refused by pg_hba.conf
// on every other reachable host.
func (f *fleet) probeHBA(leader *harness.Host) error {
	var errs []error
	for _, h := range f.reachable() {
		_, err := h.SQL(5432, probeUser, probePassword, "postgres", "SELECT 1")
		switch {
		case h == leader && err != nil:
			errs = append(errs, fmt.Errorf("probe user refused on the leader: %w", err))
		case h != leader && err == nil:
			errs = append(errs, fmt.Errorf("%s: probe user admitted on a replica", h.Name))
		case h != leader && !strings.Contains(err.Error(), "pg_hba.conf rejects"):
			errs = append(errs, fmt.Errorf("%s: probe user refused, but not by pg_hba.conf: %w", h.Name, err))
		}
	}
	return errors.Join(errs...)
}

// dba runs SQL as the administrator on a host's own PostgreSQL.
func dba(h *harness.Host, query string) ([][]string, error) {
	return h.SQL(5432, dbaUser, dbaPassword, "postgres", query)
}

// timeline of a primary's current WAL: exact at once after a promotion,
// unlike the checkpoint's.
const walTimeline = "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"

// streaming checks that every member but the leader streams from the
// leader on the leader's timeline, as Patroni, the leader's
// pg_stat_replication, each replica's pg_stat_wal_receiver and a row
// written on the leader and read on each replica show it; want is the
// number of members.
func (f *fleet) streaming(want int, marker int64) error {
	leader, lm, err := f.leader()
	if err != nil {
		return err
	}
	cl, err := f.state()
	if err != nil {
		return err
	}
	if len(cl.Members) != want {
		return fmt.Errorf("%d members, want %d: %s", len(cl.Members), want, members(cl))
	}
	for _, m := range cl.Members {
		if m.Name != lm.Name && (!m.Streaming() || m.Timeline != lm.Timeline) {
			return fmt.Errorf("%s is %s on timeline %d, leader %s on %d", m.Name, m.State, m.Timeline, lm.Name, lm.Timeline)
		}
	}
	rows, err := dba(leader, walTimeline+", (SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming')")
	if err != nil {
		return err
	}
	tl, senders := rows[0][0], rows[0][1]
	if tl != strconv.Itoa(lm.Timeline) || senders != strconv.Itoa(want-1) {
		return fmt.Errorf("leader %s: WAL on timeline %s (Patroni: %d), %s streaming senders, want %d", leader.Name, tl, lm.Timeline, senders, want-1)
	}
	if _, err := leader.SQL(5432, harness.TestUser, harness.TestPassword, harness.TestDB,
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS ha_marker (id bigint PRIMARY KEY); INSERT INTO ha_marker VALUES (%d) ON CONFLICT DO NOTHING", marker)); err != nil {
		return err
	}
	for _, h := range f.c.Hosts {
		if h == leader {
			continue
		}
		rows, err := dba(h, "SELECT status, received_tli FROM pg_stat_wal_receiver")
		if err != nil {
			return err
		}
		if len(rows) != 1 || rows[0][0] != "streaming" || rows[0][1] != tl {
			return fmt.Errorf("%s: wal receiver %v, want streaming on timeline %s", h.Name, rows, tl)
		}
		rows, err = h.SQL(5432, harness.TestUser, harness.TestPassword, harness.TestDB, fmt.Sprintf("SELECT count(*) FROM ha_marker WHERE id = %d", marker))
		if err != nil {
			return err
		}
		if rows[0][0] != "1" {
			return fmt.Errorf("%s: row %d written on the leader not replayed", h.Name, marker)
		}
	}
	return nil
}

// pgList is `pigsty pg list --json` run on a host.
func (f *fleet) pgList(h *harness.Host) (patroni.Cluster, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := h.Command(ctx, harness.Binary(), "pg", "list", f.cls, "--json")
	out, err := cmd.Output()
	if err != nil {
		return patroni.Cluster{}, fmt.Errorf("%s: pigsty pg list: %w", h.Name, err)
	}
	var cl patroni.Cluster
	if err := json.Unmarshal(out, &cl); err != nil {
		return cl, fmt.Errorf("%s: pigsty pg list --json: %w", h.Name, err)
	}
	return cl, nil
}

// listStreaming checks that `pigsty pg list` on a host shows one leader
// and every other member streaming on its timeline.
func (f *fleet) listStreaming(h *harness.Host, want int) error {
	cl, err := f.pgList(h)
	if err != nil {
		return err
	}
	l := cl.Leader()
	if l == nil || len(cl.Members) != want {
		return fmt.Errorf("pigsty pg list on %s: %s", h.Name, members(cl))
	}
	for _, m := range cl.Members {
		if m.Name != l.Name && (!m.Streaming() || m.Timeline != l.Timeline) {
			return fmt.Errorf("pigsty pg list on %s: %s", h.Name, members(cl))
		}
	}
	return nil
}

// etcdLeader is the host whose etcd member leads the raft group, from
// the members' metrics.
func (f *fleet) etcdLeader() *harness.Host {
	pool := x509.NewCertPool()
	if pem, err := os.ReadFile(filepath.Join(agent.PKIDir(f.c.Hosts[0].Root), "ca.crt")); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	for _, h := range f.reachable() {
		resp, err := client.Get("https://" + net.JoinHostPort(h.IP, "2379") + "/metrics")
		if err != nil {
			continue
		}
		leads := false
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if sc.Text() == "etcd_server_is_leader 1" {
				leads = true
			}
		}
		resp.Body.Close()
		if leads {
			return h
		}
	}
	return nil
}

// etcdRootPassword is etcd_root_password of the harness's inventories.
const etcdRootPassword = "Etcd.Root"

// moveEtcdLeader hands the etcd raft leadership to the member of host h,
// as etcdctl move-leader does: the benchmarks place it on the primary's
// host or away from it. A member that rejoined a moment ago may not be
// ready to lead yet: it tries for a minute.
func (f *fleet) moveEtcdLeader(h *harness.Host) error {
	_, err := retry(time.Minute, func() error {
		cur := f.etcdLeader()
		if cur == nil {
			return fmt.Errorf("no etcd leader found")
		}
		if cur == h {
			return nil
		}
		return f.moveEtcdLeaderFrom(cur, h)
	})
	return err
}

func (f *fleet) moveEtcdLeaderFrom(cur, h *harness.Host) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The request must reach the current leader.
	a := etcd.Access{Endpoints: []string{"https://" + net.JoinHostPort(cur.IP, "2379")},
		CAFile: filepath.Join(agent.PKIDir(f.c.Hosts[0].Root), "ca.crt"), Username: "root", Password: etcdRootPassword}
	cli, err := a.Client(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	list, err := cli.MemberList(ctx)
	if err != nil {
		return fmt.Errorf("etcd member list on %s: %w", cur.Name, err)
	}
	for _, m := range list.Members {
		for _, u := range m.ClientURLs {
			if strings.Contains(u, "//"+h.IP+":") {
				if _, err := cli.MoveLeader(ctx, m.ID); err != nil {
					return fmt.Errorf("etcd move leader from %s to %s: %w", cur.Name, h.Name, err)
				}
				if l := f.etcdLeader(); l != h {
					return fmt.Errorf("etcd leader on %s after moving it to %s", nameOf(l), h.Name)
				}
				return nil
			}
		}
	}
	return fmt.Errorf("no etcd member on %s", h.Name)
}

// connectIn opens a session from inside a host's namespace to one of its
// own ports: it reaches the host even while its link is cut.
func connectIn(ctx context.Context, h *harness.Host, port int) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable&connect_timeout=2",
		harness.TestUser, harness.TestPassword, net.JoinHostPort(h.IP, strconv.Itoa(port)), harness.TestDB))
	if err != nil {
		return nil, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	cfg.DialFunc = h.Dial
	return pgx.ConnectConfig(ctx, cfg)
}
