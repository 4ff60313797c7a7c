package facts

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// InstallablePGVersions lists the PostgreSQL majors the host's package
// sources offer, or that are installed, newest first. Only Debian-family
// hosts are supported: it asks apt-cache for every postgresql-NN package
// and keeps those with a candidate or an installed version.
func InstallablePGVersions(ctx context.Context) ([]int, error) {
	return realHost.pgVersions(ctx)
}

var serverPackage = regexp.MustCompile(`^postgresql-([0-9]+)$`)

func (h host) pgVersions(ctx context.Context) ([]int, error) {
	out, err := h.run(ctx, "apt-cache", "pkgnames", "postgresql-")
	if err != nil {
		return nil, fmt.Errorf("postgresql versions: %w", err)
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if name := strings.TrimSpace(sc.Text()); serverPackage.MatchString(name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	slices.Sort(names)
	out, err = h.run(ctx, "apt-cache", append([]string{"policy"}, names...)...)
	if err != nil {
		return nil, fmt.Errorf("postgresql versions: %w", err)
	}
	return parsePolicy(out)
}

// parsePolicy reads `apt-cache policy` output run under the C locale:
// a "name:" line per package, then indented "Installed:" and "Candidate:".
func parsePolicy(out []byte) ([]int, error) {
	var majors []int
	major := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutSuffix(line, ":"); ok && !strings.HasPrefix(line, " ") {
			major = 0
			if m := serverPackage.FindStringSubmatch(name); m != nil {
				major, _ = strconv.Atoi(m[1])
			}
			continue
		}
		field, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || major == 0 || (field != "Installed" && field != "Candidate") {
			continue
		}
		if v := strings.TrimSpace(value); v != "" && v != "(none)" && !slices.Contains(majors, major) {
			majors = append(majors, major)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("postgresql versions: reading apt-cache policy: %w", err)
	}
	slices.Sort(majors)
	slices.Reverse(majors)
	return majors, nil
}

// runCommand runs a command under the C locale, so that labels such as
// "Candidate:" are not translated, and returns its standard output.
func runCommand(ctx context.Context, name string, args ...string) ([]byte, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%s not found (only Debian-family hosts are supported): %w", name, err)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(ee.Stderr))
		}
		return nil, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out, nil
}
