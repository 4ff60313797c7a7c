package install

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The Debian packaging creates a cluster called "main" for every
// postgresql-NN it installs and starts it on port 5432. pigsty runs its own
// instances under Patroni, so that cluster only occupies the port; it is
// prevented where possible and removed only when it provably holds no data.

const (
	createClusterConf = "/etc/postgresql-common/createcluster.conf"
	pgLsClusters      = "/usr/bin/pg_lsclusters"
	pgDropCluster     = "/usr/bin/pg_dropcluster"
	// firstNormalObjectID is where PostgreSQL starts numbering objects
	// created after initdb; everything below belongs to initdb.
	firstNormalObjectID = 16384
)

// disableMainCluster sets create_main_cluster = false in a createcluster.conf
// text, keeping every other line. It reports whether anything changed.
func disableMainCluster(conf string) (string, bool) {
	lines := strings.Split(conf, "\n")
	found, changed := false, false
	for i, l := range lines {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok || strings.TrimSpace(k) != "create_main_cluster" {
			continue
		}
		found = true
		switch strings.ToLower(strings.Trim(strings.TrimSpace(v), `'"`)) {
		case "false", "off", "no", "0":
			continue
		}
		lines[i] = "create_main_cluster = false"
		changed = true
	}
	if found {
		return strings.Join(lines, "\n"), changed
	}
	if conf != "" && !strings.HasSuffix(conf, "\n") {
		conf += "\n"
	}
	return conf + "# pigsty runs its own instances: no automatic cluster per installed major\ncreate_main_cluster = false\n", true
}

// ensureNoMainCluster writes create_main_cluster = false into path before
// any postgresql-NN is installed, creating the file if needed.
func ensureNoMainCluster(path string) (bool, error) {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	conf, changed := disableMainCluster(string(old))
	if !changed {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	return true, os.WriteFile(path, []byte(conf), 0o644)
}

// pgCluster is one entry of `pg_lsclusters --json`.
type pgCluster struct {
	Version   int    `json:"version"`
	Cluster   string `json:"cluster"`
	Running   int    `json:"running"`
	PGData    string `json:"pgdata"`
	Port      string `json:"port"`
	SocketDir string `json:"socketdir"`
	OwnerUID  int    `json:"owneruid"`
	OwnerGID  int    `json:"ownergid"`
}

func (c pgCluster) String() string { return fmt.Sprintf("%d/%s", c.Version, c.Cluster) }

func (c pgCluster) bin(name string) string {
	return fmt.Sprintf("/usr/lib/postgresql/%d/bin/%s", c.Version, name)
}

func listClusters(ctx context.Context) ([]pgCluster, error) {
	if _, err := os.Stat(pgLsClusters); err != nil {
		return nil, nil
	}
	cmd := exec.CommandContext(ctx, pgLsClusters, "--json")
	cmd.Env = aptEnv()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pg_lsclusters: %w", err)
	}
	var cs []pgCluster
	if err := json.Unmarshal(out, &cs); err != nil {
		return nil, fmt.Errorf("pg_lsclusters: %w", err)
	}
	return cs, nil
}

// handleMainClusters drops the distribution's "main" clusters that hold no
// user data and leaves every other one untouched, returning what happened
// for the report. With dryRun it only says what it would do.
func handleMainClusters(ctx context.Context, dryRun bool) (string, error) {
	cs, err := listClusters(ctx)
	if err != nil {
		return "", err
	}
	var notes []string
	for _, c := range cs {
		if c.Cluster != "main" {
			continue
		}
		empty, why := clusterEmpty(ctx, c)
		status := "down"
		if c.Running != 0 {
			status = "running"
		}
		where := fmt.Sprintf("%s (port %s, %s, %s)", c, c.Port, status, c.PGData)
		switch {
		case !empty:
			notes = append(notes, fmt.Sprintf("kept %s: %s. pigsty leaves it untouched; decide: back it up and remove it with `pg_dropcluster --stop %d main`, or keep it and run pigsty's instance on another port and data directory",
				where, why, c.Version))
		case dryRun:
			notes = append(notes, fmt.Sprintf("would drop %s: %s", where, why))
		default:
			cmd := exec.CommandContext(ctx, pgDropCluster, "--stop", strconv.Itoa(c.Version), "main")
			cmd.Env = aptEnv()
			if out, err := cmd.CombinedOutput(); err != nil {
				return strings.Join(notes, "; "), fmt.Errorf("pg_dropcluster --stop %d main: %w: %s", c.Version, err, bytes.TrimSpace(out))
			}
			notes = append(notes, fmt.Sprintf("dropped %s: %s", where, why))
		}
	}
	if len(notes) == 0 {
		return "none", nil
	}
	return strings.Join(notes, "; "), nil
}

// clusterEmpty decides whether a cluster holds nothing but what initdb
// created. Any doubt counts as data. A running cluster is asked through
// SQL; a stopped one must have been shut down cleanly (otherwise committed
// work may still sit in WAL only) and pass both offline tests:
//   - pg_control's NextOID is at most 16384: no database, role, schema,
//     table, view, function, type, extension or large object was ever
//     created, since each takes an OID from that counter;
//   - on disk: no database directory and no relation file numbered from
//     16384 on, and pg_tblspc is empty.
func clusterEmpty(ctx context.Context, c pgCluster) (bool, string) {
	if c.Running != 0 {
		return onlineEmpty(ctx, c)
	}
	cmd := exec.CommandContext(ctx, c.bin("pg_controldata"), c.PGData)
	cmd.Env = aptEnv()
	out, err := cmd.Output()
	if err != nil {
		return false, fmt.Sprintf("cannot inspect it (pg_controldata: %v)", err)
	}
	state, nextOID, err := parseControlData(string(out))
	if err != nil {
		return false, fmt.Sprintf("cannot inspect it (%v)", err)
	}
	if state != "shut down" {
		return false, fmt.Sprintf("it was not shut down cleanly (state %q), so WAL may hold data", state)
	}
	if nextOID > firstNormalObjectID {
		return false, fmt.Sprintf("objects were created in it (NextOID %d > %d)", nextOID, firstNormalObjectID)
	}
	if f, err := userFile(c.PGData); err != nil || f != "" {
		if err != nil {
			return false, fmt.Sprintf("cannot inspect it (%v)", err)
		}
		return false, "it holds " + f
	}
	return true, fmt.Sprintf("held no user data (cleanly shut down, NextOID %d, only initdb's files)", nextOID)
}

func parseControlData(out string) (state string, nextOID uint64, err error) {
	seen := false
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Database cluster state":
			state = v
		case "Latest checkpoint's NextOID":
			nextOID, err = strconv.ParseUint(v, 10, 32)
			if err != nil {
				return "", 0, fmt.Errorf("pg_controldata NextOID %q: %w", v, err)
			}
			seen = true
		}
	}
	if state == "" || !seen {
		return "", 0, errors.New("pg_controldata printed no cluster state or NextOID")
	}
	return state, nextOID, nil
}

// userFile names the first file in a data directory that initdb did not
// create, or returns "".
func userFile(pgdata string) (string, error) {
	if ts, err := os.ReadDir(filepath.Join(pgdata, "pg_tblspc")); err != nil {
		return "", err
	} else if len(ts) > 0 {
		return "a tablespace (pg_tblspc/" + ts[0].Name() + ")", nil
	}
	dirs := []string{"global"}
	dbs, err := os.ReadDir(filepath.Join(pgdata, "base"))
	if err != nil {
		return "", err
	}
	for _, d := range dbs {
		if n, ok := leadingNumber(d.Name()); ok && n >= firstNormalObjectID {
			return "a user database (base/" + d.Name() + ")", nil
		}
		dirs = append(dirs, filepath.Join("base", d.Name()))
	}
	for _, dir := range dirs {
		files, err := os.ReadDir(filepath.Join(pgdata, dir))
		if err != nil {
			return "", err
		}
		for _, f := range files {
			if n, ok := leadingNumber(f.Name()); ok && n >= firstNormalObjectID {
				return "relation file " + filepath.Join(dir, f.Name()), nil
			}
		}
	}
	return "", nil
}

// leadingNumber parses the relfilenode of names like 16384, 16384_fsm and
// 16384.1.
func leadingNumber(name string) (uint64, bool) {
	end := 0
	for end < len(name) && isDigit(name[end]) {
		end++
	}
	if end == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(name[:end], 10, 64)
	return n, err == nil
}

const (
	sharedObjectsQuery = `SELECT (SELECT count(*) FROM pg_database WHERE oid >= 16384)
  + (SELECT count(*) FROM pg_authid WHERE oid >= 16384)
  + (SELECT count(*) FROM pg_tablespace WHERE oid >= 16384)`
	localObjectsQuery = `SELECT (SELECT count(*) FROM pg_class WHERE oid >= 16384)
  + (SELECT count(*) FROM pg_proc WHERE oid >= 16384)
  + (SELECT count(*) FROM pg_namespace WHERE oid >= 16384)
  + (SELECT count(*) FROM pg_type WHERE oid >= 16384)
  + (SELECT count(*) FROM pg_extension WHERE oid >= 16384)
  + (SELECT count(*) FROM pg_largeobject_metadata WHERE oid >= 16384)`
)

// onlineEmpty asks a running cluster, as its owner over the local socket,
// whether any object was created after initdb, in the shared catalogs and
// in every database that accepts connections.
func onlineEmpty(ctx context.Context, c pgCluster) (bool, string) {
	n, err := c.psql(ctx, "postgres", sharedObjectsQuery)
	if err != nil {
		return false, fmt.Sprintf("it is running and could not be asked (%v)", err)
	}
	if n != "0" {
		return false, fmt.Sprintf("it is running and holds %s user databases, roles or tablespaces", n)
	}
	dbs, err := c.psql(ctx, "postgres", "SELECT datname FROM pg_database WHERE datallowconn")
	if err != nil {
		return false, fmt.Sprintf("it is running and could not be asked (%v)", err)
	}
	for _, db := range strings.Fields(dbs) {
		n, err := c.psql(ctx, db, localObjectsQuery)
		if err != nil {
			return false, fmt.Sprintf("it is running and could not be asked (%v)", err)
		}
		if n != "0" {
			return false, fmt.Sprintf("it is running and database %s holds %s user objects", db, n)
		}
	}
	return true, "it was running but held no user objects"
}

func (c pgCluster) psql(ctx context.Context, db, query string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin("psql"), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", c.SocketDir, "-p", c.Port, "-d", db, "-c", query)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "PGCONNECT_TIMEOUT=10"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
		Uid: uint32(c.OwnerUID), Gid: uint32(c.OwnerGID), Groups: []uint32{},
	}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("psql: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(string(out)), nil
}
