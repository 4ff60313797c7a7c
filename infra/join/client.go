package join

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// DefaultPort is the infra host's trust port: `/get` (the installer and
// this binary, plain HTTP) and the join API (HTTPS), on one port.
const DefaultPort = 9443

// Join asks the infra host at addr ("host" or "host:port") to admit this
// host. The CA the infra host presents must match the token's fingerprint
// before anything secret is sent. candidates are this host's addresses:
// the infra host answers for the one that is in the inventory.
func Join(ctx context.Context, addr string, tok Token, hostname string, candidates []string, key crypto.Signer) (Bundle, string, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, fmt.Sprint(DefaultPort))
	}
	ca, err := fetchCA(ctx, addr, tok.Fingerprint)
	if err != nil {
		return Bundle{}, "", err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var last error
	for _, ip := range candidates {
		csr, err := x509.CreateCertificateRequest(nil, &x509.CertificateRequest{Subject: pkix.Name{CommonName: ip}}, key)
		if err != nil {
			return Bundle{}, "", fmt.Errorf("join: certificate request: %w", err)
		}
		body, _ := json.Marshal(Request{IP: ip, Hostname: hostname, CSR: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+"/v1/join", bytes.NewReader(body))
		if err != nil {
			return Bundle{}, "", err
		}
		req.Header.Set("Authorization", "Bearer "+tok.Secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return Bundle{}, "", fmt.Errorf("join %s: %w", addr, err)
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			var b Bundle
			if err := json.Unmarshal(data, &b); err != nil {
				return Bundle{}, "", fmt.Errorf("join %s: bad answer: %w", addr, err)
			}
			return b, ip, nil
		case http.StatusForbidden:
			last = fmt.Errorf("%s", bytes.TrimSpace(data))
			continue // not this address: try the next one
		default:
			return Bundle{}, "", fmt.Errorf("join %s: %s: %s", addr, resp.Status, bytes.TrimSpace(data))
		}
	}
	return Bundle{}, "", fmt.Errorf("join %s: none of this host's addresses is in the inventory (%v): %v", addr, candidates, last)
}

// fetchCA gets the CA certificate over a connection it does not trust yet
// and keeps it only when it is the one the token names.
func fetchCA(ctx context.Context, addr, fingerprint string) (*x509.Certificate, error) {
	insecure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // verified below by the token's fingerprint
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/v1/ca", nil)
	if err != nil {
		return nil, err
	}
	resp, err := insecure.Do(req)
	if err != nil {
		return nil, fmt.Errorf("join: reach %s: %w", addr, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("join: CA from %s: %s %v", addr, resp.Status, err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("join: %s sent no CA certificate", addr)
	}
	sum := sha256.Sum256(block.Bytes)
	if hex.EncodeToString(sum[:]) != fingerprint {
		return nil, errors.New("join: the CA of " + addr + " does not match the token: wrong infra host, or a stale token")
	}
	return x509.ParseCertificate(block.Bytes)
}
