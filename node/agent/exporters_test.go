package agent

import (
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
