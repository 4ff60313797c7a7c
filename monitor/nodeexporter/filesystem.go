package nodeexporter

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"pigsty/monitor/promtext"
)

// node_exporter's defaults: pseudo filesystems and the mount points of
// the kernel and container runtimes are not filesystems anyone fills.
var (
	ignoredFSTypes     = regexp.MustCompile(`^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$`)
	ignoredMountPoints = regexp.MustCompile(`^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`)
)

type mount struct {
	device, point, fstype string
	readonly              bool
}

type usage struct {
	st  unix.Statfs_t
	err error
}

// filesystem is the size, free space and inodes of every mounted
// filesystem. statfs runs for all of them at once; one that has not
// answered within MountTimeout is a device error for this scrape, and is
// not asked again until its call returns, so a dead NFS server costs no
// more than a stuck goroutine.
func (e *Exporter) filesystem(ctx context.Context, set *promtext.Set) error {
	data, err := e.read("mounts")
	if err != nil {
		return err
	}
	var mounts []mount
	seen := map[string]bool{}
	for _, line := range lines(data) {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		m := mount{device: unescape(f[0]), point: unescape(f[1]), fstype: f[2]}
		if ignoredFSTypes.MatchString(m.fstype) || ignoredMountPoints.MatchString(m.point) || seen[m.point] {
			continue
		}
		seen[m.point] = true
		for _, o := range strings.Split(f[3], ",") {
			if o == "ro" {
				m.readonly = true
			}
		}
		mounts = append(mounts, m)
	}

	results := make([]chan usage, len(mounts))
	e.mu.Lock()
	for i, m := range mounts {
		if e.stuck[m.point] {
			continue
		}
		e.stuck[m.point] = true
		results[i] = make(chan usage, 1)
		go func(point string, out chan<- usage) {
			var u usage
			u.err = e.opt.Statfs(point, &u.st)
			out <- u
			e.mu.Lock()
			delete(e.stuck, point)
			e.mu.Unlock()
		}(m.point, results[i])
	}
	e.mu.Unlock()

	deadline := time.NewTimer(e.opt.MountTimeout)
	defer deadline.Stop()
	expired := false
	for i, m := range mounts {
		ls := []promtext.Label{label("device", m.device), label("fstype", m.fstype), label("mountpoint", m.point)}
		var u usage
		switch {
		case results[i] == nil:
			u.err = errStillStuck
		case expired:
			select {
			case u = <-results[i]:
			default:
				u.err = errStillStuck
			}
		default:
			select {
			case u = <-results[i]:
			case <-deadline.C:
				expired = true
				select {
				case u = <-results[i]:
				default:
					u.err = errStillStuck
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if u.err != nil {
			e.log.Debug("statfs failed", "mountpoint", m.point, "err", u.err)
		}
		set.Add("node_filesystem_device_error", "Whether an error occurred while getting statistics for the given device.",
			promtext.Gauge, b2f(u.err != nil), ls...)
		if u.err != nil {
			continue
		}
		bs := float64(u.st.Bsize)
		set.Add("node_filesystem_size_bytes", "Filesystem size in bytes.", promtext.Gauge, float64(u.st.Blocks)*bs, ls...)
		set.Add("node_filesystem_free_bytes", "Filesystem free space in bytes.", promtext.Gauge, float64(u.st.Bfree)*bs, ls...)
		set.Add("node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.", promtext.Gauge, float64(u.st.Bavail)*bs, ls...)
		set.Add("node_filesystem_files", "Filesystem total file nodes.", promtext.Gauge, float64(u.st.Files), ls...)
		set.Add("node_filesystem_files_free", "Filesystem total free file nodes.", promtext.Gauge, float64(u.st.Ffree), ls...)
		set.Add("node_filesystem_readonly", "Filesystem read-only status.", promtext.Gauge, b2f(m.readonly), ls...)
	}
	return nil
}

type stuckError struct{}

func (stuckError) Error() string { return "statfs did not return in time" }

var errStillStuck = stuckError{}

// unescape decodes the octal escapes of /proc/mounts (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
