package facts

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pigsty/pgsql/pkgmap"
	"pigsty/pgsql/tune"
)

// fixture reads /proc and /etc from testdata/<name>, measures the
// filesystems listed in sizes (keyed by path inside the fixture) and
// answers interface lookups from addrs.
func fixture(t *testing.T, name, machine string, sizes map[string]int64, addrs map[string]string) host {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return host{
		root: root,
		statfs: func(p string) (int64, error) {
			if s, ok := sizes[strings.TrimPrefix(p, root)]; ok {
				return s, nil
			}
			if p == root {
				if s, ok := sizes["/"]; ok {
					return s, nil
				}
			}
			return 0, errors.New("no such filesystem")
		},
		ifaceIP: func(iface string) (string, error) {
			if ip, ok := addrs[iface]; ok {
				return ip, nil
			}
			return "", errors.New("no such interface")
		},
		machine: func() (string, error) { return machine, nil },
	}
}

func TestDetectDebian(t *testing.T) {
	h := fixture(t, "deb12", "x86_64",
		map[string]int64{"/data": 252 << 30},
		map[string]string{"eth0": "192.0.2.10", "wlan0": "192.168.1.7"})
	f, err := h.detect(context.Background(), "/data/postgres")
	if err != nil {
		t.Fatal(err)
	}
	want := Facts{
		CPU: 2, MemMB: 24106, DiskBytes: 252 << 30, DiskPath: "/data",
		PrimaryIP: "192.0.2.10", // eth0 has the lowest metric; eth1's default route is down
		OS:        pkgmap.OS{ID: "debian", Major: 12, Codename: "bookworm", Family: "deb", Arch: "x86_64"},
		Hostname:  "vm-pg-1",
	}
	if f != want {
		t.Errorf("got  %+v\nwant %+v", f, want)
	}
	if s := f.Spec(); s != (tune.Spec{CPU: 2, MemMB: 24106, DiskBytes: 252 << 30}) || s.Tag() != "2C.24G.252G" {
		t.Errorf("Spec() = %+v, tag %s", s, s.Tag())
	}
}

func TestDetectEL(t *testing.T) {
	h := fixture(t, "el9", "aarch64", nil, nil)
	f, err := h.detect(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	want := Facts{
		CPU: 4, MemMB: 8192, DiskBytes: 0, DiskPath: "/", // pg_fs_main defaults to /data/postgres; only / exists and cannot be measured
		PrimaryIP: "", // no default route
		OS:        pkgmap.OS{ID: "rocky", Major: 9, Family: "el", Arch: "aarch64"},
		Hostname:  "rocky-1",
	}
	if f != want {
		t.Errorf("got  %+v\nwant %+v", f, want)
	}
	if tag := f.Spec().Tag(); tag != "4C.8G.40G" {
		t.Errorf("unmeasured disk: tag %s, want the 40 GiB fallback", tag)
	}
}

func TestDiskNearestParent(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "data", "postgres"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int64{"/": 10 << 30, "/data": 100 << 30, "/data/postgres": 200 << 30}
	h := host{root: root, statfs: func(p string) (int64, error) {
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		return sizes[rel], nil
	}}
	for _, c := range []struct {
		fsMain, path string
		size         int64
	}{
		{"/data/postgres", "/data/postgres", 200 << 30},
		{"/data/postgres/", "/data/postgres", 200 << 30},
		{"/data/pg/main", "/data", 100 << 30},
		{"/srv/postgres", "/", 10 << 30},
		{"/file/below/a/file", "/", 10 << 30},
	} {
		path, size := h.disk(c.fsMain)
		if path != c.path || size != c.size {
			t.Errorf("disk(%q) = %s %d, want %s %d", c.fsMain, path, size, c.path, c.size)
		}
	}
}

func TestDetectErrors(t *testing.T) {
	write := func(t *testing.T, root, name, content string) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := map[string]string{
		"proc/cpuinfo":             "processor\t: 0\n",
		"proc/meminfo":             "MemTotal: 1024 kB\n",
		"proc/net/route":           "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n",
		"proc/sys/kernel/hostname": "h\n",
		"etc/os-release":           "ID=debian\nVERSION_ID=12\n",
	}
	for _, c := range []struct {
		file, content, want string
	}{
		{"proc/cpuinfo", "", "no processor lines"},
		{"proc/meminfo", "MemFree: 1 kB\n", "no MemTotal"},
		{"proc/meminfo", "MemTotal: lots kB\n", "unexpected MemTotal line"},
		{"etc/os-release", "NAME=Something\n", "unsupported distribution"},
		{"etc/os-release", "ID=debian\nVERSION_ID=twelve\n", `VERSION_ID "twelve"`},
		{"proc/net/route", "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\neth0\t00000000\t0\tzz\t0\t0\t0\t00000000\n", "bad /proc/net/route line"},
	} {
		root := t.TempDir()
		for name, content := range good {
			write(t, root, name, content)
		}
		write(t, root, c.file, c.content)
		h := host{root: root, statfs: statfsSize, machine: func() (string, error) { return "x86_64", nil }}
		_, err := h.detect(context.Background(), "")
		if err == nil || !strings.HasPrefix(err.Error(), "facts: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: error %v, want %q", c.file, c.content, err, c.want)
		}
	}

	h := host{root: t.TempDir()}
	if _, err := h.detect(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "cpu count") {
		t.Errorf("empty root: error %v, want a cpu count error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := realHost.detect(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error %v", err)
	}
}

// TestDetectThisHost only checks that the real readers agree with the
// kernel in broad terms; the figures differ per machine.
func TestDetectThisHost(t *testing.T) {
	f, err := Detect(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if f.CPU < 1 || f.MemMB < 1 || f.Hostname == "" || f.OS.ID == "" || f.OS.Arch == "" || f.DiskPath == "" {
		t.Errorf("implausible facts: %+v", f)
	}
	if f.DiskBytes <= 0 {
		t.Errorf("could not measure %s", f.DiskPath)
	}
	if f.PrimaryIP != "" && net.ParseIP(f.PrimaryIP).To4() == nil {
		t.Errorf("primary ip %q is not IPv4", f.PrimaryIP)
	}
	t.Logf("%+v tag %s", f, f.Spec().Tag())
}
