package testkit

import (
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PostgresCredential is the postgres OS user, the dbsu the servers under
// test run as; the test is skipped on a host without one.
func PostgresCredential(t *testing.T) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skip("no postgres user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// Start runs a server in the foreground as cred, with a clean environment,
// until its output shows ready; it is interrupted, and killed with its
// process group if need be, when the test ends.
func Start(t *testing.T, cred *syscall.Credential, bin string, args []string, ready string) *Output {
	t.Helper()
	out := &Output{}
	done := make(chan struct{})
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	deadline := time.After(15 * time.Second)
	for !strings.Contains(out.String(), ready) {
		select {
		case <-done:
			t.Fatalf("%s exited before %q:\n%s", bin, ready, out.String())
		case <-deadline:
			t.Fatalf("%s did not say %q in 15 s:\n%s", bin, ready, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return out
}
