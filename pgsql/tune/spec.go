// Package tune turns a node's size and a handful of Pigsty parameters
// (pg_conf, pg_max_conn, pg_shared_buffer_ratio, pg_rto, …) into the
// PostgreSQL settings and HA timings Pigsty's Patroni templates write.
//
// It is pure arithmetic: no files, processes or network. The node/facts
// package measures the host; the Patroni renderer consumes the results.
package tune

import (
	"fmt"
	"math"
)

const (
	mib = 1 << 20
	gib = 1 << 30

	// Pigsty sizes WAL and temp space for an unknown disk as if it were 40 GiB.
	fallbackDiskBytes = 40 * gib
)

// Spec is what the formulas read from the host.
type Spec struct {
	CPU       int   // processor count
	MemMB     int   // physical memory in MiB, rounded up
	DiskBytes int64 // size of the filesystem holding pg_fs_main; 0 means unknown (40 GiB is assumed)
}

// Tag is Patroni's informational "spec" tag, "<cpu>C.<mem>G.<disk>G".
// Memory and disk are GiB rounded up and at least 1, as Pigsty's node_mem_gb
// and its disk figure are: 24 105.6 MiB of RAM shows as 24G.
func (s Spec) Tag() string {
	return fmt.Sprintf("%dC.%dG.%dG", s.CPU, s.memGB(), s.diskGB())
}

func (s Spec) memGB() int {
	return max(int(math.Ceil(float64(s.MemMB)/1024)), 1)
}

func (s Spec) diskGB() int {
	return max(int(math.Ceil(float64(s.disk())/gib)), 1)
}

func (s Spec) disk() int64 {
	if s.DiskBytes == 0 {
		return fallbackDiskBytes
	}
	return s.DiskBytes
}

// twentieth is Pigsty's pg_size_twentieth: the disk in units of 20 GiB,
// rounded up and held within 1..100. WAL and temp limits are multiples of it.
func (s Spec) twentieth() int {
	t := int(math.Ceil(float64(s.disk()) / (20 * gib)))
	return min(max(t, 1), 100)
}

func (s Spec) validate() error {
	switch {
	case s.CPU < 1:
		return fmt.Errorf("spec: cpu count %d: need at least 1", s.CPU)
	case s.MemMB < 1:
		return fmt.Errorf("spec: memory %d MiB: need at least 1", s.MemMB)
	case s.DiskBytes < 0:
		return fmt.Errorf("spec: disk size %d bytes: must not be negative (0 means unknown)", s.DiskBytes)
	}
	return nil
}
