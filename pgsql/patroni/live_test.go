package patroni_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pigsty/infra/etcd"
	"pigsty/infra/pki"
	"pigsty/internal/testkit"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/patroni"
	"pigsty/pgsql/pkgmap"
	"pigsty/pgsql/tune"
)

// The live check runs the vendored Patroni 4.0.7 with a rendered config
// against a throwaway embedded etcd, on loopback ports only.
const (
	livePgPort      = 25432
	livePatroniPort = 28008
	liveBinDir      = "/usr/lib/postgresql/15/bin"
	livePython      = "/usr/bin/python3"
)

const liveInventory = `all:
  children:
    infra: { hosts: { 127.0.0.1: { infra_seq: 1 } } }
    etcd: { hosts: { 127.0.0.1: { etcd_seq: 1 } } }
    pg-live:
      hosts: { 127.0.0.1: { pg_seq: 1, pg_role: primary } }
      vars:
        pg_cluster: pg-live
        pg_port: %d
        patroni_port: %d
        pg_listen: 127.0.0.1
        pgbackrest_enabled: false
  vars:
    admin_ip: 127.0.0.1
    pg_version: 15
`

// liveEnv is what the live check needs from the machine, or why it skips.
func liveEnv(t *testing.T) (pythonPath string, dbsu *syscall.Credential) {
	t.Helper()
	if testing.Short() {
		t.Skip("live Patroni check skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("live Patroni check needs root (it runs Patroni as the dbsu)")
	}
	pythonPath = vendoredPatroni(t)
	dbsu = testkit.PostgresCredential(t)
	for _, port := range []int{livePgPort, livePatroniPort} {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Skipf("live Patroni check: port %d is taken: %v", port, err)
		}
		l.Close()
	}
	return pythonPath, dbsu
}

// vendoredPatroni is the PYTHONPATH of the vendored Patroni; it skips the
// test when that or PostgreSQL 15 is not installed.
func vendoredPatroni(t *testing.T) string {
	t.Helper()
	var pythonPath string
	dirs, _ := filepath.Glob("/usr/lib/pigsty/patroni/*/usr/lib/python3/dist-packages")
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "patroni", "__main__.py")); err == nil {
			pythonPath = d
		}
	}
	if pythonPath == "" {
		t.Skip("no vendored Patroni under /usr/lib/pigsty/patroni")
	}
	for _, f := range []string{livePython, filepath.Join(liveBinDir, "postgres")} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("needs %v", err)
		}
	}
	return pythonPath
}

func TestLivePatroni(t *testing.T) {
	pythonPath, dbsu := liveEnv(t)
	uid, gid := int(dbsu.Uid), int(dbsu.Gid)

	// Not t.TempDir: the dbsu must be able to walk into it.
	root, err := os.MkdirTemp("", "pigsty-patroni-live-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}

	inv, err := inventory.Parse("live.yml", []byte(fmt.Sprintf(liveInventory, livePgPort, livePatroniPort)), nil)
	if err != nil {
		t.Fatal(err)
	}
	inst := inv.Cluster("pg-live").Instances[0]
	l := layout.New(root, inst)

	// The tree Pigsty's node role would have made, owned by the dbsu.
	for _, d := range []string{l.PG(), l.Conf(), l.Cert(), l.PatroniLog(), l.PostgresLog(), l.Socket()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for d := l.PG(); ; d = filepath.Dir(d) {
		if d == root {
			break
		}
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{l.Conf(), l.Cert(), l.Log(), l.PatroniLog(), l.PostgresLog(), l.Socket(), filepath.Dir(l.Socket())} {
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	writeCerts(t, l, inst, uid, gid)

	srv := startEtcd(t, filepath.Join(root, "etcd"))

	spec := tune.Spec{CPU: 2, MemMB: 1024, DiskBytes: 20 << 30}
	tuning, err := inst.Params.Tune(spec, pkgmap.OS{Family: "deb", ID: "debian", Major: 12})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := inst.Params.Plan()
	if err != nil {
		t.Fatal(err)
	}
	traits, err := inst.Params.Traits()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := patroni.Render(patroni.Input{
		Instance: inst, Layout: l, Tuning: tuning, Plan: plan, Traits: traits, Spec: spec, BinDir: liveBinDir,
		Etcd: patroni.Etcd{Hosts: []string{srv}, Protocol: "http"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := writeOwned(l.PatroniConfig(), cfg, 0o600, uid, gid); err != nil {
		t.Fatal(err)
	}

	p := startPatroni(t, pythonPath, l, uid, gid)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	api := patroni.NewClient(net.JoinHostPort(inst.IP, strconv.Itoa(livePatroniPort)), inst.Params.PatroniUsername, inst.Params.PatroniPassword, nil)
	began := time.Now()
	st := waitLeader(ctx, t, api, p)
	t.Logf("primary running after %s: Patroni %s, PostgreSQL %d, timeline %d", time.Since(began).Round(100*time.Millisecond), st.Patroni.Version, st.ServerVersion, st.Timeline)

	// The initdb pitfalls: a clean environment must still give UTF8, and
	// checksums are on; the socket is the layout's.
	for query, want := range map[string]string{
		"SELECT 1":                         "1",
		"SHOW server_encoding":             "UTF8",
		"SHOW data_checksums":              "on",
		"SHOW unix_socket_directories":     l.Socket(),
		"SHOW ssl_cert_file":               filepath.Join(l.Cert(), "server.crt"),
		"SELECT pg_is_in_recovery()::text": "false",
	} {
		if got := psql(t, l, uid, gid, query); got != want {
			t.Errorf("%s = %q, want %q", query, got, want)
		}
	}

	cl, err := api.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lead := cl.Leader(); len(cl.Members) != 1 || lead == nil || lead.Name != inst.Name || lead.Role != patroni.MemberLeader {
		t.Errorf("cluster = %+v", cl)
	}
	for path, want := range map[string]int{"/primary": 200, "/replica": 503, "/health": 200} {
		if got, err := api.Check(ctx, path); err != nil || got != want {
			t.Errorf("OPTIONS %s = %d, %v; want %d", path, got, err, want)
		}
	}
	// Unsafe calls pass basic auth and the allowlist. The member itself
	// must have seen the resume before it is stopped: a Patroni that
	// believes the cluster paused leaves postgres running on SIGTERM.
	if err := api.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	waitPause(ctx, t, api, true)
	if err := api.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	waitPause(ctx, t, api, false)
	if err := api.Reload(ctx); err != nil {
		t.Error(err)
	}
	if err := patroni.NewClient(net.JoinHostPort(inst.IP, strconv.Itoa(livePatroniPort)), "postgres", "wrong", nil).Reload(ctx); err == nil {
		t.Error("reload with a wrong password was accepted")
	}
	if c, err := api.Config(ctx); err != nil || c["ttl"] != float64(plan.TTL) {
		t.Errorf("config ttl = %v, %v; want %d", c["ttl"], err, plan.TTL)
	}

	postmaster := postmasterPID(t, l)
	began = time.Now()
	p.stop(t, 90*time.Second)
	if err := waitGone(postmaster, l.Data(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("Patroni and the postmaster (pid %d) gone %s after SIGTERM", postmaster, time.Since(began).Round(100*time.Millisecond))
}

func writeOwned(path string, data []byte, mode os.FileMode, uid, gid int) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return os.Chown(path, uid, gid)
}

// writeCerts issues the instance certificate the template's ssl = on needs.
func writeCerts(t *testing.T, l layout.Layout, inst *inventory.Instance, uid, gid int) {
	t.Helper()
	ca, err := pki.LoadOrCreate(filepath.Join(l.Root, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	names, ips := pki.InstanceNames(inst.Cluster, inst.Name, inst.IP)
	crt, err := ca.Issue(inst.Name, names, ips)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]struct {
		data []byte
		mode os.FileMode
	}{"ca.crt": {ca.PEM, 0o644}, "server.crt": {crt.Cert, 0o644}, "server.key": {crt.Key, 0o600}} {
		if err := writeOwned(filepath.Join(l.Cert(), name), f.data, f.mode, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// startEtcd runs a one-member etcd on loopback for the test and returns
// its client address.
func startEtcd(t *testing.T, dir string) string {
	t.Helper()
	client, peer := freeAddr(t), freeAddr(t)
	cfg := etcd.Config{
		Name: "etcd-1", DataDir: dir, Token: "pg-live", ClusterState: "new",
		ClientURLs: []string{"http://" + client}, PeerURLs: []string{"http://" + peer},
		InitialCluster: "etcd-1=http://" + peer,
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := etcd.Start(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(10 * time.Second); err != nil {
			t.Error(err)
		}
	})
	return client
}

// freeAddr is a loopback host:port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(testkit.FreePort(t)))
}

// patroniProc is the Patroni child and the file its output goes to.
type patroniProc struct {
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	output string
}

// startPatroni runs Patroni as the dbsu the way the agent does: absolute
// paths, a clean environment, its own session. Cleanup stops it and the
// postmaster it leaves behind, also when the test fails.
func startPatroni(t *testing.T, pythonPath string, l layout.Layout, uid, gid int) *patroniProc {
	t.Helper()
	cmd := exec.Command(livePython, "-m", "patroni", l.PatroniConfig())
	cmd.Dir = l.PG()
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PYTHONPATH=" + pythonPath, "HOME=" + l.PG()}
	// A file, not a pipe: the postmaster inherits Patroni's stdout and
	// would hold a pipe open, and Wait with it, long after Patroni exits.
	output := filepath.Join(l.Root, "patroni.out")
	out, err := os.Create(output)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}},
		Setsid:     true,
		Pdeathsig:  syscall.SIGTERM,
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &patroniProc{cmd: cmd, done: make(chan struct{}), output: output}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t, 60*time.Second)
		if pid, err := readPostmasterPID(l); err == nil {
			if err := waitGone(pid, l.Data(), 0); err != nil {
				t.Logf("postmaster %d outlived Patroni; stopping it", pid)
				syscall.Kill(pid, syscall.SIGQUIT)
				if err := waitGone(pid, l.Data(), 10*time.Second); err != nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		if t.Failed() {
			if data, err := os.ReadFile(p.output); err == nil {
				t.Logf("patroni output:\n%s", data)
			}
			if data, err := os.ReadFile(filepath.Join(l.PatroniLog(), "patroni.log")); err == nil {
				t.Logf("patroni.log:\n%s", data)
			}
		}
	})
	return p
}

// stop sends SIGTERM (Patroni then stops postgres) and SIGKILL after grace.
func (p *patroniProc) stop(t *testing.T, grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		t.Errorf("Patroni did not stop within %s of SIGTERM; killing it", grace)
		p.cmd.Process.Kill()
		<-p.done
	}
}

func waitLeader(ctx context.Context, t *testing.T, api *patroni.Client, p *patroniProc) patroni.Status {
	t.Helper()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		// A bootstrapping primary already says primary and running while
		// post_bootstrap runs; the leader key in the DCS comes after it.
		st, err := api.Patroni(ctx)
		if err == nil && st.Role == patroni.RolePrimary && st.Running() && !st.ClusterUnlocked {
			return st
		}
		last = err
		if err == nil {
			last = fmt.Errorf("role %q state %q cluster unlocked %v", st.Role, st.State, st.ClusterUnlocked)
		}
		select {
		case <-p.done:
			t.Fatalf("Patroni exited: %v", p.err)
		case <-ctx.Done():
			t.Fatalf("no running primary: %v", last)
		case <-tick.C:
		}
	}
}

// waitPause waits until the member's own status shows the pause state.
func waitPause(ctx context.Context, t *testing.T, api *patroni.Client, paused bool) {
	t.Helper()
	began := time.Now()
	for {
		st, err := api.Patroni(ctx)
		if err == nil && st.Pause == paused {
			t.Logf("pause %v seen by the member after %s", paused, time.Since(began).Round(10*time.Millisecond))
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the member never showed pause %v: %v", paused, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// psql runs a query as the dbsu over the layout's socket.
func psql(t *testing.T, l layout.Layout, uid, gid int, query string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(liveBinDir, "psql"), "-X", "-At", "-h", l.Socket(), "-p", strconv.Itoa(livePgPort), "-U", "postgres", "-d", "postgres", "-c", query)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PGCONNECT_TIMEOUT=5"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v: %s", query, err, out)
	}
	return strings.TrimSpace(string(out))
}

func readPostmasterPID(l layout.Layout) (int, error) {
	data, err := os.ReadFile(filepath.Join(l.Data(), "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(data), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

func postmasterPID(t *testing.T, l layout.Layout) int {
	t.Helper()
	pid, err := readPostmasterPID(l)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// waitGone waits until pid is no longer the postmaster of dataDir. The
// postmaster was reparented away from us, so it may linger as a zombie of
// whoever adopted it: that counts as gone.
func waitGone(pid int, dataDir string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if !isPostmasterOf(pid, dataDir) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postmaster %d of %s still runs", pid, dataDir)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func isPostmasterOf(pid int, dataDir string) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, os.ErrNotExist) || err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmdline, []byte(dataDir))
}
