package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"pigsty/infra/etcd"
)

const helperEnv = "PIGSTY_ETCD_TEST_CONFIG"

// TestHelperProcess is not a test: it is the child that
// TestMainInChildProcess starts by re-executing the test binary, the same
// way the agent re-executes itself as `pigsty run etcd`.
func TestHelperProcess(t *testing.T) {
	config := os.Getenv(helperEnv)
	if config == "" {
		t.Skip("helper process only")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := etcd.Main(ctx, config); err != nil {
		fmt.Fprintln(os.Stderr, "etcd main:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func TestMainInChildProcess(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, filepath.Join(dir, "data"))
	config := filepath.Join(dir, "etcd.yml")
	if err := etcd.WriteConfig(config, cfg); err != nil {
		t.Fatal(err)
	}

	var stderr strings.Builder
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+config)
	cmd.Stderr = &stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
		t.Logf("child stderr:\n%s", stderr.String())
	})

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		err := etcd.Healthy(ctx, cfg.ClientURLs[0], nil)
		if err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("child exited before it was healthy: %v", err)
		case <-ctx.Done():
			t.Fatalf("child not healthy: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Logf("child healthy %s after exec", time.Since(began).Round(time.Millisecond))

	cli := newClient(t, cfg)
	if _, err := cli.Put(ctx, "/pigsty/child", "ok"); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, "/pigsty/child")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get = %v, %v", resp, err)
	}

	// The client keeps a watch open, as agents and Patroni do.
	cli.Watch(ctx, "/pg/", clientv3.WithPrefix())
	stopped := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("child exited %d", ee.ExitCode())
			}
			t.Fatal(err)
		}
	case <-time.After(etcd.CloseTimeout + 5*time.Second):
		t.Fatal("child did not stop on SIGTERM")
	}
	t.Logf("child stopped %s after SIGTERM", time.Since(stopped).Round(time.Millisecond))
	if err := etcd.Healthy(ctx, cfg.ClientURLs[0], nil); err == nil {
		t.Error("still healthy after the child exited")
	}
}
