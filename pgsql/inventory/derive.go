package inventory

import (
	"strings"

	"pigsty/pgsql/pkgmap"
	"pigsty/pgsql/tune"
)

// The effective configuration also depends on the host an instance runs
// on: the tuning formulas read its CPU, memory and disk, and package names
// follow its OS. Those are given here rather than guessed.

// Packages translates pg_packages and pg_extensions for the host's OS.
func (p *Params) Packages(os pkgmap.OS) ([]pkgmap.Package, []pkgmap.Skipped, error) {
	items := append(append([]string(nil), p.PgPackages...), p.PgExtensions...)
	return pkgmap.Expand(items, p.PgVersion, os)
}

// Repos is repo_upstream, or the built-in sources when it is empty.
func (p *Params) Repos() []pkgmap.Repo {
	if len(p.RepoUpstream) == 0 {
		return pkgmap.DefaultRepos()
	}
	return p.RepoUpstream
}

// Libs is pg_libs as a list.
func (p *Params) Libs() []string {
	var out []string
	for _, l := range strings.Split(p.PgLibs, ",") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// ArchiveCommand is what archive_command becomes: pgBackRest's push into
// the cluster's stanza, or "" with backups disabled.
func (p *Params) ArchiveCommand() string {
	if !p.PgbackrestEnabled {
		return ""
	}
	return "pgbackrest --stanza=" + p.PgCluster + " archive-push %p"
}

// Tune computes the template's PostgreSQL parameters for a host of this
// spec and OS.
func (p *Params) Tune(spec tune.Spec, os pkgmap.OS) (tune.Result, error) {
	return tune.Compute(tune.Input{
		Template:           TemplateName(p.PgConf),
		Version:            p.PgVersion,
		Spec:               spec,
		MaxConn:            int(p.PgMaxConn),
		SharedBufferRatio:  p.PgSharedBufferRatio,
		DefaultServiceDest: p.PgDefaultServiceDest,
		Libs:               p.Libs(),
		StorageType:        p.PgStorageType,
		IOMethod:           p.PgIOMethod,
		OSFamily:           os.Family,
		OSMajor:            os.Major,
		LogDir:             p.PgLogDir,
		ArchiveCommand:     p.ArchiveCommand(),
		PrimaryDB:          p.PgPrimaryDB,
		PwdEnc:             p.PgPwdEnc,
		CertDir:            "/pg/cert",
	})
}

// Plan is the HA timing plan of pg_rto.
func (p *Params) Plan() (tune.Plan, error) { return tune.ParsePlan(p.PgRTO) }

// Traits are the template's HA traits for this cluster's pg_rpo and
// watchdog mode.
func (p *Params) Traits() (tune.TemplateTraits, error) {
	return tune.Traits(TemplateName(p.PgConf), p.PgRPO, p.PatroniWatchdogMode)
}
