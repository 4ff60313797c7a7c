package nodeexporter

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"pigsty/monitor/promtext"
)

// userHZ is the unit of the CPU times in /proc/stat: USER_HZ, 100 on
// every architecture Linux has, as node_exporter assumes.
const userHZ = 100

// sectorSize is the unit of /proc/diskstats, whatever the device's.
const sectorSize = 512

func (e *Exporter) path(p ...string) string {
	return filepath.Join(append([]string{e.opt.Proc}, p...)...)
}

func (e *Exporter) read(p ...string) ([]byte, error) { return os.ReadFile(e.path(p...)) }

func lines(data []byte) []string { return strings.Split(strings.TrimRight(string(data), "\n"), "\n") }

func parse(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

func label(name, value string) promtext.Label { return promtext.Label{Name: name, Value: value} }

var cpuModes = []string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"}

// cpu is node_cpu_seconds_total per CPU and mode, and the guest time.
func (e *Exporter) cpu(_ context.Context, set *promtext.Set) error {
	data, err := e.read("stat")
	if err != nil {
		return err
	}
	const help = "Seconds the CPUs spent in each mode."
	for _, line := range lines(data) {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		cpu := label("cpu", strings.TrimPrefix(f[0], "cpu"))
		for i, v := range f[1:] {
			t, err := parse(v)
			if err != nil {
				return fmt.Errorf("stat: %s: %w", f[0], err)
			}
			switch {
			case i < len(cpuModes):
				set.Add("node_cpu_seconds_total", help, promtext.Counter, t/userHZ, cpu, label("mode", cpuModes[i]))
			case i == len(cpuModes):
				set.Add("node_cpu_guest_seconds_total", "Seconds the CPUs spent in guests (VMs) for each mode.", promtext.Counter,
					t/userHZ, cpu, label("mode", "user"))
			case i == len(cpuModes)+1:
				set.Add("node_cpu_guest_seconds_total", "Seconds the CPUs spent in guests (VMs) for each mode.", promtext.Counter,
					t/userHZ, cpu, label("mode", "nice"))
			}
		}
	}
	return nil
}

// stat is the kernel's counters of /proc/stat besides the CPU times.
func (e *Exporter) stat(_ context.Context, set *promtext.Set) error {
	data, err := e.read("stat")
	if err != nil {
		return err
	}
	for _, line := range lines(data) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := parse(f[1])
		if err != nil {
			continue
		}
		switch f[0] {
		case "btime":
			set.Add("node_boot_time_seconds", "Node boot time, in unixtime.", promtext.Gauge, v)
		case "ctxt":
			set.Add("node_context_switches_total", "Total number of context switches.", promtext.Counter, v)
		case "processes":
			set.Add("node_forks_total", "Total number of forks.", promtext.Counter, v)
		case "intr":
			set.Add("node_intr_total", "Total number of interrupts serviced.", promtext.Counter, v)
		case "procs_running":
			set.Add("node_procs_running", "Number of processes in runnable state.", promtext.Gauge, v)
		case "procs_blocked":
			set.Add("node_procs_blocked", "Number of processes blocked waiting for I/O to complete.", promtext.Gauge, v)
		}
	}
	return nil
}

func (e *Exporter) loadavg(_ context.Context, set *promtext.Set) error {
	data, err := e.read("loadavg")
	if err != nil {
		return err
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return fmt.Errorf("loadavg: %q", data)
	}
	for i, name := range []string{"node_load1", "node_load5", "node_load15"} {
		v, err := parse(f[i])
		if err != nil {
			return fmt.Errorf("loadavg: %w", err)
		}
		set.Add(name, fmt.Sprintf("%s load average.", strings.TrimPrefix(name, "node_load")+"m"), promtext.Gauge, v)
	}
	return nil
}

// meminfo is /proc/meminfo as node_memory_<Field>_bytes; counts without a
// unit (HugePages_Total) keep their plain name, as node_exporter's.
func (e *Exporter) meminfo(_ context.Context, set *promtext.Set) error {
	data, err := e.read("meminfo")
	if err != nil {
		return err
	}
	for _, line := range lines(data) {
		key, rest, ok := strings.Cut(line, ":")
		f := strings.Fields(rest)
		if !ok || len(f) == 0 {
			continue
		}
		v, err := parse(f[0])
		if err != nil {
			return fmt.Errorf("meminfo: %s: %w", key, err)
		}
		key = strings.NewReplacer("(", "_", ")", "").Replace(key)
		name := "node_memory_" + key
		if len(f) == 2 && f[1] == "kB" {
			v *= 1024
			name += "_bytes"
		}
		set.Add(name, "Memory information field "+key+".", promtext.Gauge, v)
	}
	return nil
}

// vmstatFields are the fields of /proc/vmstat node_exporter exports by
// default.
var vmstatFields = regexp.MustCompile(`^(oom_kill|pgpg|pswp|pg.*fault).*`)

func (e *Exporter) vmstat(_ context.Context, set *promtext.Set) error {
	data, err := e.read("vmstat")
	if err != nil {
		return err
	}
	for _, line := range lines(data) {
		f := strings.Fields(line)
		if len(f) != 2 || !vmstatFields.MatchString(f[0]) {
			continue
		}
		v, err := parse(f[1])
		if err != nil {
			return fmt.Errorf("vmstat: %s: %w", f[0], err)
		}
		set.Add("node_vmstat_"+f[0], "/proc/vmstat information field "+f[0]+".", promtext.Untyped, v)
	}
	return nil
}

func (e *Exporter) filefd(_ context.Context, set *promtext.Set) error {
	data, err := e.read("sys/fs/file-nr")
	if err != nil {
		return err
	}
	f := strings.Fields(string(data))
	if len(f) != 3 {
		return fmt.Errorf("file-nr: %q", data)
	}
	allocated, err1 := parse(f[0])
	maximum, err2 := parse(f[2])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("file-nr: %q", data)
	}
	set.Add("node_filefd_allocated", "File descriptor statistics: allocated.", promtext.Gauge, allocated)
	set.Add("node_filefd_maximum", "File descriptor statistics: maximum.", promtext.Gauge, maximum)
	return nil
}

// ignoredDisks are partitions and virtual devices, node_exporter's
// default: their I/O is already in the whole disk's.
var ignoredDisks = regexp.MustCompile(`^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`)

// diskstat is one column of /proc/diskstats (counted from the fourth).
type diskstat struct {
	name, help string
	kind       promtext.Kind
	scale      float64
}

var diskstats = []diskstat{
	{"node_disk_reads_completed_total", "The total number of reads completed successfully.", promtext.Counter, 1},
	{"node_disk_reads_merged_total", "The total number of reads merged.", promtext.Counter, 1},
	{"node_disk_read_bytes_total", "The total number of bytes read successfully.", promtext.Counter, sectorSize},
	{"node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.", promtext.Counter, 0.001},
	{"node_disk_writes_completed_total", "The total number of writes completed successfully.", promtext.Counter, 1},
	{"node_disk_writes_merged_total", "The number of writes merged.", promtext.Counter, 1},
	{"node_disk_written_bytes_total", "The total number of bytes written successfully.", promtext.Counter, sectorSize},
	{"node_disk_write_time_seconds_total", "This is the total number of seconds spent by all writes.", promtext.Counter, 0.001},
	{"node_disk_io_now", "The number of I/Os currently in progress.", promtext.Gauge, 1},
	{"node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", promtext.Counter, 0.001},
	{"node_disk_io_time_weighted_seconds_total", "The weighted number of seconds spent doing I/Os.", promtext.Counter, 0.001},
	{"node_disk_discards_completed_total", "The total number of discards completed successfully.", promtext.Counter, 1},
	{"node_disk_discards_merged_total", "The total number of discards merged.", promtext.Counter, 1},
	{"node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.", promtext.Counter, 1},
	{"node_disk_discard_time_seconds_total", "This is the total number of seconds spent by all discards.", promtext.Counter, 0.001},
	{"node_disk_flush_requests_total", "The total number of flush requests completed successfully", promtext.Counter, 1},
	{"node_disk_flush_requests_time_seconds_total", "This is the total number of seconds spent by all flush requests.", promtext.Counter, 0.001},
}

// diskstats is the I/O of every whole disk; older kernels have fewer
// columns, and what they lack is left out.
func (e *Exporter) diskstats(_ context.Context, set *promtext.Set) error {
	data, err := e.read("diskstats")
	if err != nil {
		return err
	}
	for _, line := range lines(data) {
		f := strings.Fields(line)
		if len(f) < 14 || ignoredDisks.MatchString(f[2]) {
			continue
		}
		dev := label("device", f[2])
		set.Add("node_disk_info", "Info of /sys/block/<block_device>.", promtext.Gauge, 1, dev, label("major", f[0]), label("minor", f[1]))
		for i, col := range f[3:] {
			if i >= len(diskstats) {
				break
			}
			v, err := parse(col)
			if err != nil {
				return fmt.Errorf("diskstats: %s: %w", f[2], err)
			}
			d := diskstats[i]
			set.Add(d.name, d.help, d.kind, v*d.scale, dev)
		}
	}
	return nil
}

var (
	receiveColumns  = []string{"bytes", "packets", "errs", "drop", "fifo", "frame", "compressed", "multicast"}
	transmitColumns = []string{"bytes", "packets", "errs", "drop", "fifo", "colls", "carrier", "compressed"}
)

// netdev is /proc/net/dev of the exporter's network namespace.
func (e *Exporter) netdev(_ context.Context, set *promtext.Set) error {
	data, err := e.read("net", "dev")
	if err != nil {
		return err
	}
	for _, line := range lines(data) {
		name, rest, ok := strings.Cut(line, ":")
		f := strings.Fields(rest)
		if !ok || len(f) != len(receiveColumns)+len(transmitColumns) || strings.Contains(name, "|") {
			continue
		}
		dev := label("device", strings.TrimSpace(name))
		for i, v := range f {
			n, err := parse(v)
			if err != nil {
				return fmt.Errorf("net/dev: %s: %w", name, err)
			}
			dir, col := "receive", ""
			if i < len(receiveColumns) {
				col = receiveColumns[i]
			} else {
				dir, col = "transmit", transmitColumns[i-len(receiveColumns)]
			}
			set.Add("node_network_"+dir+"_"+col+"_total", fmt.Sprintf("Network device statistic %s_%s.", dir, col), promtext.Counter, n, dev)
		}
	}
	return nil
}

// netstatFields are the protocol counters node_exporter exports by
// default, Pigsty's TCP alerts among them.
var netstatFields = regexp.MustCompile(`^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$`)

// netstat is /proc/net/netstat, snmp and snmp6 as node_netstat_<Proto>_<Field>.
func (e *Exporter) netstat(_ context.Context, set *promtext.Set) error {
	add := func(key, value string) error {
		if !netstatFields.MatchString(key) {
			return nil
		}
		v, err := parse(value)
		if err != nil {
			return fmt.Errorf("netstat: %s: %w", key, err)
		}
		set.Add("node_netstat_"+key, "Statistic "+strings.ReplaceAll(key, "_", "")+".", promtext.Untyped, v)
		return nil
	}
	for _, file := range []string{"netstat", "snmp"} {
		data, err := e.read("net", file)
		if err != nil {
			return err
		}
		ls := lines(data)
		for i := 0; i+1 < len(ls); i += 2 {
			names, values := strings.Fields(ls[i]), strings.Fields(ls[i+1])
			if len(names) != len(values) || len(names) == 0 || names[0] != values[0] {
				return fmt.Errorf("net/%s: a header and its values do not match at line %d", file, i+1)
			}
			proto := strings.TrimSuffix(names[0], ":")
			for j := 1; j < len(names); j++ {
				if err := add(proto+"_"+names[j], values[j]); err != nil {
					return err
				}
			}
		}
	}
	data, err := e.read("net", "snmp6")
	if os.IsNotExist(err) {
		return nil // IPv6 disabled
	}
	if err != nil {
		return err
	}
	for _, line := range lines(data) {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		proto, field, ok := strings.Cut(f[0], "6")
		if !ok {
			continue
		}
		if err := add(proto+"6_"+field, f[1]); err != nil {
			return err
		}
	}
	return nil
}

// sockstat is /proc/net/sockstat and sockstat6: sockets in use per
// protocol, their memory in pages and in bytes.
func (e *Exporter) sockstat(_ context.Context, set *promtext.Set) error {
	pageSize := float64(os.Getpagesize())
	for _, file := range []string{"sockstat", "sockstat6"} {
		data, err := e.read("net", file)
		if os.IsNotExist(err) && file == "sockstat6" {
			continue
		}
		if err != nil {
			return err
		}
		for _, line := range lines(data) {
			proto, rest, ok := strings.Cut(line, ":")
			f := strings.Fields(rest)
			if !ok || len(f)%2 != 0 {
				continue
			}
			for i := 0; i < len(f); i += 2 {
				v, err := parse(f[i+1])
				if err != nil {
					return fmt.Errorf("%s: %s %s: %w", file, proto, f[i], err)
				}
				name := "node_sockstat_" + proto + "_" + f[i]
				set.Add(name, "Number of "+proto+" sockets in state "+f[i]+".", promtext.Gauge, v)
				if f[i] == "mem" && proto != "sockets" {
					set.Add(name+"_bytes", "Memory of "+proto+" sockets in bytes.", promtext.Gauge, v*pageSize)
				}
			}
		}
	}
	return nil
}

// process is the exporter's own process — the agent's — as node_exporter
// reports its own: CPU, memory, file descriptors, start time.
func (e *Exporter) process(_ context.Context, set *promtext.Set) error {
	data, err := e.read("self", "stat")
	if err != nil {
		return err
	}
	// the command name in parentheses may hold spaces
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return fmt.Errorf("self/stat: %q", data)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 22 {
		return fmt.Errorf("self/stat: %d fields", len(f))
	}
	num := func(k int) float64 { v, _ := parse(f[k]); return v }
	// fields after the command: state is 0, utime 11, stime 12,
	// starttime 19, vsize 20, rss 21 (pages)
	set.Add("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", promtext.Counter, (num(11)+num(12))/userHZ)
	set.Add("process_virtual_memory_bytes", "Virtual memory size in bytes.", promtext.Gauge, num(20))
	set.Add("process_resident_memory_bytes", "Resident memory size in bytes.", promtext.Gauge, num(21)*float64(os.Getpagesize()))
	if stat, err := e.read("stat"); err == nil {
		for _, line := range lines(stat) {
			if v, ok := strings.CutPrefix(line, "btime "); ok {
				boot, _ := parse(strings.TrimSpace(v))
				set.Add("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", promtext.Gauge, boot+num(19)/userHZ)
			}
		}
	}
	if fds, err := os.ReadDir(e.path("self", "fd")); err == nil {
		set.Add("process_open_fds", "Number of open file descriptors.", promtext.Gauge, float64(len(fds)))
	}
	if limits, err := e.read("self", "limits"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(limits))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "Max open files"); ok {
				if f := strings.Fields(rest); len(f) > 0 {
					if v, err := parse(f[0]); err == nil {
						set.Add("process_max_fds", "Maximum number of open file descriptors.", promtext.Gauge, v)
					}
				}
			}
		}
	}
	return nil
}
