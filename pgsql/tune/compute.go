package tune

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Input is a template choice, the host's size and the Pigsty parameters the
// templates read. Zero values take Pigsty's defaults, noted per field.
type Input struct {
	Template           string   // pg_conf: oltp | olap | crit | tiny, ".yml" optional; "" = oltp
	Version            int      // PostgreSQL major, 13–18
	Spec               Spec     // host size
	MaxConn            int      // pg_max_conn; below 20 (0 included) means auto
	SharedBufferRatio  float64  // pg_shared_buffer_ratio, 0.1–0.4; 0 = 0.25
	DefaultServiceDest string   // pg_default_service_dest: pgbouncer | postgres; "" = pgbouncer
	Libs               []string // pg_libs split and trimmed; empty = pg_stat_statements, auto_explain
	StorageType        string   // pg_storage_type: SSD | HDD; "" = SSD
	IOMethod           string   // pg_io_method: auto | sync | fsync | worker | io_uring; "" = worker (PG18 only)
	OSFamily           string   // deb | el, for io_method auto
	OSMajor            int      // OS major version, for io_method auto on EL (io_uring from EL10)
	LogDir             string   // pg_log_dir → log_directory; "" = /pg/log/postgres
	ArchiveCommand     string   // "" leaves archiving off; else archive_mode on, archive_timeout 300
	PrimaryDB          string   // pg_primary_db → cron.database_name; "" = postgres
	PwdEnc             string   // pg_pwd_enc → password_encryption: scram-sha-256 | md5; "" = scram-sha-256
	CertDir            string   // where server.crt, server.key and ca.crt live; "" = /pg/cert
}

// Param is one PostgreSQL setting. Value is the text PostgreSQL parses, as
// it would stand between the quotes in postgresql.conf ("8GB", "on",
// "postgresql-%a.log"). Writers quote every value as a YAML or conf string:
// unquoted, YAML would read "on" as a boolean and "0640" as a number.
type Param struct{ Name, Value string }

// Result is the rendered parameter set and the figures it was built from.
type Result struct {
	Template string // normalized template name
	// Params are the template's postgresql parameters for the DCS
	// bootstrap section, sorted by name.
	Params []Param
	// LocalParams belong in the member's own postgresql.parameters section
	// (not the DCS), sorted by name.
	LocalParams []Param

	MaxConnections          int
	SharedBuffersMB         int
	MaintenanceWorkMemMB    int
	EffectiveCacheSizeMB    int
	WorkMemMB               int
	MaxPreparedTransactions int
	MaxLocksPerTransaction  int

	MaxWorkerProcesses            int // as written, including the 8 extra slots
	MaxParallelWorkers            int
	MaxParallelWorkersPerGather   int
	MaxParallelMaintenanceWorkers int
	IOMethod                      string // effective io_method; "" before PG18
	IOWorkers                     int    // 0 before PG18

	Twentieth            int // pg_size_twentieth: disk / 20 GiB, rounded up, 1–100
	MinWALSizeGB         int
	MaxWALSizeGB         int
	MaxSlotWALKeepSizeGB int
	TempFileLimitGB      int
}

// Get returns the value of a parameter from Params or LocalParams.
func (r Result) Get(name string) (string, bool) {
	for _, ps := range [][]Param{r.Params, r.LocalParams} {
		for _, p := range ps {
			if p.Name == name {
				return p.Value, true
			}
		}
	}
	return "", false
}

const (
	minVersion, maxVersion = 13, 18
	// PostgreSQL's own upper bound for max_connections.
	maxConnLimit = 262143
)

var defaultLibs = []string{"pg_stat_statements", "auto_explain"}

// Compute applies a template's formulas to the host and parameters in in.
func Compute(in Input) (Result, error) {
	t, err := lookup(in.Template)
	if err != nil {
		return Result{}, err
	}
	in, err = normalize(in)
	if err != nil {
		return Result{}, fmt.Errorf("tune %s: %w", t.name, err)
	}
	r := t.figures(in)
	r.Params, r.LocalParams = t.params(in, r)
	return r, nil
}

func normalize(in Input) (Input, error) {
	var errs []error
	if in.Version < minVersion || in.Version > maxVersion {
		errs = append(errs, fmt.Errorf("pg_version %d: supported %d–%d", in.Version, minVersion, maxVersion))
	}
	if err := in.Spec.validate(); err != nil {
		errs = append(errs, err)
	}
	if in.MaxConn > maxConnLimit {
		errs = append(errs, fmt.Errorf("pg_max_conn %d: PostgreSQL allows at most %d", in.MaxConn, maxConnLimit))
	}
	if in.SharedBufferRatio == 0 {
		in.SharedBufferRatio = 0.25
	}
	if math.IsNaN(in.SharedBufferRatio) || in.SharedBufferRatio < 0.1 || in.SharedBufferRatio > 0.4 {
		errs = append(errs, fmt.Errorf("pg_shared_buffer_ratio %v: allowed 0.1–0.4", in.SharedBufferRatio))
	}
	in.DefaultServiceDest = orDefault(in.DefaultServiceDest, "pgbouncer")
	if !slices.Contains([]string{"pgbouncer", "postgres"}, in.DefaultServiceDest) {
		errs = append(errs, fmt.Errorf("pg_default_service_dest %q: allowed pgbouncer, postgres", in.DefaultServiceDest))
	}
	if len(in.Libs) == 0 {
		in.Libs = defaultLibs
	}
	for _, l := range in.Libs {
		if l == "" || strings.ContainsAny(l, ", \t'") {
			errs = append(errs, fmt.Errorf("pg_libs entry %q: want one library name per entry", l))
		}
	}
	in.StorageType = orDefault(in.StorageType, "SSD")
	if in.StorageType != "SSD" && in.StorageType != "HDD" {
		errs = append(errs, fmt.Errorf("pg_storage_type %q: allowed SSD, HDD", in.StorageType))
	}
	in.IOMethod = orDefault(in.IOMethod, "worker")
	if in.IOMethod == "fsync" {
		in.IOMethod = "sync"
	}
	if !slices.Contains([]string{"auto", "sync", "worker", "io_uring"}, in.IOMethod) {
		errs = append(errs, fmt.Errorf("pg_io_method %q: allowed auto, sync (or fsync), worker, io_uring", in.IOMethod))
	}
	if in.OSFamily != "" && in.OSFamily != "deb" && in.OSFamily != "el" {
		errs = append(errs, fmt.Errorf("os family %q: allowed deb, el", in.OSFamily))
	}
	in.PwdEnc = orDefault(in.PwdEnc, "scram-sha-256")
	if in.PwdEnc != "scram-sha-256" && in.PwdEnc != "md5" {
		errs = append(errs, fmt.Errorf("pg_pwd_enc %q: allowed scram-sha-256, md5", in.PwdEnc))
	}
	in.LogDir = orDefault(in.LogDir, "/pg/log/postgres")
	in.PrimaryDB = orDefault(in.PrimaryDB, "postgres")
	in.CertDir = strings.TrimSuffix(orDefault(in.CertDir, "/pg/cert"), "/")
	return in, errors.Join(errs...)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (t *template) figures(in Input) Result {
	s := in.Spec
	r := Result{Template: t.name}

	r.MaxConnections = in.MaxConn
	if in.MaxConn < 20 {
		r.MaxConnections = t.autoConnDirect
		if in.DefaultServiceDest == "pgbouncer" {
			r.MaxConnections = t.autoConnPooled
		}
	}
	citus := slices.Contains(in.Libs, "citus")
	if citus {
		r.MaxPreparedTransactions = r.MaxConnections
	}
	r.MaxLocksPerTransaction = t.locks * r.MaxConnections
	if citus || slices.Contains(in.Libs, "timescaledb") {
		r.MaxLocksPerTransaction = t.locksExt * r.MaxConnections
	}

	r.SharedBuffersMB = int(math.Ceil(float64(s.MemMB) * in.SharedBufferRatio))
	r.MaintenanceWorkMemMB = int(math.Ceil(float64(r.SharedBuffersMB) * t.maintenanceRatio))
	r.EffectiveCacheSizeMB = s.MemMB - r.SharedBuffersMB
	r.WorkMemMB = min(max(r.SharedBuffersMB/r.MaxConnections, t.workMemMin), t.workMemMax)

	r.MaxWorkerProcesses = t.workerProcesses(s.CPU) + 8
	r.MaxParallelWorkers = t.parallelWorkers(s.CPU)
	r.MaxParallelWorkersPerGather = t.parallelGather(s.CPU)
	r.MaxParallelMaintenanceWorkers = t.parallelMaintenance(s.CPU)
	if in.Version >= 18 {
		r.IOMethod = effectiveIOMethod(in)
		r.IOWorkers = t.ioWorkers(s.CPU)
	}

	r.Twentieth = s.twentieth()
	r.MinWALSizeGB = min(r.Twentieth, 200)
	r.MaxWALSizeGB = min(4*r.Twentieth, 2000)
	r.MaxSlotWALKeepSizeGB = min(6*r.Twentieth, 3000)
	r.TempFileLimitGB = min(t.tempFileTwentieths*r.Twentieth, 200*t.tempFileTwentieths)
	return r
}

// effectiveIOMethod resolves pg_io_method auto the way Pigsty does:
// io_uring where the distribution ships a liburing-enabled PostgreSQL
// (Debian family, EL10 and later), worker elsewhere.
func effectiveIOMethod(in Input) string {
	if in.IOMethod != "auto" {
		return in.IOMethod
	}
	if in.OSFamily == "deb" || (in.OSFamily == "el" && in.OSMajor >= 10) {
		return "io_uring"
	}
	return "worker"
}
