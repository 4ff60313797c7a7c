// Package pgbackrest is pigsty's knowledge of pgBackRest as text: the
// pgbackrest.conf of an instance rendered from pgbackrest_repo, the
// arguments of a restore to a recovery target, and what `pgbackrest info`
// and a running backup print, read back into types. It runs nothing.
package pgbackrest

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// Binary is the Debian package's pgBackRest.
const Binary = "/usr/bin/pgbackrest"

// ConfigPath is /etc/pgbackrest/pgbackrest.conf under the layout's root:
// pgBackRest's own default path on a real host, so `pgbackrest info` by
// hand and Pigsty's archive_command find it without --config.
func ConfigPath(l layout.Layout) string { return filepath.Join(l.Pgbackrest(), "pgbackrest.conf") }

// InitialMarker is the file Pigsty writes once the initial backup exists
// (pgbackrest_init_backup).
func InitialMarker(l layout.Layout) string { return filepath.Join(l.Pgbackrest(), "initial.done") }

// LockPath is pgBackRest's lock directory, its default /tmp/pgbackrest,
// under the layout's root: hosts of the multi-host harness share one
// filesystem and must not share locks.
func LockPath(l layout.Layout) string { return l.Path("/tmp/pgbackrest") }

// Input is what pgbackrest.conf is rendered from.
type Input struct {
	Instance *inventory.Instance
	Layout   layout.Layout
	CPU      int // the host's cores, for process-max
}

// Render writes pgbackrest.conf as Pigsty's template does: the stanza
// (named after pg_cluster) first, then [global] with every key of
// pgbackrest_repo[pgbackrest_method] as a repo1- option, then the
// per-command process counts. Paths of the host go through the layout.
func Render(in Input) ([]byte, error) {
	i, l, p := in.Instance, in.Layout, in.Instance.Params
	repo, ok := p.PgbackrestRepo[p.PgbackrestMethod]
	if !ok {
		return nil, fmt.Errorf("render pgbackrest.conf for %s: pgbackrest_method %q names no repo of pgbackrest_repo", i.Name, p.PgbackrestMethod)
	}
	repoLines, err := RepoOptions(repo, 1, i.Cluster, l)
	if err != nil {
		return nil, fmt.Errorf("render pgbackrest.conf for %s: pgbackrest_repo.%s: %w", i.Name, p.PgbackrestMethod, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# pgBackRest configuration of %s, written by pigsty from pgbackrest_repo.%s: changes are overwritten.\n", i.Name, p.PgbackrestMethod)
	fmt.Fprintf(&b, "[%s]\n", i.Cluster)
	fmt.Fprintf(&b, "pg1-path=%s\n", l.Data())
	fmt.Fprintf(&b, "pg1-port=%d\n", p.PgPort)
	fmt.Fprintf(&b, "pg1-socket-path=%s\n", l.Socket())
	fmt.Fprintf(&b, "pg1-user=%s\n", p.PgDbsu)
	b.WriteString("\n[global]\n")
	global := []string{
		"annotation=pg_cluster=" + i.Cluster,
		"archive-async=y",
		"archive-push-queue-max=4GiB",
		"compress-type=zst",
		"delta=y",
		"expire-auto=y",
		"lock-path=" + LockPath(l),
		"log-level-console=info",
		"log-level-file=info",
		"log-path=" + l.PgbackrestLog(),
		"spool-path=" + l.Spool(),
		"start-fast=y",
	}
	for _, line := range append(global, repoLines...) {
		b.WriteString(line + "\n")
	}
	transfer := min(max((in.CPU+3)/4, 2), 4)
	for _, s := range []struct {
		cmd string
		n   int
	}{{"archive-get", transfer}, {"archive-push", transfer}, {"backup", transfer}, {"restore", min(max(in.CPU, 1), 8)}} {
		fmt.Fprintf(&b, "\n[global:%s]\nprocess-max=%d\n", s.cmd, s.n)
	}
	return []byte(b.String()), nil
}

var repoKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// RepoOptions turns one pgbackrest_repo entry into repoN- options, sorted:
// `retention_full: 2` becomes `repo1-retention-full=2`, ${pg_cluster} is
// the cluster's name. Values that name files of the host (a posix repo's
// path, CA and key files) are put under the layout's root; an object
// store's path is a key prefix and stays as given.
func RepoOptions(repo map[string]inventory.Scalar, n int, cluster string, l layout.Layout) ([]string, error) {
	keys := make([]string, 0, len(repo))
	for k := range repo {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	posix := true
	if t, ok := repo["type"]; ok && t != "posix" && t != "cifs" {
		posix = false
	}
	var out []string
	for _, k := range keys {
		if !repoKey.MatchString(k) {
			return nil, fmt.Errorf("key %q: allowed: pgBackRest repository options in lower case with underscores (retention_full, s3_bucket, …)", k)
		}
		v := strings.ReplaceAll(string(repo[k]), "${pg_cluster}", cluster)
		if strings.ContainsAny(v, "\n\r") {
			return nil, fmt.Errorf("%s: a value must be one line", k)
		}
		if (k == "path" && posix) || strings.HasSuffix(k, "_file") || k == "storage_ca_path" {
			v = l.Path(v)
		}
		out = append(out, "repo"+strconv.Itoa(n)+"-"+strings.ReplaceAll(k, "_", "-")+"="+v)
	}
	return out, nil
}
