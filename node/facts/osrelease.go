package facts

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func (h host) os() (OS, error) {
	b, err := os.ReadFile(h.path("/etc/os-release"))
	if err != nil {
		return OS{}, fmt.Errorf("os: %w", err)
	}
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok && !strings.HasPrefix(k, "#") {
			kv[k] = strings.Trim(v, `"'`)
		}
	}
	o := OS{ID: kv["ID"], VersionID: kv["VERSION_ID"], Codename: kv["VERSION_CODENAME"]}
	if o.ID == "" {
		return OS{}, fmt.Errorf("os: no ID in /etc/os-release")
	}
	// rolling releases (Debian testing, Arch) carry no VERSION_ID
	if o.VersionID != "" {
		major, _, _ := strings.Cut(o.VersionID, ".")
		if o.Major, err = strconv.Atoi(major); err != nil {
			return OS{}, fmt.Errorf("os: VERSION_ID %q in /etc/os-release is not a version", o.VersionID)
		}
	}
	o.Family = family(o.ID, kv["ID_LIKE"])
	m, err := h.machine()
	if err != nil {
		return OS{}, fmt.Errorf("os: architecture: %w", err)
	}
	o.Arch = packageArch(o.Family, m)
	return o, nil
}

func family(id, idLike string) string {
	for _, name := range append([]string{id}, strings.Fields(idLike)...) {
		switch name {
		case "debian", "ubuntu":
			return "deb"
		case "rhel", "centos", "fedora":
			return "el"
		}
	}
	return ""
}

// packageArch spells the machine as the package system does: dpkg says
// amd64/arm64 where rpm and uname say x86_64/aarch64.
func packageArch(family, machine string) string {
	if family != "deb" {
		return machine
	}
	switch machine {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return machine
}

func unameMachine() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Machine[:]), nil
}
