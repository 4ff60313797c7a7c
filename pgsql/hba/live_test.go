package hba

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pigsty/internal/testkit"
	"pigsty/pgsql/layout"
)

const (
	pgbouncerBin = "/usr/sbin/pgbouncer"
	pgBinDir     = "/usr/lib/postgresql/15/bin"
)

// pgbouncer has no config check: the rendered file is proven by starting
// it. A line pgbouncer cannot parse is skipped with only a warning, so any
// warning fails the test.
func TestPgbouncerLoadsRenderedFiles(t *testing.T) {
	cred := liveCredential(t, pgbouncerBin)
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			i := testkit.Instance(t, g.conf, g.ins, g.extra...)
			hba, err := RenderPgbouncer(i, layout.New("/", i))
			if err != nil {
				t.Fatal(err)
			}
			dir := ownedDir(t, cred)
			port := testkit.FreePort(t)
			ini := fmt.Sprintf(`[databases]
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir = %s
pidfile = %s/pgbouncer.pid
auth_type = hba
auth_file = %s/userlist.txt
auth_hba_file = %s/pgb_hba.conf
`, port, dir, dir, dir, dir)
			write(t, cred, filepath.Join(dir, "pgb_hba.conf"), hba)
			write(t, cred, filepath.Join(dir, "userlist.txt"), nil)
			write(t, cred, filepath.Join(dir, "pgbouncer.ini"), []byte(ini))
			p := testkit.Start(t, cred, pgbouncerBin, []string{filepath.Join(dir, "pgbouncer.ini")}, "process up")
			for _, bad := range []string{"WARNING", "ERROR", "FATAL"} {
				if strings.Contains(p.String(), bad) {
					t.Errorf("pgbouncer complained about the rendered file:\n%s\n%s", p.String(), hba)
				}
			}
		})
	}
}

// PostgreSQL refuses to start on a pg_hba.conf it cannot load, and logs
// every line it finds wrong; TLS is on so that hostssl lines can match.
func TestPostgresLoadsRenderedFiles(t *testing.T) {
	cred := liveCredential(t, filepath.Join(pgBinDir, "postgres"))
	if testing.Short() {
		t.Skip("initdb takes seconds")
	}
	dir := ownedDir(t, cred)
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(pgBinDir, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	crt, key := selfSigned(t)
	write(t, cred, filepath.Join(dir, "server.crt"), crt)
	write(t, cred, filepath.Join(dir, "server.key"), key)
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			i := testkit.Instance(t, g.conf, g.ins, g.extra...)
			hba, err := RenderPostgres(i, layout.New("/", i))
			if err != nil {
				t.Fatal(err)
			}
			write(t, cred, filepath.Join(data, "pg_hba.conf"), hba)
			p := testkit.Start(t, cred, filepath.Join(pgBinDir, "postgres"), []string{
				"-D", data, "-p", strconv.Itoa(testkit.FreePort(t)), "-k", dir, "-c", "listen_addresses=",
				"-c", "ssl=on", "-c", "ssl_cert_file=" + filepath.Join(dir, "server.crt"), "-c", "ssl_key_file=" + filepath.Join(dir, "server.key"),
			}, "ready to accept connections")
			if strings.Contains(p.String(), "pg_hba.conf") {
				t.Errorf("postgres complained about the rendered file:\n%s", p.String())
			}
		})
	}
}

// liveCredential skips unless the test can run binary as the dbsu.
func liveCredential(t *testing.T, binary string) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run servers as postgres")
	}
	if _, err := os.Stat(binary); err != nil {
		t.Skipf("%s is not installed", binary)
	}
	return testkit.PostgresCredential(t)
}

func ownedDir(t *testing.T, cred *syscall.Credential) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pigsty-hba-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func write(t *testing.T, cred *syscall.Credential, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
		t.Fatal(err)
	}
}

func selfSigned(t *testing.T) (crt, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}
