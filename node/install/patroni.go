package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// MinPatroni is the oldest Patroni pigsty runs. Patroni 3.0.2 (Debian 12)
// can let an old primary take the etcd3 leader key back when a network
// partition heals, promoting it again and losing acknowledged writes;
// 3.0.3 fixed that.
const MinPatroni = "3.0.3"

const (
	// PatroniRoot holds Patroni releases pigsty unpacked itself, one
	// directory per upstream version.
	PatroniRoot   = "/usr/lib/pigsty/patroni"
	systemPython  = "/usr/bin/python3"
	distPackages  = "usr/lib/python3/dist-packages"
	sourceMarker  = ".pigsty-source"
	patroniModule = "patroni"
)

// patroniDeps are the runtime dependencies of an unpacked Patroni, taken
// from the host's own sources. python3-etcd is needed even for the etcd3
// DCS: Patroni's etcd3 module imports the etcd (v2) client. python3-idna
// is only recommended by urllib3, which needs it for https (etcd's TLS).
var patroniDeps = []string{
	"python3-psycopg2", "python3-urllib3", "python3-idna", "python3-yaml", "python3-click",
	"python3-prettytable", "python3-dateutil", "python3-psutil", "python3-etcd",
}

// Patroni is an installed Patroni that pigsty can run.
type Patroni struct {
	Version    string // upstream version, e.g. 4.0.7
	Python     string // interpreter, /usr/bin/python3
	PythonPath string // PYTHONPATH to the unpacked release; "" for a system package
	Source     string // where it came from, for humans
}

// ErrNoPatroni means no Patroni of at least MinPatroni is installed.
var ErrNoPatroni = errors.New("no Patroni " + MinPatroni + " or newer installed")

// FindPatroni returns the Patroni pigsty should run: the newest release
// unpacked under PatroniRoot, else the system package when it is recent
// enough.
func FindPatroni() (Patroni, error) {
	return findPatroni(PatroniRoot, "/"+distPackages)
}

func findPatroni(root, system string) (Patroni, error) {
	var found []Patroni
	dirs, _ := os.ReadDir(root)
	for _, d := range dirs {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		pp := filepath.Join(root, d.Name(), distPackages)
		v, err := moduleVersion(pp)
		if err != nil || compareVersions(v, MinPatroni) < 0 {
			continue
		}
		src, _ := os.ReadFile(filepath.Join(root, d.Name(), sourceMarker))
		found = append(found, Patroni{Version: v, Python: systemPython, PythonPath: pp, Source: strings.TrimSpace(string(src))})
	}
	if len(found) > 0 {
		sort.Slice(found, func(i, j int) bool { return compareVersions(found[i].Version, found[j].Version) > 0 })
		return found[0], nil
	}
	v, err := moduleVersion(system)
	if err != nil {
		return Patroni{}, ErrNoPatroni
	}
	if compareVersions(v, MinPatroni) < 0 {
		return Patroni{}, fmt.Errorf("%w: the system package is %s", ErrNoPatroni, v)
	}
	return Patroni{Version: v, Python: systemPython, Source: "system package"}, nil
}

var versionAssign = regexp.MustCompile(`__version__\s*=\s*['"]([^'"]+)['"]`)

// moduleVersion reads patroni/version.py under a site-packages directory;
// reading it needs neither Python nor Patroni's dependencies.
func moduleVersion(sitePackages string) (string, error) {
	b, err := os.ReadFile(filepath.Join(sitePackages, patroniModule, "version.py"))
	if err != nil {
		return "", err
	}
	m := versionAssign.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("%s: no __version__", sitePackages)
	}
	return string(m[1]), nil
}

// Command returns how to exec Patroni: absolute interpreter, no user site
// directory, and a clean environment so that a python3 earlier on some
// PATH, or a user's site-packages, cannot change what runs.
func (p Patroni) Command(args ...string) (path string, argv []string, env []string) {
	return p.Python, append([]string{p.Python, "-s", "-m", patroniModule}, args...), p.env()
}

// CommandVia returns how to exec Patroni through a wrapper module of dir
// (python3 -s -m module args…) that runs Patroni's own entry point, like
// Command.
func (p Patroni) CommandVia(dir, module string, args ...string) (path string, argv []string, env []string) {
	env = p.env()
	pythonPath := dir
	if p.PythonPath != "" {
		pythonPath += ":" + p.PythonPath
	}
	for n, e := range env {
		if strings.HasPrefix(e, "PYTHONPATH=") {
			env = append(env[:n], env[n+1:]...)
			break
		}
	}
	env = append(env, "PYTHONPATH="+pythonPath)
	return p.Python, append([]string{p.Python, "-s", "-m", module}, args...), env
}

// ctlMain runs patronictl's entry point; patroni.ctl has no __main__.
const ctlMain = "import sys; sys.argv[0] = 'patronictl'; from patroni.ctl import ctl; sys.exit(ctl())"

// CtlCommand returns how to exec patronictl, like Command.
func (p Patroni) CtlCommand(args ...string) (path string, argv []string, env []string) {
	return p.Python, append([]string{p.Python, "-s", "-c", ctlMain}, args...), p.env()
}

func (p Patroni) env() []string {
	env := []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
	if p.PythonPath != "" {
		env = append(env, "PYTHONPATH="+p.PythonPath)
	}
	return env
}

// verify runs `python3 -m patroni --version` the way pigsty will run
// Patroni and checks it reports p.Version, proving that the dependencies
// import.
func (p Patroni) verify(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	path, argv, env := p.Command("--version")
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.Env = env
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("patroni %s: %s --version: %w: %s", p.Version, strings.Join(argv, " "), err, lastLines(string(out), 3))
	}
	// Printed as "<prog> <version>"; under -m the prog is __main__.py.
	if f := strings.Fields(string(out)); len(f) == 0 || f[len(f)-1] != p.Version {
		return fmt.Errorf("patroni %s: --version printed %q", p.Version, bytes.TrimSpace(out))
	}
	return nil
}

// unpackPatroni extracts the downloaded .deb files into
// root/<upstream version> and returns the result. It unpacks beside the
// target and renames, so a failure never leaves a half-written release
// where FindPatroni would pick it up.
func unpackPatroni(ctx context.Context, debs []string, version, source, root string) (Patroni, error) {
	final := filepath.Join(root, upstreamVersion(version))
	tmp := filepath.Join(root, "."+upstreamVersion(version)+".new")
	if err := os.RemoveAll(tmp); err != nil {
		return Patroni{}, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return Patroni{}, err
	}
	for _, deb := range debs {
		cmd := exec.CommandContext(ctx, "/usr/bin/dpkg-deb", "-x", deb, tmp)
		cmd.Env = aptEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			_ = os.RemoveAll(tmp)
			return Patroni{}, fmt.Errorf("dpkg-deb -x %s: %w: %s", filepath.Base(deb), err, bytes.TrimSpace(out))
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, sourceMarker), []byte(source+"\n"), 0o644); err != nil {
		return Patroni{}, err
	}
	if err := os.RemoveAll(final); err != nil {
		return Patroni{}, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return Patroni{}, err
	}
	pp := filepath.Join(final, distPackages)
	v, err := moduleVersion(pp)
	if err != nil {
		return Patroni{}, err
	}
	return Patroni{Version: v, Python: systemPython, PythonPath: pp, Source: source}, nil
}

// debField reads one control field of a .deb file.
func debField(ctx context.Context, deb, field string) (string, error) {
	cmd := exec.CommandContext(ctx, "/usr/bin/dpkg-deb", "-f", deb, field)
	cmd.Env = aptEnv()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("dpkg-deb -f %s %s: %w", filepath.Base(deb), field, err)
	}
	return strings.TrimSpace(string(out)), nil
}
