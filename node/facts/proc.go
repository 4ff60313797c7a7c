package facts

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// cpuCount counts "processor" lines, as Pigsty's grep -c '^processor' does:
// online logical CPUs, not the cgroup quota.
func (h host) cpuCount() (int, error) {
	b, err := os.ReadFile(h.path("/proc/cpuinfo"))
	if err != nil {
		return 0, fmt.Errorf("cpu count: %w", err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "processor") {
			n++
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("cpu count: no processor lines in /proc/cpuinfo")
	}
	return n, nil
}

// memMB is MemTotal rounded up to MiB. MemTotal is what glibc reports as
// _PHYS_PAGES × PAGE_SIZE, the figure Pigsty's node_mem_mb is built from.
func (h host) memMB() (int, error) {
	b, err := os.ReadFile(h.path("/proc/meminfo"))
	if err != nil {
		return 0, fmt.Errorf("memory: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("memory: unexpected MemTotal line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb <= 0 {
			return 0, fmt.Errorf("memory: unexpected MemTotal line %q", sc.Text())
		}
		return int((kb + 1023) / 1024), nil
	}
	return 0, fmt.Errorf("memory: no MemTotal in /proc/meminfo")
}

func (h host) hostname() (string, error) {
	b, err := os.ReadFile(h.path("/proc/sys/kernel/hostname"))
	if err != nil {
		return "", fmt.Errorf("hostname: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
