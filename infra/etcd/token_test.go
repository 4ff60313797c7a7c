package etcd_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
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

// Ensuring a user again with its password — every agent does it for its
// cluster's Patroni user — leaves the tokens of the user valid: Patroni
// signed in as it keeps its session. A new password takes effect.
func TestEnsureUserKeepsTokens(t *testing.T) {
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
	cfg := etcd.Config{Name: "etcd-1", DataDir: filepath.Join(dir, "data"), ClientURLs: []string{client}, PeerURLs: []string{peer},
		InitialCluster: "etcd-1=" + peer, Token: "etcd", ClientTLS: etcd.TLSFiles{CertFile: crt, KeyFile: key},
		PeerTLS: etcd.TLSFiles{CertFile: crt, KeyFile: key, TrustedCAFile: caFile, ClientCertAuth: true}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := etcd.Start(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(5 * time.Second)

	a := etcd.Access{Endpoints: []string{client}, CAFile: caFile}
	user := etcd.Grant{User: "pg-test", Password: "pg-test", Prefixes: []string{"/pg/pg-test/"}}
	if err := etcd.EnableAuth(ctx, a, "Etcd.Root", user); err != nil {
		t.Fatal(err)
	}
	root := a.As("root", "Etcd.Root")
	tlsc, err := a.TLS()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsc}, Timeout: 10 * time.Second}
	// What Patroni does: sign in through the gateway, then send the token.
	post := func(path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, client+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	signIn := func(password string) string {
		t.Helper()
		code, body := post("/v3/auth/authenticate", "", fmt.Sprintf(`{"name":"pg-test","password":%q}`, password))
		i := strings.Index(body, `"token":"`)
		if code != http.StatusOK || i < 0 {
			t.Fatalf("sign in with %q: %d %s", password, code, body)
		}
		tok := body[i+len(`"token":"`):]
		return tok[:strings.IndexByte(tok, '"')]
	}
	read := func(token string) (int, string) {
		return post("/v3/kv/range", token, `{"key":"L3BnL3BnLXRlc3QvbGVhZGVy"}`) // /pg/pg-test/leader
	}
	token := signIn("pg-test")
	if code, body := read(token); code != http.StatusOK {
		t.Fatalf("read with a fresh token: %d %s", code, body)
	}
	for i := 0; i < 2; i++ {
		if err := etcd.EnsureUser(ctx, root, user); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := read(token); code != http.StatusOK {
		t.Fatalf("the token was revoked by ensuring the user with its own password: %d %s", code, body)
	}

	user.Password = "Changed"
	if err := etcd.EnsureUser(ctx, root, user); err != nil {
		t.Fatal(err)
	}
	if code, body := post("/v3/auth/authenticate", "", `{"name":"pg-test","password":"pg-test"}`); code == http.StatusOK {
		t.Fatalf("the old password still signs in: %s", body)
	}
	if code, body := read(signIn("Changed")); code != http.StatusOK {
		t.Fatalf("read with the new password's token: %d %s", code, body)
	}
}
