package pki

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
)

func TestIssueVerifies(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreate(dir)
	if err != nil || again.Fingerprint() != ca.Fingerprint() {
		t.Fatalf("reload: %v, fingerprint changed", err)
	}
	names, ips := InstanceNames("pg-meta", "pg-meta-1", "10.10.10.10")
	iss, err := ca.Issue("pg-meta-1", names, ips)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(iss.Cert, iss.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	for _, host := range []string{"localhost", "pg-meta", "pg-meta-1", "127.0.0.1", "10.10.10.10"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("verify as %s: %v", host, err)
		}
	}
	if leaf.Subject.CommonName != "pg-meta-1" || leaf.Subject.OrganizationalUnit[0] != "postgres" {
		t.Errorf("subject %v", leaf.Subject)
	}
}
