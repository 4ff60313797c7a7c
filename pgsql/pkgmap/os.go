// Package pkgmap translates Pigsty package aliases (pg_packages,
// pg_extensions) into the real package names of one OS family, and holds
// the package sources pigsty knows about (repo_upstream).
//
// Everything here is pure: no file, network or process access. The
// installer (node/install) supplies the OS description and does the work.
package pkgmap

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Package families. Pigsty names packages the Debian way on Debian and
// Ubuntu, and the PGDG RPM way on EL clones.
const (
	FamilyDeb = "deb"
	FamilyEL  = "el"
)

// OS describes the host that packages are resolved for.
type OS struct {
	Family   string // deb | el
	ID       string // os-release ID: debian, ubuntu, rocky, …; fills ${distro_name}
	Major    int    // 12 for Debian 12, 22 for Ubuntu 22.04, 9 for EL9
	Codename string // bookworm, jammy; empty on EL
	Arch     string // Pigsty spelling: x86_64 | aarch64
}

func (o OS) String() string {
	s := fmt.Sprintf("%s %d", o.ID, o.Major)
	if o.Codename != "" {
		s += " (" + o.Codename + ")"
	}
	return s + " " + o.Arch
}

var debianLike = map[string]bool{"debian": true, "ubuntu": true}

var elLike = map[string]bool{
	"rhel": true, "centos": true, "rocky": true, "almalinux": true,
	"ol": true, "fedora": true, "anolis": true, "opencloudos": true,
}

// ParseOSRelease builds an OS from the contents of /etc/os-release and the
// machine architecture in either Go, dpkg or uname spelling.
func ParseOSRelease(osRelease []byte, arch string) (OS, error) {
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(osRelease))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		kv[k] = strings.Trim(v, `"'`)
	}
	o := OS{ID: kv["ID"], Codename: kv["VERSION_CODENAME"], Arch: NormalizeArch(arch)}
	ids := append([]string{o.ID}, strings.Fields(kv["ID_LIKE"])...)
	for _, id := range ids {
		if debianLike[id] {
			o.Family = FamilyDeb
			break
		}
		if elLike[id] {
			o.Family = FamilyEL
			break
		}
	}
	if o.Family == "" {
		return OS{}, fmt.Errorf("os-release: unsupported distribution %q (ID_LIKE %q)", o.ID, kv["ID_LIKE"])
	}
	major, _, _ := strings.Cut(kv["VERSION_ID"], ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return OS{}, fmt.Errorf("os-release: VERSION_ID %q of %s is not a version", kv["VERSION_ID"], o.ID)
	}
	o.Major = n
	return o, nil
}

// NormalizeArch maps Go, dpkg and uname architecture names to the spelling
// Pigsty uses in repo_upstream (x86_64, aarch64).
func NormalizeArch(arch string) string {
	switch arch {
	case "amd64", "x86_64":
		return "x86_64"
	case "arm64", "aarch64":
		return "aarch64"
	}
	return arch
}

// DebArch is the dpkg spelling of a Pigsty architecture name.
func DebArch(arch string) string {
	switch arch {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return arch
}
