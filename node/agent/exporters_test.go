package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"pigsty/internal/testkit"
	"pigsty/monitor/nodeexporter"
	"pigsty/pgsql/inventory"
)

func nodeSpec(port int, key string) exporterSpec {
	return exporterSpec{name: "node", port: port, key: key, open: func() (http.Handler, io.Closer, error) {
		return nodeexporter.New(nodeexporter.Options{}).Handler(), nil, nil
	}}
}

func get(port int) (string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestExporterSet: an exporter is started once and kept while its spec is
// the same, replaced when it changes, stopped when no longer wanted, and
// a port taken by another process is a problem, tried again next time.
func TestExporterSet(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	s := &exporterSet{}
	defer s.stopAll(log)
	port := testkit.FreePort(t)

	if problems := s.apply([]exporterSpec{nodeSpec(port, "a")}, log); len(problems) > 0 {
		t.Fatal(problems)
	}
	first := s.running["node"]
	if out, err := get(port); err != nil || !strings.Contains(out, "node_load1 ") {
		t.Fatalf("scrape: %v\n%.200s", err, out)
	}
	s.apply([]exporterSpec{nodeSpec(port, "a")}, log)
	if s.running["node"] != first {
		t.Error("an unchanged exporter was restarted")
	}
	other := testkit.FreePort(t)
	s.apply([]exporterSpec{nodeSpec(other, "a")}, log)
	if _, err := get(other); err != nil {
		t.Errorf("after a port change: %v", err)
	}
	if _, err := get(port); err == nil {
		t.Error("the old port still answers")
	}

	s.apply(nil, log)
	if len(s.running) != 0 {
		t.Errorf("still running: %v", s.running)
	}
	if _, err := get(other); err == nil {
		t.Error("a stopped exporter answers")
	}

	taken, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	problems := s.apply([]exporterSpec{nodeSpec(port, "a")}, log)
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "node exporter on port "+strconv.Itoa(port)) {
		t.Errorf("a taken port: %v", problems)
	}
	taken.Close()
	if problems := s.apply([]exporterSpec{nodeSpec(port, "a")}, log); len(problems) > 0 || s.running["node"] == nil {
		t.Errorf("once the port is free: %v", problems)
	}
}

// TestHostExporters: a host without an instance — infra only, or a node
// of no cluster — serves its node exporter on node_exporter_port; one
// with node_exporter_enabled false, or not listed at all, serves none,
// and what ran there before (the exporters of a removed instance) stops.
func TestHostExporters(t *testing.T) {
	infraPort, nodePort := testkit.FreePort(t), testkit.FreePort(t)
	inv, err := inventory.Parse("pigsty.yml", []byte(fmt.Sprintf(`all:
  children:
    infra: { hosts: { 10.10.10.10: { infra_seq: 1, node_exporter_port: %d } } }
    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } }, vars: { etcd_cluster: etcd } }
    pg-test:
      hosts: { 10.10.10.11: { pg_seq: 1, pg_role: primary } }
      vars: { pg_cluster: pg-test }
    nodes:
      hosts:
        10.10.10.20: { node_exporter_port: %d }
        10.10.10.21: { node_exporter_enabled: false }
  vars: { pg_version: 17 }
`, infraPort, nodePort)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Agent{cfg: Config{Version: "test"}, log: slog.New(slog.DiscardHandler), runCtx: ctx}
	t.Cleanup(func() {
		cancel()
		a.exporters.stopAll(a.log)
	})

	for _, c := range []struct {
		ip   string
		port int
	}{{"10.10.10.10", infraPort}, {"10.10.10.20", nodePort}} {
		h := inv.Host(c.ip)
		if h == nil || h.Instance != nil {
			t.Fatalf("%s: %+v, want a host without an instance", c.ip, h)
		}
		a.hostExporters(h)
		if out, err := get(c.port); err != nil || !strings.Contains(out, "node_load1 ") {
			t.Errorf("%s: node exporter on %d: %v\n%.200s", c.ip, c.port, err, out)
		}
	}
	if _, err := get(infraPort); err == nil {
		t.Errorf("the previous port %d still answers", infraPort)
	}

	// what an instance of the host served before it was removed
	pgPort := testkit.FreePort(t)
	pg := nodeSpec(pgPort, "pg")
	pg.name = "pg"
	a.exporters.apply([]exporterSpec{pg}, a.log)
	if _, err := get(pgPort); err != nil {
		t.Fatal(err)
	}
	a.hostExporters(inv.Host("10.10.10.21"))
	if len(a.exporters.running) != 0 {
		t.Errorf("node_exporter_enabled false: still running %v", a.exporters.running)
	}
	if _, err := get(pgPort); err == nil {
		t.Error("the removed instance's exporter still answers")
	}
	a.hostExporters(inv.Host("10.10.10.20"))
	a.hostExporters(nil)
	if _, err := get(nodePort); err == nil || len(a.exporters.running) != 0 {
		t.Errorf("a host not listed still serves %v", a.exporters.running)
	}
}
