package install

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
)

// apt is what the installer needs from a package manager. One value talks
// to the host's apt configuration, others to pigsty's private ones; tests
// substitute fakes that replay recorded apt-cache output.
type apt interface {
	// Policy returns what `apt-cache policy` knows about names. Names the
	// sources do not carry are absent from the map.
	Policy(ctx context.Context, names []string) (map[string]candidate, error)
	// Names lists package names starting with prefix (`apt-cache pkgnames`).
	Names(ctx context.Context, prefix string) ([]string, error)
	// Targets lists the package indexes the configuration asks for.
	Targets(ctx context.Context) ([]indexTarget, error)
	Update(ctx context.Context) error
	// Simulate returns what installing names would change, without doing it.
	Simulate(ctx context.Context, names []string) ([]change, error)
	Install(ctx context.Context, names []string) error
	// Download fetches names' .deb files into dir.
	Download(ctx context.Context, dir string, names []string) error
}

type candidate struct {
	Installed string // installed version, "" when not installed
	Candidate string // version apt would install, "" when none
}

type indexTarget struct {
	Identifier string // Packages, Translations, …
	Site       string // http://deb.debian.org/debian
	Release    string // bookworm
	Filename   string // list file without its compression suffix
}

// change is one line of `apt-get -s install`: Old is empty for new packages.
type change struct{ Name, Old, New string }

const (
	aptGet   = "/usr/bin/apt-get"
	aptCache = "/usr/bin/apt-cache"
)

// aptCmd runs the real apt tools.
type aptCmd struct {
	opts []string  // -o settings, for pigsty's private configurations
	log  io.Writer // receives apt's own output and the command lines
}

// aptEnv is a clean environment: a fixed PATH, English messages for the
// parsers, no prompts, and existing configuration files kept on upgrade.
func aptEnv() []string {
	env := []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C", "LC_ALL=C",
		"DEBIAN_FRONTEND=noninteractive",
		"DEBCONF_NONINTERACTIVE_SEEN=true",
		"UCF_FORCE_CONFFOLD=1",
		"APT_LISTCHANGES_FRONTEND=none",
		"NEEDRESTART_MODE=l",
	}
	for _, k := range []string{"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// installOpts apply to every install and simulation so that the simulation
// shows what the install will do. Recommends are left out: the appliance
// needs a predictable package set, and pigsty supplies the tools it uses.
var installOpts = []string{
	"-y", "-q", "--no-install-recommends",
	"-o", "Dpkg::Options::=--force-confdef",
	"-o", "Dpkg::Options::=--force-confold",
	"-o", "DPkg::Lock::Timeout=300",
}

func (a *aptCmd) run(ctx context.Context, dir string, stdout io.Writer, bin string, args ...string) error {
	argv := append(append([]string{}, a.opts...), args...)
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Env = aptEnv()
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = io.MultiWriter(a.log, &stderr)
	cmd.Stdout = a.log
	if stdout != nil {
		cmd.Stdout = stdout
	}
	fmt.Fprintf(a.log, "$ %s %s\n", bin, strings.Join(argv, " "))
	slog.Debug("apt", "cmd", bin, "args", argv)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, lastLines(stderr.String(), 3))
	}
	return nil
}

func (a *aptCmd) Policy(ctx context.Context, names []string) (map[string]candidate, error) {
	if len(names) == 0 {
		return map[string]candidate{}, nil
	}
	var out bytes.Buffer
	if err := a.run(ctx, "", &out, aptCache, append([]string{"policy"}, names...)...); err != nil {
		return nil, err
	}
	return parsePolicy(out.String()), nil
}

func (a *aptCmd) Names(ctx context.Context, prefix string) ([]string, error) {
	var out bytes.Buffer
	if err := a.run(ctx, "", &out, aptCache, "pkgnames", prefix); err != nil {
		return nil, err
	}
	return strings.Fields(out.String()), nil
}

func (a *aptCmd) Targets(ctx context.Context) ([]indexTarget, error) {
	var out bytes.Buffer
	err := a.run(ctx, "", &out, aptGet, "indextargets", "--no-release-info",
		"--format", "$(IDENTIFIER)\t$(SITE)\t$(RELEASE)\t$(FILENAME)")
	if err != nil {
		return nil, err
	}
	return parseTargets(out.String()), nil
}

func (a *aptCmd) Update(ctx context.Context) error {
	return a.run(ctx, "", nil, aptGet, "update", "-q")
}

func (a *aptCmd) Simulate(ctx context.Context, names []string) ([]change, error) {
	var out bytes.Buffer
	args := append(append([]string{"install", "-s"}, installOpts...), names...)
	if err := a.run(ctx, "", &out, aptGet, args...); err != nil {
		return nil, err
	}
	return parseSimulation(out.String()), nil
}

func (a *aptCmd) Install(ctx context.Context, names []string) error {
	return a.run(ctx, "", nil, aptGet, append(append([]string{"install"}, installOpts...), names...)...)
}

func (a *aptCmd) Download(ctx context.Context, dir string, names []string) error {
	return a.run(ctx, dir, nil, aptGet, append([]string{"download", "-q"}, names...)...)
}

// parsePolicy reads `apt-cache policy` output. A package apt knows only as
// a name (virtual, or listed but without versions) has Candidate "".
func parsePolicy(out string) map[string]candidate {
	res := map[string]candidate{}
	var name string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if line[0] != ' ' && strings.HasSuffix(line, ":") {
			name, _, _ = strings.Cut(strings.TrimSuffix(line, ":"), ":")
			res[name] = candidate{}
			continue
		}
		if name == "" {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if v == "(none)" {
			v = ""
		}
		c := res[name]
		switch k {
		case "Installed":
			c.Installed = v
		case "Candidate":
			c.Candidate = v
		}
		res[name] = c
	}
	return res
}

func parseTargets(out string) []indexTarget {
	var ts []indexTarget
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			continue
		}
		ts = append(ts, indexTarget{Identifier: f[0], Site: f[1], Release: f[2], Filename: f[3]})
	}
	return ts
}

// parseSimulation reads the "Inst" lines of `apt-get -s install`:
//
//	Inst libpq5 [15.18-0+deb12u1] (15.20-0+deb12u1 Debian-Security:12/oldstable-security [amd64])
//	Inst pgbouncer (1.18.0-1+deb12u1 Debian:12.15/oldstable [amd64])
func parseSimulation(out string) []change {
	var cs []change
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, "Inst ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		c := change{Name: f[0]}
		i := 1
		if strings.HasPrefix(f[i], "[") {
			c.Old = strings.Trim(f[i], "[]")
			i++
		}
		if i < len(f) {
			c.New = strings.TrimPrefix(f[i], "(")
		}
		cs = append(cs, c)
	}
	return cs
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
