// Package layout is Pigsty's file layout of a PostgreSQL node: where data,
// configuration, logs, sockets and pid files live. Every path goes through
// Root, so that several hosts of the multi-host test harness (network
// namespaces sharing one filesystem) each keep their own tree; in
// production Root is "/".
package layout

import (
	"path/filepath"
	"strconv"

	"pigsty/pgsql/inventory"
)

// Layout resolves the paths of one instance.
type Layout struct {
	Root     string // "/" in production
	Cluster  string
	Instance string
	Version  int
	p        *inventory.Params
}

// New is the layout of instance i under root ("" means "/").
func New(root string, i *inventory.Instance) Layout {
	if root == "" {
		root = "/"
	}
	return Layout{Root: root, Cluster: i.Cluster, Instance: i.Name, Version: i.Params.PgVersion, p: i.Params}
}

// Path puts an absolute path of the host under Root.
func (l Layout) Path(p string) string {
	if l.Root == "/" || l.Root == "" {
		return p
	}
	return filepath.Join(l.Root, p)
}

// PG is /pg, a symlink to ClusterDir.
func (l Layout) PG() string { return l.Path("/pg") }

// ClusterDir is the real directory of the instance: <pg_fs_main>/<cls>-<ver>.
func (l Layout) ClusterDir() string {
	return l.Path(filepath.Join(l.p.PgFsMain, l.Cluster+"-"+strconv.Itoa(l.Version)))
}

// BackupDir is the cluster's directory on pg_fs_backup.
func (l Layout) BackupDir() string {
	return l.Path(filepath.Join(l.p.PgFsBackup, l.Cluster+"-"+strconv.Itoa(l.Version)))
}

// pgPath is a path under /pg: rendered through the stable symlink, so a
// major-version upgrade only re-points the link.
func (l Layout) pgPath(sub string) string { return filepath.Join(l.PG(), sub) }

func (l Layout) Data() string  { return l.Path(l.p.PgData) }
func (l Layout) Bin() string   { return l.pgPath("bin") }
func (l Layout) Conf() string  { return l.pgPath("conf") }
func (l Layout) Tmp() string   { return l.pgPath("tmp") }
func (l Layout) Cert() string  { return l.pgPath("cert") }
func (l Layout) Spool() string { return l.pgPath("spool") }
func (l Layout) Log() string   { return l.pgPath("log") }
func (l Layout) Dummy() string { return l.pgPath("dummy") }

// Backup is /pg/backup, the local pgBackRest repository (a symlink into
// BackupDir).
func (l Layout) Backup() string { return l.pgPath("backup") }

func (l Layout) PostgresLog() string   { return l.Path(l.p.PgLogDir) }
func (l Layout) PatroniLog() string    { return l.Path(l.p.PatroniLogDir) }
func (l Layout) PgbouncerLog() string  { return l.Path(l.p.PgbouncerLogDir) }
func (l Layout) PgbackrestLog() string { return l.Path(l.p.PgbackrestLogDir) }

// Socket is the unix socket directory of postgres and pgbouncer
// (pg_localhost).
func (l Layout) Socket() string { return l.Path(l.p.PgLocalhost) }

// PatroniConfig is the real Patroni config, /pg/conf/<ins>.yml.
func (l Layout) PatroniConfig() string { return filepath.Join(l.Conf(), l.Instance+".yml") }

// PatroniLink is /etc/patroni/patroni.yml, a symlink to PatroniConfig.
func (l Layout) PatroniLink() string { return l.Path("/etc/patroni/patroni.yml") }

func (l Layout) Pgbouncer() string  { return l.Path("/etc/pgbouncer") }
func (l Layout) HAProxy() string    { return l.Path("/etc/haproxy") }
func (l Layout) Pgbackrest() string { return l.Path("/etc/pgbackrest") }

// PgPass is the dbsu's .pgpass, in pigsty's state so that it never depends
// on the dbsu's home directory.
func (l Layout) PgPass() string { return filepath.Join(l.Conf(), ".pgpass") }

// BinDir is where the PostgreSQL server binaries of the major are: the
// inventory's pg_bin_dir when it exists, else the distribution's path.
func (l Layout) BinDir(exists func(string) bool) string {
	if l.p.PgBinDir != "" && exists(filepath.Join(l.p.PgBinDir, "postgres")) {
		return l.p.PgBinDir
	}
	deb := "/usr/lib/postgresql/" + strconv.Itoa(l.Version) + "/bin"
	if exists(filepath.Join(deb, "postgres")) {
		return deb
	}
	return "/usr/pgsql-" + strconv.Itoa(l.Version) + "/bin"
}

// State is pigsty's own state directory of the host: pid files, runtime
// files of the supervised children, the etcd data of infra hosts.
func (l Layout) State() string { return l.Path("/var/lib/pigsty") }

// Run is where the supervisor keeps pid files and sockets of children.
func (l Layout) Run() string { return filepath.Join(l.State(), "run") }
