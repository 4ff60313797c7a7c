package join

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"pigsty/assets"
	"pigsty/infra/pki"
	"pigsty/pgsql/inventory"
)

func serve(t *testing.T) (addr string, tok Token, ca *pki.CA) {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := assets.Conf("ha")
	inv, err := inventory.Parse("ha.yml", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := ca.Issue("infra", []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(iss.Cert, iss.Key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	s := &Server{CA: ca, Secret: secret, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Desired: func(context.Context) (*inventory.Inventory, error) { return inv, nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, addr, cert) }()
	t.Cleanup(func() { cancel(); <-done })
	for i := 0; i < 50; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, Token{Fingerprint: ca.Fingerprint(), Secret: secret}, ca
}

func TestTokenRoundTrip(t *testing.T) {
	tok := Token{Fingerprint: strings.Repeat("ab", 32), Secret: "0123abcd"}
	got, err := ParseToken(tok.String())
	if err != nil || got != tok {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"", "pigsty1.x.y", "k10.abc", tok.String() + ".x"} {
		if _, err := ParseToken(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestJoin(t *testing.T) {
	addr, tok, ca := serve(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ctx := context.Background()

	// the first candidate is not in the inventory: the second is taken
	b, ip, err := Join(ctx, addr, tok, "pg-test-2", []string{"192.0.2.1", "10.10.10.12"}, key)
	if err != nil {
		t.Fatal(err)
	}
	if ip != "10.10.10.12" || len(b.Etcd) != 3 || !strings.Contains(b.Etcd[0], ":2379") {
		t.Fatalf("ip %s etcd %v", ip, b.Etcd)
	}
	block, _ := pem.Decode(b.Cert)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "pg-test-2"}); err != nil {
		t.Fatalf("issued certificate: %v", err)
	}
	if leaf.Subject.CommonName != "pg-test-2" || !leaf.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
		t.Fatalf("certificate for %s, key mismatch", leaf.Subject.CommonName)
	}

	// a token of another CA is refused before anything is sent
	other := tok
	other.Fingerprint = strings.Repeat("00", 32)
	if _, _, err := Join(ctx, addr, other, "x", []string{"10.10.10.12"}, key); err == nil || !strings.Contains(err.Error(), "does not match the token") {
		t.Errorf("foreign CA: %v", err)
	}
	// a wrong secret is refused by the infra host
	bad := tok
	bad.Secret = "deadbeef"
	if _, _, err := Join(ctx, addr, bad, "x", []string{"10.10.10.12"}, key); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("bad secret: %v", err)
	}
	// a host that is not in the inventory is refused
	if _, _, err := Join(ctx, addr, tok, "x", []string{"192.0.2.9"}, key); err == nil || !strings.Contains(err.Error(), "not a host of the inventory") {
		t.Errorf("unknown host: %v", err)
	}
}

func TestGetOverPlainHTTP(t *testing.T) {
	addr, _, _ := serve(t)
	resp, err := http.Get("http://" + addr + "/get")
	if err != nil {
		t.Fatal(err)
	}
	script, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(script), "#!/bin/sh") || !strings.Contains(string(script), "exec \"$bin\" join "+addr) {
		t.Fatalf("installer:\n%s", script)
	}
	resp, err = http.Get("http://" + addr + "/get/pigsty")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || n < 1<<20 {
		t.Fatalf("binary: %s, %d bytes", resp.Status, n)
	}
}
