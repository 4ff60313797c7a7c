// Package monitoring tests the exporters of a fleet of hosts, each a
// network namespace of the test harness running its own agent:
// replication as the primary's and the replica's pg exporters see it,
// against SQL run at the same time, and the node exporter of a host that
// runs no PostgreSQL.
package monitoring

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"pigsty/build/harness"
	"pigsty/internal/testkit"
)

func TestMain(m *testing.M) { harness.Main(m) }

const dba, dbaPassword = "dbuser_dba", "DBUser.DBA"

// keptNames are promtool's findings on names the exporters keep because
// Pigsty's dashboards and rules use them.
var keptNames = map[string]string{
	`^node_(memory|netstat)_\w+ metric names should be written in 'snake_case' not 'camelCase'$`: "node_exporter's names",
	`^pgbouncer_pool_maxwait_us metric names should not contain abbreviated units$`:              "pg_exporter's name",
}

// scrape fetches an exporter of a host at its address, from the root
// namespace, as the metrics store does.
func scrape(h *harness.Host, port int) (testkit.Metrics, string, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + h.IP + ":" + strconv.Itoa(port) + "/metrics")
	if err != nil {
		return nil, "", fmt.Errorf("%s:%d: %w", h.Name, port, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return nil, "", fmt.Errorf("%s:%d: %s %v", h.Name, port, resp.Status, err)
	}
	m, err := testkit.ParseMetrics(string(body))
	if err != nil {
		return nil, "", fmt.Errorf("%s:%d: %w", h.Name, port, err)
	}
	return m, string(body), nil
}

func mustScrape(t *testing.T, h *harness.Host, port int) (testkit.Metrics, string) {
	t.Helper()
	m, text, err := scrape(h, port)
	if err != nil {
		t.Fatal(err)
	}
	return m, text
}

// atSameTime runs query on the host, scrapes its pg exporter, and runs
// the query again: when both answers agree nothing moved meanwhile, and
// check compares the scrape with them. It retries until check passes:
// the exporter answers from its collectors' cache (ttl_norm, 10 s), and
// the heartbeat moves WAL now and then.
func atSameTime(t *testing.T, h *harness.Host, query string, check func(testkit.Metrics, [][]string) error) (testkit.Metrics, string, [][]string) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		m, text, rows, err := agree(h, query, check)
		if err == nil {
			return m, text, rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the pg exporter and SQL do not agree within 45 s: %v", h.Name, err)
		}
		time.Sleep(time.Second)
	}
}

func agree(h *harness.Host, query string, check func(testkit.Metrics, [][]string) error) (testkit.Metrics, string, [][]string, error) {
	before, err := h.SQL(5432, dba, dbaPassword, "postgres", query)
	if err != nil {
		return nil, "", nil, err
	}
	m, text, err := scrape(h, 9630)
	if err != nil {
		return nil, "", nil, err
	}
	after, err := h.SQL(5432, dba, dbaPassword, "postgres", query)
	if err != nil {
		return nil, "", nil, err
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		return nil, "", nil, fmt.Errorf("moved during the scrape: %v, then %v", before, after)
	}
	return m, text, after, check(m, after)
}

func num(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }

// one is the only sample of name with the labels, or an error.
func one(m testkit.Metrics, name string, labels map[string]string) (testkit.Sample, error) {
	got := m.Find(name, labels)
	if len(got) != 1 {
		return testkit.Sample{}, fmt.Errorf("%s%v: %d samples", name, labels, len(got))
	}
	return got[0], nil
}

func equal(m testkit.Metrics, want map[string]float64, labels map[string]string) error {
	for name, v := range want {
		s, err := one(m, name, labels)
		if err != nil {
			return err
		}
		if s.Value != v {
			return fmt.Errorf("%s%v = %v, SQL %v", name, labels, s.Value, v)
		}
	}
	return nil
}

// TestReplicaExporters brings up pg-test on two hosts that joined an
// infra host which runs no PostgreSQL, with a fourth host joined to no
// cluster (group nodes), and checks pg_repl_* on the
// primary and pg_recv_*, pg_replay_lsn and pg_(is_)in_recovery on the
// replica against pg_stat_replication and pg_stat_wal_receiver queried at
// the same time, their labels, promtool on each exposition, and the node
// exporter of every host — the infra host's too — scraped by the store
// with cls, ins and ip.
func TestReplicaExporters(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up PostgreSQL on two hosts (not -short)")
	}
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/sbin/haproxy", "/usr/lib/pigsty/patroni"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("packages not installed (pigsty install): %v", err)
		}
	}
	start := time.Now()
	c := harness.New(t, 4)
	infra, primary, replica, node := c.Hosts[0], c.Hosts[1], c.Hosts[2], c.Hosts[3]
	inv := withNode(t, c, c.WriteInventory(harness.Topology{Members: []*harness.Host{primary, replica}}), node)
	if _, err := infra.Infra(inv); err != nil {
		t.Fatal(err)
	}
	// the infra host runs no instance to wait for: hosts join once it
	// serves its trust port
	deadline := time.Now().Add(2 * time.Minute)
	for {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(infra.IP, "9443"), time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the infra host's trust port: %v", err)
		}
		time.Sleep(time.Second)
	}
	t.Logf("infra host up in %s", time.Since(start).Round(100*time.Millisecond))
	for _, h := range []*harness.Host{primary, replica, node} {
		if out, err := h.Join(infra); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, h := range []*harness.Host{primary, replica} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = h.WaitReady(4 * time.Minute) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("pg-test ready %s after pigsty infra started", time.Since(start).Round(100*time.Millisecond))

	t.Run("primary", func(t *testing.T) {
		var appname string
		m, text, rows := atSameTime(t, primary, `SELECT application_name, state, usename, client_addr::text, pid::text,
			(sent_lsn - '0/0')::text, (flush_lsn - '0/0')::text, (replay_lsn - '0/0')::text, (pg_current_wal_lsn() - replay_lsn)::text
			FROM pg_stat_replication`,
			func(m testkit.Metrics, rows [][]string) error {
				if len(rows) != 1 || rows[0][1] != "streaming" {
					return fmt.Errorf("pg_stat_replication: %v", rows)
				}
				appname = rows[0][0]
				return equal(m, map[string]float64{"pg_repl_state": 0, "pg_repl_sent_lsn": num(rows[0][5]),
					"pg_repl_flush_lsn": num(rows[0][6]), "pg_repl_replay_lsn": num(rows[0][7]), "pg_repl_replay_diff": num(rows[0][8])},
					map[string]string{"appname": appname})
			})
		if appname != "pg-test-2" {
			t.Errorf("the replica's walsender is %q, want its instance name pg-test-2", appname)
		}
		repl := m.Find("pg_repl_state", nil)[0]
		want := map[string]string{"appname": appname, "usename": rows[0][2], "address": rows[0][3], "pid": rows[0][4]}
		for k, v := range want {
			if repl.Labels[k] != v {
				t.Errorf("pg_repl_state label %s=%q, SQL %q", k, repl.Labels[k], v)
			}
		}
		// client_addr as text, as pg_exporter has it: with its mask
		if repl.Labels["address"] != replica.IP+"/32" {
			t.Errorf("pg_repl_state address %q, want the replica's %s/32", repl.Labels["address"], replica.IP)
		}
		for name, v := range map[string]float64{"pg_up": 1, "pg_in_recovery": 0, "pg_is_in_recovery": 0} {
			if got := m.One(t, name, nil); got != v {
				t.Errorf("%s on the primary: %v", name, got)
			}
		}
		if got := m.One(t, "pg_downstream_count", map[string]string{"state": "streaming"}); got != 1 {
			t.Errorf("pg_downstream_count{state=streaming} %v", got)
		}
		if n := len(m.Find("pg_recv_state", nil)); n != 0 {
			t.Errorf("the primary reports %d walreceivers", n)
		}
		if problems := testkit.Promtool(t, text, keptNames); len(problems) > 0 {
			t.Errorf("promtool check metrics, the primary's pg exporter:\n%s", strings.Join(problems, "\n"))
		}
	})

	t.Run("replica", func(t *testing.T) {
		m, text, rows := atSameTime(t, replica, `SELECT sender_host, sender_port::text, status, (flushed_lsn - '0/0')::text,
			(pg_last_wal_replay_lsn() - '0/0')::text FROM pg_stat_wal_receiver`,
			func(m testkit.Metrics, rows [][]string) error {
				if len(rows) != 1 || rows[0][2] != "streaming" {
					return fmt.Errorf("pg_stat_wal_receiver: %v", rows)
				}
				if err := equal(m, map[string]float64{"pg_recv_state": 0, "pg_recv_flush_lsn": num(rows[0][3])},
					map[string]string{"sender_host": rows[0][0], "sender_port": rows[0][1]}); err != nil {
					return err
				}
				return equal(m, map[string]float64{"pg_replay_lsn": num(rows[0][4])}, nil)
			})
		if rows[0][0] != primary.IP {
			t.Errorf("the replica streams from %q, want the primary %s", rows[0][0], primary.IP)
		}
		for name, v := range map[string]float64{"pg_up": 1, "pg_in_recovery": 1, "pg_is_in_recovery": 1} {
			if got := m.One(t, name, nil); got != v {
				t.Errorf("%s on the replica: %v", name, got)
			}
		}
		if n := len(m.Find("pg_repl_state", nil)); n != 0 {
			t.Errorf("the replica reports %d walsenders", n)
		}
		if problems := testkit.Promtool(t, text, keptNames); len(problems) > 0 {
			t.Errorf("promtool check metrics, the replica's pg exporter:\n%s", strings.Join(problems, "\n"))
		}
		pgb, _ := mustScrape(t, replica, 9631)
		if got := pgb.One(t, "pgbouncer_up", nil); got != 1 {
			t.Errorf("pgbouncer_up on the replica's host %v", got)
		}
	})

	t.Run("node", func(t *testing.T) {
		for _, h := range c.Hosts {
			m, text := mustScrape(t, h, 9100)
			var devices []string
			for _, s := range m.Find("node_network_receive_bytes_total", nil) {
				devices = append(devices, s.Labels["device"])
			}
			slices.Sort(devices)
			if !slices.Equal(devices, []string{"eth0", "lo"}) {
				t.Errorf("%s: network devices %v, want lo and the host's own link eth0", h.Name, devices)
			}
			if problems := testkit.Promtool(t, text, keptNames); len(problems) > 0 {
				t.Errorf("%s: promtool check metrics, the node exporter:\n%s", h.Name, strings.Join(problems, "\n"))
			}
		}
		for _, h := range []*harness.Host{infra, node} {
			if _, _, err := scrape(h, 9630); err == nil {
				t.Errorf("%s, without an instance, serves a pg exporter", h.Name)
			}
		}
		// the store on the infra host scrapes every host's node exporter
		var last string
		deadline := time.Now().Add(time.Minute)
		for {
			ups, err := query(infra, `up{job="node"}`)
			last = fmt.Sprint(ups, err)
			want := map[string]bool{}
			for _, u := range ups {
				if u.Value == "1" && u.Labels["ip"] != "" && u.Labels["cls"] != "" && u.Labels["ins"] != "" {
					want[u.Labels["ip"]] = true
				}
			}
			if len(want) == len(c.Hosts) && want[infra.IP] && want[node.IP] {
				t.Logf("up{job=node}: %v", ups)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the store does not scrape every node exporter within a minute: %s", last)
			}
			time.Sleep(2 * time.Second)
		}
	})
}

// sample is one series of an instant query of the store.
type sample struct {
	Labels map[string]string
	Value  string
}

// query runs an instant query on the store's Prometheus API on the infra
// host (8428).
func query(infra *harness.Host, q string) ([]sample, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + infra.IP + ":8428/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  []any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	var out []sample
	for _, r := range body.Data.Result {
		if len(r.Value) == 2 {
			out = append(out, sample{r.Metric, fmt.Sprint(r.Value[1])})
		}
	}
	return out, nil
}

// withNode adds the host to the inventory as a node of no cluster (group
// nodes), as Pigsty lists hosts it manages without PostgreSQL.
func withNode(t *testing.T, c *harness.Cluster, path string, h *harness.Host) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	children := doc["all"].(map[string]any)["children"].(map[string]any)
	children["nodes"] = map[string]any{"hosts": map[string]any{h.IP: map[string]any{}}}
	if raw, err = yaml.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Hosts[0].Run("config", "validate", "-f", path); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return path
}
