package install

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pigsty/assets"
)

// TestPatroniShim runs the installed Patroni through pigsty's shim: etcd
// 3.6's error shapes reach Patroni as the errors they are (so it
// authenticates again), the lease keepalive authenticates again like the
// other calls, the HA loop's thread pool is the shim's, and Patroni's own
// entry point still runs.
func TestPatroniShim(t *testing.T) {
	p, err := FindPatroni()
	if err != nil {
		t.Skipf("no Patroni installed: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, assets.PatroniShimModule+".py"), assets.PatroniShim, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(argv ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		path, _, env := p.CommandVia(dir, assets.PatroniShimModule)
		cmd := exec.CommandContext(ctx, path, append([]string{"-s"}, argv...)...)
		cmd.Env, cmd.Dir = env, dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", argv, err, out)
		}
		return string(out)
	}
	const check = `
import patroni_pigsty
from patroni.dcs import etcd3
patroni_pigsty.patch()
patroni_pigsty.patch()  # twice is once
cases = [
    ({'code': 3, 'message': 'etcdserver: revision of auth store is old'}, etcd3.AuthOldRevision),
    ({'error': {'code': 16, 'message': 'etcdserver: invalid auth token'}}, etcd3.InvalidAuthToken),
    ({'code': 9, 'message': 'etcdserver: authentication is not enabled'}, etcd3.AuthNotEnabled),
    ({'code': 3, 'message': 'etcdserver: user name is empty'}, etcd3.UserEmpty),
    ({'error': 'etcdserver: user name is empty', 'code': 3}, etcd3.UserEmpty),
    ({'error': {'grpc_code': 14, 'http_code': 503, 'message': 'etcdserver: request timed out'}}, etcd3.Unavailable),
]
for data, want in cases:
    got = type(etcd3._raise_for_data(data, 400))
    assert got is want, (data, got, want)
assert etcd3.Etcd3Client.lease_keepalive._pigsty
from patroni import ha
assert ha.ThreadPool is patroni_pigsty.ThreadPool
pool = ha.ThreadPool(3)
assert pool.map(lambda x: x * 2, [1, 2, 3]) == [2, 4, 6]
pool.close()
pool.join()
print('ok')
`
	if out := run("-c", check); strings.TrimSpace(out) != "ok" {
		t.Fatalf("shim check: %s", out)
	}
	if out := run("-m", assets.PatroniShimModule, "--version"); !strings.Contains(out, p.Version) {
		t.Fatalf("patroni through the shim: %q, want version %s", out, p.Version)
	}
}
