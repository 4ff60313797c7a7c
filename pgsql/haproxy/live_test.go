package haproxy

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pigsty/internal/testkit"
	"pigsty/pgsql/layout"
)

// TestLiveStats runs the rendered haproxy.cfg the way the agent does and
// asks its stats listener, on loopback, for metrics (no credentials) and
// the stats page (the admin password, quoted, and the read-only user).
// Services are left out: their ports may be in use on the test host.
func TestLiveStats(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, as the agent runs HAProxy")
	}
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skipf("%s is not installed", haproxyBin)
	}
	var nofile syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	run := Runtime{User: "haproxy", Group: "haproxy", FDLimit: nofile.Max}
	if _, err := user.Lookup(run.User); err != nil {
		run.User, run.Group = "", ""
	}
	port := testkit.FreePort(t)
	const password = `it's $HOME #1`
	extra := fmt.Sprintf(`{"pg_default_services": [], "haproxy_exporter_port": %d, "haproxy_admin_password": %q}`, port, password)
	root, err := os.MkdirTemp("", "pigsty-haproxy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	i := testkit.Instance(t, "meta", "pg-meta-1", extra)
	l := layout.New(root, i)
	for path, f := range render(t, "meta", "pg-meta-1", root, run, extra) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(ServicesDir(l), 0o755); err != nil {
		t.Fatal(err)
	}
	writeState(t, l)

	var out testkit.Output
	cmd := exec.Command(haproxyBin, "-W", "-db", "-f", ConfigPath(l), "-f", ServicesDir(l))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	page := base + "/haproxy/pg-meta-1/"
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(url, user, pass string) int {
		req, _ := http.NewRequest("GET", url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(10 * time.Second)
	for get(base+"/metrics", "", "") != 200 {
		select {
		case <-done:
			t.Fatalf("haproxy exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics on %s within 10 s:\n%s", base, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range []struct {
		user, pass string
		want       int
	}{{"", "", 401}, {"admin", "pigsty", 401}, {"admin", password, 200}, {"haproxy", "haproxy", 200}} {
		if got := get(page, c.user, c.pass); got != c.want {
			t.Errorf("stats page as %q: status %d, want %d", c.user, got, c.want)
		}
	}
	if s := out.String(); strings.Contains(s, "WARNING") || strings.Contains(s, "ALERT") {
		t.Errorf("haproxy complained:\n%s", s)
	}
}
