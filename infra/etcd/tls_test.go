package etcd_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pigsty/infra/etcd"
	"pigsty/infra/pki"
	"pigsty/internal/testkit"
)

// A member serves clients and peers over TLS with certificates of the CA,
// and with authentication on, a user reaches its own prefix only.
func TestTLSAndAuth(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.LoadOrCreate(filepath.Join(dir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	iss, err := ca.Issue("etcd-1", []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	crt, key, caFile := filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key"), filepath.Join(dir, "pki", "ca.crt")
	os.WriteFile(crt, iss.Cert, 0o644)
	os.WriteFile(key, iss.Key, 0o600)
	client := "https://127.0.0.1:" + strconv.Itoa(testkit.FreePort(t))
	peer := "https://127.0.0.1:" + strconv.Itoa(testkit.FreePort(t))
	files := etcd.TLSFiles{CertFile: crt, KeyFile: key}
	peerFiles := etcd.TLSFiles{CertFile: crt, KeyFile: key, TrustedCAFile: caFile, ClientCertAuth: true}
	cfg := etcd.Config{Name: "etcd-1", DataDir: filepath.Join(dir, "data"), ClientURLs: []string{client}, PeerURLs: []string{peer},
		InitialCluster: "etcd-1=" + peer, Token: "etcd", ClientTLS: files, PeerTLS: peerFiles}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := etcd.Start(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(5 * time.Second)

	a := etcd.Access{Endpoints: []string{client}, CAFile: caFile}
	tlsc, _ := a.TLS()
	if err := etcd.Healthy(ctx, client, tlsc); err != nil {
		t.Fatalf("healthy over https: %v", err)
	}
	if err := etcd.Healthy(ctx, client, nil); err == nil {
		t.Fatal("a client that does not trust the CA got an answer")
	}
	if err := etcd.EnableAuth(ctx, a, "Etcd.Root", etcd.Grant{User: "pg-test", Password: "pg-test", Prefixes: []string{"/pg/pg-test/"}}); err != nil {
		t.Fatal(err)
	}
	// idempotent, and a second cluster's user added afterwards
	if err := etcd.EnableAuth(ctx, a, "Etcd.Root", etcd.Grant{User: "pg-meta", Password: "pg-meta", Prefixes: []string{"/pg/pg-meta/"}}); err != nil {
		t.Fatalf("again: %v", err)
	}
	// Repeating what exists changes nothing: every change of the auth store
	// retires the tokens of every client, Patroni's among them.
	rootCli, err := a.As("root", "Etcd.Root").Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rootCli.Close()
	authRev := func() uint64 {
		st, err := rootCli.AuthStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.AuthRevision
	}
	before := authRev()
	if err := etcd.EnableAuth(ctx, a, "Etcd.Root", etcd.Grant{User: "pg-meta", Password: "pg-meta", Prefixes: []string{"/pg/pg-meta/"}}); err != nil {
		t.Fatal(err)
	}
	if err := etcd.EnsureUser(ctx, a.As("root", "Etcd.Root"), etcd.Grant{User: "pg-test", Password: "pg-test", Prefixes: []string{"/pg/pg-test/"}}); err != nil {
		t.Fatal(err)
	}
	if after := authRev(); after != before {
		t.Errorf("repeating existing users and grants moved the auth revision %d → %d", before, after)
	}
	cli, err := a.As("pg-test", "pg-test").Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Put(ctx, "/pg/pg-test/leader", "pg-test-1"); err != nil {
		t.Fatalf("own prefix: %v", err)
	}
	if _, err := cli.Put(ctx, "/pg/pg-meta/leader", "x"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("another cluster's prefix: %v", err)
	}
	if err := etcd.Permit(ctx, a.As("root", "Etcd.Root"), "pg-test", "/pg/pg-meta/"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/pg/pg-meta/leader", "x"); err != nil {
		t.Fatalf("a prefix permitted afterwards: %v", err)
	}
	if _, err := a.Client(ctx); err == nil {
		anon, _ := a.Client(ctx)
		if _, err := anon.Get(ctx, "/pg/pg-test/leader"); err == nil {
			t.Fatal("an anonymous client read a key with authentication on")
		}
		anon.Close()
	}
}
