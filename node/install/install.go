// Package install installs the packages a pigsty node needs, with apt, on
// Debian-family hosts: preflight first (every package resolved, every
// problem reported, nothing installed on failure), then one apt
// transaction, then the parts apt cannot do right on its own: a Patroni
// recent enough to be safe, and the distribution's automatic "main"
// cluster.
package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"pigsty/node/facts"
	"pigsty/pgsql/pkgmap"
)

// DefaultStateDir is pigsty's state directory.
const DefaultStateDir = "/var/lib/pigsty"

// Options says what to install.
type Options struct {
	Packages []pkgmap.Package // from pkgmap.Expand
	Skipped  []pkgmap.Skipped // from pkgmap.Expand, reported so the user sees where they went
	Repos    []pkgmap.Repo    // repo_upstream; nil means pkgmap.DefaultRepos()
	StateDir string           // pigsty state dir, default /var/lib/pigsty
	Progress io.Writer        // human progress lines
	DryRun   bool             // preflight + print the plan only
}

// Report says what Run did.
type Report struct {
	Installed []string // packages installed now (a vendored Patroni counts)
	Present   []string // requested packages that were already installed
	Upgraded  []string // installed packages apt upgraded as dependencies: "name old → new"
	Skipped   []string // components pigsty provides, optional packages the sources lack: "name (alias…): why"
	Patroni   *Patroni
	// MainCluster says what happened to the distribution's automatic
	// "main" cluster: "none", "dropped …" or "kept …" with what to decide.
	MainCluster string
	Log         string // apt's full output
}

// Run installs opts.Packages. It is idempotent: packages that are
// installed stay as they are (never upgraded on purpose), and a second run
// installs nothing.
func Run(ctx context.Context, opts Options) (Report, error) {
	var rep Report
	if opts.StateDir == "" {
		opts.StateDir = DefaultStateDir
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.Repos == nil {
		opts.Repos = pkgmap.DefaultRepos()
	}
	if os.Geteuid() != 0 {
		return rep, errors.New("install: must run as root")
	}
	hostOS, err := facts.DetectOS()
	if err != nil {
		return rep, err
	}
	if hostOS.Family != pkgmap.FamilyDeb {
		return rep, fmt.Errorf("install: %s: only Debian-family hosts are supported", hostOS)
	}
	logDir := filepath.Join(opts.StateDir, "log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return rep, fmt.Errorf("install: %w", err)
	}
	unlock, err := lock(filepath.Join(opts.StateDir, "install.lock"))
	if err != nil {
		return rep, err
	}
	defer unlock()
	rep.Log = filepath.Join(logDir, "install.log")
	logf, err := os.OpenFile(rep.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return rep, fmt.Errorf("install: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "\n==== pigsty install %s (dry run: %v)\n", time.Now().UTC().Format(time.RFC3339), opts.DryRun)
	r := &run{opts: opts, os: hostOS, log: logf, host: &aptCmd{log: logf}, rep: &rep}
	err = r.do(ctx)
	if err != nil {
		fmt.Fprintf(logf, "# error: %v\n", err)
	}
	return rep, err
}

type run struct {
	opts Options
	os   pkgmap.OS
	log  io.Writer
	host apt
	rep  *Report
}

func (r *run) say(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	fmt.Fprintln(r.opts.Progress, line)
	fmt.Fprintln(r.log, "# "+line)
}

func (r *run) skip(what string) {
	r.say("skipped %s", what)
	r.rep.Skipped = append(r.rep.Skipped, what)
}

func (r *run) do(ctx context.Context) error {
	r.say("host: %s", r.os)
	private, added, err := r.sources(ctx)
	if err != nil {
		return err
	}
	if err := refreshLists(ctx, "host", r.host, filepath.Join(r.opts.StateDir, "apt", "host.updated"), []string{aptPeriodicStamp}, added, r.say); err != nil {
		return err
	}
	for _, s := range r.opts.Skipped {
		r.skip(fmt.Sprintf("%s (%s): %s", s.Name, s.Alias, s.Reason))
	}
	r.say("checking %d %s", len(r.opts.Packages), plural(len(r.opts.Packages), "package"))
	pl, err := preflight(ctx, preflightEnv{
		host:    r.host,
		private: private,
		refresh: func(ctx context.Context, src *privateSource) error {
			return refreshLists(ctx, "source "+src.repo.Name, src.apt, src.stamp, nil, false, r.say)
		},
		findPatroni: FindPatroni,
	}, r.opts.Packages)
	if err != nil {
		return err
	}
	for _, s := range pl.skipped {
		r.skip(fmt.Sprintf("%s (%s, optional): not available from the configured sources", s.pkg.Name, s.pkg.Alias))
	}
	if len(pl.problems) > 0 {
		return &PreflightError{Problems: pl.problems}
	}
	r.showPlan(pl)
	if err := r.simulate(ctx, pl); err != nil {
		return err
	}
	if r.opts.DryRun {
		mc, err := handleMainClusters(ctx, true)
		if err != nil {
			return err
		}
		r.rep.MainCluster = mc
		r.say("main cluster: %s", mc)
		r.say("dry run: nothing installed")
		return nil
	}
	if changed, err := ensureNoMainCluster(createClusterConf); err != nil {
		return fmt.Errorf("%s: %w", createClusterConf, err)
	} else if changed {
		r.say("%s: create_main_cluster = false", createClusterConf)
	}
	if err := r.install(ctx, pl); err != nil {
		return err
	}
	if err := r.patroni(ctx, pl); err != nil {
		return err
	}
	mc, err := handleMainClusters(ctx, false)
	r.rep.MainCluster = mc
	if err != nil {
		return err
	}
	r.say("main cluster: %s", mc)
	if len(r.rep.Installed) == 0 {
		r.say("done: nothing to install, %d already present", len(r.rep.Present))
	} else {
		r.say("done: %d installed, %d already present", len(r.rep.Installed), len(r.rep.Present))
	}
	return nil
}

// sources sorts repo_upstream: private sources serving Patroni are
// prepared, enabled sources missing from the host are added (the host's
// lists must then be refreshed), the others are only noted.
func (r *run) sources(ctx context.Context) (private []*privateSource, added bool, err error) {
	targets, err := r.host.Targets(ctx)
	if err != nil {
		return nil, false, err
	}
	var onHost []string
	for _, repo := range r.opts.Repos {
		if !repo.Applies(r.os) || (repo.Enabled != nil && !*repo.Enabled) {
			continue
		}
		repo = repo.Resolve(r.os)
		switch {
		case repo.Private():
			if !slices.Contains(repo.Packages, "patroni") {
				r.say("source %s: private sources serve Patroni only; ignored", repo.Name)
				continue
			}
			src, err := newPrivateSource(r.opts.StateDir, repo, r.os, r.log)
			if err != nil {
				r.say("source %s unusable: %v", repo.Name, err)
				continue
			}
			private = append(private, src)
		case configured(targets, repo):
			onHost = append(onHost, repo.Name)
		case repo.Enabled != nil:
			if r.opts.DryRun {
				r.say("would add source %s (%s %s) to the host's apt sources", repo.Name, repo.BaseURL, repo.Suite)
				continue
			}
			path, err := addHostSource(repo, r.os)
			if err != nil {
				return nil, false, err
			}
			r.say("added source %s: %s", repo.Name, path)
			added = true
		}
	}
	if len(onHost) > 0 {
		r.say("sources: %s (configured on this host)", strings.Join(onHost, ", "))
	}
	return private, added, nil
}

func (r *run) showPlan(pl *plan) {
	for _, p := range pl.present {
		r.say("present %s %s", p.pkg.Name, p.version)
		r.rep.Present = append(r.rep.Present, p.pkg.Name)
	}
	if pl.patroni != nil {
		r.say("present patroni %s (%s)", pl.patroni.Version, pl.patroni.Source)
		r.rep.Present = append(r.rep.Present, "patroni")
	}
	verb := "installing"
	if r.opts.DryRun {
		verb = "would install"
	}
	for _, p := range pl.install {
		r.say("%s %s %s", verb, p.pkg.Name, p.version)
	}
	if v := pl.vendor; v != nil {
		r.say("%s patroni %s from %s (%s %s), to be extracted into %s",
			verb, v.version, v.source.repo.Name, v.source.repo.BaseURL, v.source.repo.Suite, filepath.Join(PatroniRoot, upstreamVersion(v.version)))
	}
}

// simulate shows what apt will do beyond the requested packages, notably
// upgrades of installed packages that the new ones depend on.
func (r *run) simulate(ctx context.Context, pl *plan) error {
	if len(pl.install) == 0 {
		return nil
	}
	changes, err := r.host.Simulate(ctx, names(pl.install))
	if err != nil {
		return err
	}
	var upgrades []string
	for _, c := range changes {
		if c.Old != "" {
			upgrades = append(upgrades, fmt.Sprintf("%s %s → %s", c.Name, c.Old, c.New))
		}
	}
	r.say("apt: %d packages (%d requested, %d dependencies), %d of them upgrades",
		len(changes), len(pl.install), len(changes)-len(pl.install), len(upgrades))
	for _, u := range upgrades {
		r.say("  upgrade %s", u)
	}
	return nil
}

func (r *run) install(ctx context.Context, pl *plan) error {
	if len(pl.install) == 0 {
		return nil
	}
	before := map[string]string{}
	for _, p := range pl.present {
		before[p.pkg.Name] = p.version
	}
	restore, err := denyServiceStarts(ctx, r.opts.StateDir)
	if err != nil {
		return fmt.Errorf("policy-rc.d: %w", err)
	}
	r.say("running apt-get install (log: %s)", r.rep.Log)
	err = r.host.Install(ctx, names(pl.install))
	if rerr := restore(); rerr != nil && err == nil {
		err = fmt.Errorf("policy-rc.d: %w", rerr)
	}
	if err != nil {
		return fmt.Errorf("apt-get install failed (details in %s): %w", r.rep.Log, err)
	}
	check := append(names(pl.install), names(pl.present)...)
	after, err := r.host.Policy(ctx, check)
	if err != nil {
		return err
	}
	for _, p := range pl.install {
		v := after[p.pkg.Name].Installed
		if v == "" {
			return fmt.Errorf("apt-get reported success but %s is not installed (details in %s)", p.pkg.Name, r.rep.Log)
		}
		r.say("installed %s %s", p.pkg.Name, v)
		r.rep.Installed = append(r.rep.Installed, p.pkg.Name)
	}
	for name, old := range before {
		if v := after[name].Installed; v != old {
			r.rep.Upgraded = append(r.rep.Upgraded, fmt.Sprintf("%s %s → %s", name, old, v))
		}
	}
	slices.Sort(r.rep.Upgraded)
	return nil
}

// patroni unpacks a vendored Patroni when preflight chose one, then proves
// that the Patroni pigsty will run starts with a clean environment.
func (r *run) patroni(ctx context.Context, pl *plan) error {
	requested := pl.patroni != nil || pl.vendor != nil
	for _, p := range append(slices.Clone(pl.install), pl.present...) {
		requested = requested || p.pkg.Via == pkgmap.ViaPatroni
	}
	if !requested {
		return nil
	}
	if v := pl.vendor; v != nil {
		pat, err := fetchPatroni(ctx, v, PatroniRoot)
		if err != nil {
			return err
		}
		dir := filepath.Join(PatroniRoot, upstreamVersion(v.version))
		if err := pat.verify(ctx); err != nil {
			// A release that does not start must not be found by FindPatroni.
			_ = os.RemoveAll(dir)
			return err
		}
		r.say("patroni %s (%s %s, extracted into %s)", pat.Version, v.source.repo.Suite, v.version, dir)
		r.rep.Installed = append(r.rep.Installed, "patroni")
		r.rep.Patroni = &pat
		return nil
	}
	pat, err := FindPatroni()
	if err != nil {
		return err
	}
	if err := pat.verify(ctx); err != nil {
		return err
	}
	r.rep.Patroni = &pat
	return nil
}

// fetchPatroni downloads the private source's packages, checks that the
// Patroni among them is the version preflight promised, and unpacks them.
func fetchPatroni(ctx context.Context, v *vendoring, root string) (Patroni, error) {
	dir := filepath.Join(v.source.dir, "debs")
	old, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return Patroni{}, err
		}
	}
	if err := v.source.apt.Download(ctx, dir, v.source.repo.Packages); err != nil {
		return Patroni{}, err
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	var got string
	for _, deb := range debs {
		name, err := debField(ctx, deb, "Package")
		if err != nil {
			return Patroni{}, err
		}
		if name == "patroni" {
			if got, err = debField(ctx, deb, "Version"); err != nil {
				return Patroni{}, err
			}
		}
	}
	if got != v.version {
		return Patroni{}, fmt.Errorf("%s: downloaded patroni %q, expected %s", v.source.repo.Name, got, v.version)
	}
	source := fmt.Sprintf("patroni %s from %s %s, pigsty source %s", v.version, v.source.repo.BaseURL, v.source.repo.Suite, v.source.repo.Name)
	return unpackPatroni(ctx, debs, v.version, source, root)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func names(ps []planned) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.pkg.Name
	}
	return out
}

// lock keeps two pigsty installs from interleaving on one host.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("install: another pigsty install holds %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
