package store_test

import (
	"context"
	"testing"
	"time"

	"pigsty/infra/etcd"
	"pigsty/infra/store"
)

func TestNodeRegistrationExpires(t *testing.T) {
	m := newMember(t)
	agent := m.open(t)
	console := m.open(t)
	ctx := timeout(t, 30*time.Second)

	const ttl = 2 * time.Second
	actx, stop := context.WithCancel(ctx)
	defer stop()
	n := store.Node{IP: "10.10.10.11", Hostname: "pg-test-1", AgentVersion: "v0.1.0",
		Spec: store.NodeSpec{CPU: 2, MemMB: 4096, OS: "debian 12", Arch: "amd64"}, Started: time.Now().UTC()}
	if err := agent.RegisterNode(actx, n, ttl); err != nil {
		t.Fatal(err)
	}
	if err := agent.RegisterNode(ctx, store.Node{IP: "pg-test-1"}, ttl); err == nil {
		t.Error("registered a node without an IP")
	}

	// Kept alive past its TTL.
	time.Sleep(ttl + time.Second)
	nodes, err := console.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].Hostname != "pg-test-1" || nodes[0].Spec.MemMB != 4096 {
		t.Fatalf("Nodes = %+v", nodes)
	}

	stop()
	stopped := time.Now()
	for {
		nodes, err := console.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes) == 0 {
			break
		}
		if time.Since(stopped) > ttl+3*time.Second {
			t.Fatalf("registration still there %s after keepalive stopped", time.Since(stopped))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("registration expired %s after keepalive stopped", time.Since(stopped).Round(100*time.Millisecond))
}

func TestOpenFailsWithoutEtcd(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if _, err := store.Open(ctx, etcd.Access{Endpoints: []string{"http://127.0.0.1:1"}}, testLogger(t)); err == nil {
		t.Fatal("opened a store without etcd")
	}
}
