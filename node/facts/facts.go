// Package facts measures the host the way Pigsty's node_id role and
// pg_conf task do: processor count, memory, the size of the filesystem
// that will hold PostgreSQL, the primary address, the OS and the
// PostgreSQL majors its package sources offer.
package facts

import (
	"context"
	"fmt"
	"path/filepath"

	"pigsty/pgsql/pkgmap"
	"pigsty/pgsql/tune"
)

// DefaultFSMain is Pigsty's pg_fs_main.
const DefaultFSMain = "/data/postgres"

// Facts describe the host.
type Facts struct {
	CPU       int    // processor lines in /proc/cpuinfo
	MemMB     int    // MemTotal in MiB, rounded up
	DiskBytes int64  // size of the filesystem holding DiskPath; 0 if it could not be measured
	DiskPath  string // the directory measured: pg_fs_main or its nearest existing parent

	PrimaryIP string // IPv4 address of the default-route interface; "" if there is none
	OS        pkgmap.OS
	Hostname  string
}

// Spec is what the tuning formulas need.
func (f Facts) Spec() tune.Spec {
	return tune.Spec{CPU: f.CPU, MemMB: f.MemMB, DiskBytes: f.DiskBytes}
}

// host is where facts are read from. Tests point root at a fixture tree
// and replace the calls that need a real kernel.
type host struct {
	root    string                             // prefix for /proc, /etc and pg_fs_main; "" on a real host
	statfs  func(path string) (int64, error)   // filesystem size in bytes
	ifaceIP func(iface string) (string, error) // an IPv4 address of the interface, "" if none
	machine func() (string, error)             // uname machine: x86_64, aarch64
	run     func(context.Context, string, ...string) ([]byte, error)
}

var realHost = host{statfs: statfsSize, ifaceIP: interfaceIPv4, machine: unameMachine, run: runCommand}

// Detect measures this host. fsMain is pg_fs_main ("" = /data/postgres).
func Detect(ctx context.Context, fsMain string) (Facts, error) {
	return realHost.detect(ctx, fsMain)
}

func (h host) detect(ctx context.Context, fsMain string) (Facts, error) {
	if err := ctx.Err(); err != nil {
		return Facts{}, fmt.Errorf("facts: %w", err)
	}
	var f Facts
	var err error
	if f.CPU, err = h.cpuCount(); err != nil {
		return Facts{}, fmt.Errorf("facts: %w", err)
	}
	if f.MemMB, err = h.memMB(); err != nil {
		return Facts{}, fmt.Errorf("facts: %w", err)
	}
	if f.OS, err = h.os(); err != nil {
		return Facts{}, fmt.Errorf("facts: %w", err)
	}
	if f.Hostname, err = h.hostname(); err != nil {
		return Facts{}, fmt.Errorf("facts: %w", err)
	}
	if f.PrimaryIP, err = h.primaryIP(); err != nil {
		return Facts{}, fmt.Errorf("facts: %w", err)
	}
	if fsMain == "" {
		fsMain = DefaultFSMain
	}
	f.DiskPath, f.DiskBytes = h.disk(fsMain)
	return f, nil
}

func (h host) path(p string) string {
	return filepath.Join(h.root, p)
}
