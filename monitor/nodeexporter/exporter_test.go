package nodeexporter

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"pigsty/internal/testkit"
)

// camelCase names node_exporter has always had, which Pigsty's rules use
// (node_memory_MemAvailable_bytes, node_netstat_Tcp_RetransSegs)
var keptNames = map[string]string{
	`^node_(memory|netstat)_\w+ metric names should be written in 'snake_case' not 'camelCase'$`: "node_exporter's names",
}

// fixture is an exporter over testdata/proc with system calls that
// answer the same every time, except statfs of an NFS mount that hangs
// until the test ends.
func fixture(t *testing.T) (*Exporter, *atomic.Int32) {
	t.Helper()
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	nfsCalls := &atomic.Int32{}
	sizes := map[string]unix.Statfs_t{
		"/":          {Bsize: 4096, Blocks: 1000000, Bfree: 400000, Bavail: 350000, Files: 65536, Ffree: 60000},
		"/run/netns": {Bsize: 4096, Blocks: 1000000, Bfree: 400000, Bavail: 350000, Files: 65536, Ffree: 60000},
		"/data disk": {Bsize: 4096, Blocks: 2000000, Bfree: 2000000, Bavail: 2000000, Files: 1000, Ffree: 999},
		"/run":       {Bsize: 4096, Blocks: 1024, Bfree: 1000, Bavail: 1000, Files: 100, Ffree: 90},
	}
	e := New(Options{
		Proc: "testdata/proc",
		Statfs: func(path string, st *unix.Statfs_t) error {
			if path == "/mnt/nfs" {
				nfsCalls.Add(1)
				<-hang
				return unix.EIO
			}
			s, ok := sizes[path]
			if !ok {
				return unix.ENOENT
			}
			*st = s
			return nil
		},
		Timex: func(tx *unix.Timex) (int, error) {
			*tx = unix.Timex{Offset: -1500, Freq: 655360, Maxerror: 16000, Esterror: 500, Status: unix.STA_PLL, Constant: 7, Tick: 10000, Tai: 37}
			return 0, nil
		},
		Uname: func(u *unix.Utsname) error {
			copy(u.Sysname[:], "Linux")
			copy(u.Nodename[:], "pg-meta-1")
			copy(u.Release[:], "6.1.0-13-amd64")
			copy(u.Version[:], "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1")
			copy(u.Machine[:], "x86_64")
			copy(u.Domainname[:], "(none)")
			return nil
		},
		Now:          func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CST", 8*3600)) },
		MountTimeout: 100 * time.Millisecond,
		Version:      "test",
	})
	return e, nfsCalls
}

// stable drops what differs from run to run: collector durations and the
// Go version.
func stable(text string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "node_scrape_collector_duration_seconds{") {
			continue
		}
		out = append(out, regexp.MustCompile(`goversion="[^"]*"`).ReplaceAllString(line, `goversion="go"`))
	}
	return strings.Join(out, "\n")
}

// TestFixture scrapes a fixture of /proc and compares the whole output
// with the golden file, hand-checked against node_exporter's names,
// labels and units; promtool reads it.
func TestFixture(t *testing.T) {
	e, nfsCalls := fixture(t)
	start := time.Now()
	var b bytes.Buffer
	e.Scrape(context.Background()).WriteTo(&b)
	if took := time.Since(start); took > time.Second {
		t.Errorf("a scrape with a hung NFS mount took %v", took)
	}
	testkit.Golden(t, "node", []byte(stable(b.String())))
	if problems := testkit.Promtool(t, b.String(), keptNames); len(problems) > 0 {
		t.Errorf("promtool check metrics:\n%s", strings.Join(problems, "\n"))
	}

	// the hung statfs is not asked again while it hangs
	b.Reset()
	e.Scrape(context.Background()).WriteTo(&b)
	m, err := testkit.ParseMetrics(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if n := nfsCalls.Load(); n != 1 {
		t.Errorf("statfs of the hung mount called %d times, want once", n)
	}
	nfs := map[string]string{"mountpoint": "/mnt/nfs", "fstype": "nfs4", "device": "nfs.example:/export"}
	if m.One(t, "node_filesystem_device_error", nfs) != 1 || len(m.Find("node_filesystem_size_bytes", nfs)) != 0 {
		t.Error("the hung NFS mount is not a device error")
	}
	if got := m.One(t, "node_filesystem_avail_bytes", map[string]string{"mountpoint": "/data disk", "fstype": "xfs"}); got != 2000000*4096 {
		t.Errorf("avail of /data disk: %v", got)
	}
	if got := m.One(t, "node_filesystem_readonly", map[string]string{"mountpoint": "/data disk"}); got != 1 {
		t.Errorf("/data disk is mounted ro: readonly %v", got)
	}
}

// TestMissingFiles: a collector whose file is missing fails alone.
func TestMissingFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "loadavg"), []byte("0.50 0.25 0.10 1/100 42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := New(Options{Proc: dir})
	var b bytes.Buffer
	e.Scrape(context.Background()).WriteTo(&b)
	m, err := testkit.ParseMetrics(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if got := m.One(t, "node_load5", nil); got != 0.25 {
		t.Errorf("node_load5 %v", got)
	}
	for collector, ok := range map[string]float64{"loadavg": 1, "time": 1, "meminfo": 0, "netdev": 0, "filesystem": 0} {
		if got := m.One(t, "node_scrape_collector_success", map[string]string{"collector": collector}); got != ok {
			t.Errorf("%s: success %v, want %v", collector, got, ok)
		}
	}
}

// TestHost scrapes this host: what Pigsty's rules read is there.
func TestHost(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc")
	}
	var b bytes.Buffer
	New(Options{}).Scrape(context.Background()).WriteTo(&b)
	m, err := testkit.ParseMetrics(b.String())
	if err != nil {
		t.Fatal(err)
	}
	names := m.Names()
	for _, name := range []string{"node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
		"node_load1", "node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_network_receive_bytes_total",
		"node_netstat_Tcp_RetransSegs", "node_time_seconds", "node_timex_sync_status", "node_filefd_allocated",
		"node_uname_info", "process_resident_memory_bytes"} {
		if names[name] == 0 {
			t.Errorf("no %s", name)
		}
	}
	for _, s := range m.Find("node_scrape_collector_success", nil) {
		if s.Value != 1 {
			t.Errorf("collector %s failed on this host", s.Labels["collector"])
		}
	}
	if problems := testkit.Promtool(t, b.String(), keptNames); len(problems) > 0 {
		t.Errorf("promtool check metrics:\n%s", strings.Join(problems, "\n"))
	}
}
