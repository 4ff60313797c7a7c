package facts

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"pigsty/pgsql/pkgmap"
)

// DetectOS describes this host's distribution as the package aliases need
// it.
func DetectOS() (pkgmap.OS, error) { return realHost.os() }

func (h host) os() (pkgmap.OS, error) {
	b, err := os.ReadFile(h.path("/etc/os-release"))
	if err != nil {
		return pkgmap.OS{}, fmt.Errorf("os: %w", err)
	}
	m, err := h.machine()
	if err != nil {
		return pkgmap.OS{}, fmt.Errorf("os: architecture: %w", err)
	}
	return pkgmap.ParseOSRelease(b, m)
}

func unameMachine() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Machine[:]), nil
}
