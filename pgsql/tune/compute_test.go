package tune

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

var (
	spec1  = Spec{CPU: 1, MemMB: 1024, DiskBytes: 10 * gib}
	spec2  = Spec{CPU: 2, MemMB: 24 * 1024, DiskBytes: 252 * gib}
	spec8  = Spec{CPU: 8, MemMB: 32 * 1024, DiskBytes: 1024 * gib}
	spec64 = Spec{CPU: 64, MemMB: 512 * 1024, DiskBytes: 3072 * gib}
)

// figures are worked out by hand from the formulas, not taken from Compute.
type figures struct {
	conn, sb, maint, cache, work           int
	procs, par, gather, parMaint, ioWorker int
	twentieth, minWAL, maxWAL, slot, temp  int
}

func got(r Result) figures {
	return figures{
		r.MaxConnections, r.SharedBuffersMB, r.MaintenanceWorkMemMB, r.EffectiveCacheSizeMB, r.WorkMemMB,
		r.MaxWorkerProcesses, r.MaxParallelWorkers, r.MaxParallelWorkersPerGather, r.MaxParallelMaintenanceWorkers, r.IOWorkers,
		r.Twentieth, r.MinWALSizeGB, r.MaxWALSizeGB, r.MaxSlotWALKeepSizeGB, r.TempFileLimitGB,
	}
}

func TestFormulas(t *testing.T) {
	cases := []struct {
		tmpl string
		spec Spec
		want figures
	}{
		{"oltp", spec1, figures{500, 256, 64, 768, 64, 24, 2, 2, 2, 4, 1, 1, 4, 6, 1}},
		{"oltp", spec2, figures{500, 6144, 1536, 18432, 64, 24, 2, 2, 2, 4, 13, 13, 52, 78, 13}},
		{"oltp", spec8, figures{500, 8192, 2048, 24576, 64, 24, 4, 2, 3, 4, 52, 52, 208, 312, 52}},
		{"oltp", spec64, figures{500, 131072, 32768, 393216, 262, 80, 32, 8, 22, 16, 100, 100, 400, 600, 100}},

		{"olap", spec1, figures{500, 256, 128, 768, 64, 28, 2, 2, 2, 4, 1, 1, 4, 6, 4}},
		{"olap", spec2, figures{500, 6144, 3072, 18432, 64, 28, 2, 2, 2, 4, 13, 13, 52, 78, 52}},
		{"olap", spec8, figures{500, 8192, 4096, 24576, 64, 28, 7, 4, 3, 4, 52, 52, 208, 312, 208}},
		{"olap", spec64, figures{500, 131072, 65536, 393216, 262, 84, 52, 32, 22, 32, 100, 100, 400, 600, 400}},

		{"crit", spec1, figures{500, 256, 64, 768, 64, 24, 2, 0, 2, 4, 1, 1, 4, 6, 1}},
		{"crit", spec2, figures{500, 6144, 1536, 18432, 64, 24, 2, 0, 2, 4, 13, 13, 52, 78, 13}},
		{"crit", spec8, figures{500, 8192, 2048, 24576, 64, 24, 4, 0, 3, 4, 52, 52, 208, 312, 52}},
		{"crit", spec64, figures{500, 131072, 32768, 393216, 262, 80, 32, 0, 22, 8, 100, 100, 400, 600, 100}},

		{"tiny", spec1, figures{250, 256, 64, 768, 16, 20, 1, 0, 1, 3, 1, 1, 4, 6, 1}},
		{"tiny", spec2, figures{250, 6144, 1536, 18432, 24, 20, 1, 0, 1, 3, 13, 13, 52, 78, 13}},
		{"tiny", spec8, figures{250, 8192, 2048, 24576, 32, 20, 4, 0, 2, 3, 52, 52, 208, 312, 52}},
		{"tiny", spec64, figures{250, 131072, 32768, 393216, 256, 76, 32, 0, 21, 3, 100, 100, 400, 600, 100}},
	}
	for _, c := range cases {
		t.Run(c.tmpl+"/"+c.spec.Tag(), func(t *testing.T) {
			r := mustCompute(t, Input{Template: c.tmpl, Version: 18, Spec: c.spec})
			if g := got(r); g != c.want {
				t.Errorf("figures\n got %+v\nwant %+v", g, c.want)
			}
			// the figures and the written parameters must agree
			for name, want := range map[string]string{
				"max_connections":                  strconv.Itoa(c.want.conn),
				"shared_buffers":                   strconv.Itoa(c.want.sb) + "MB",
				"maintenance_work_mem":             strconv.Itoa(c.want.maint) + "MB",
				"effective_cache_size":             strconv.Itoa(c.want.cache) + "MB",
				"work_mem":                         strconv.Itoa(c.want.work) + "MB",
				"max_worker_processes":             strconv.Itoa(c.want.procs),
				"max_parallel_workers":             strconv.Itoa(c.want.par),
				"max_parallel_workers_per_gather":  strconv.Itoa(c.want.gather),
				"max_parallel_maintenance_workers": strconv.Itoa(c.want.parMaint),
				"io_workers":                       strconv.Itoa(c.want.ioWorker),
				"min_wal_size":                     strconv.Itoa(c.want.minWAL) + "GB",
				"max_wal_size":                     strconv.Itoa(c.want.maxWAL) + "GB",
				"max_slot_wal_keep_size":           strconv.Itoa(c.want.slot) + "GB",
				"temp_file_limit":                  strconv.Itoa(c.want.temp) + "GB",
			} {
				expectParam(t, r, name, want)
			}
		})
	}
}

func TestSpecTag(t *testing.T) {
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{spec1, "1C.1G.10G"},
		{spec2, "2C.24G.252G"},
		{spec8, "8C.32G.1024G"},
		{spec64, "64C.512G.3072G"},
		{Spec{CPU: 2, MemMB: 24106, DiskBytes: 251*gib + 1}, "2C.24G.252G"}, // both round up
		{Spec{CPU: 1, MemMB: 1, DiskBytes: 1}, "1C.1G.1G"},
		{Spec{CPU: 4, MemMB: 8192}, "4C.8G.40G"}, // unknown disk: 40 GiB
	} {
		if g := c.spec.Tag(); g != c.want {
			t.Errorf("%+v: Tag() = %q, want %q", c.spec, g, c.want)
		}
	}
}

func TestClampBoundaries(t *testing.T) {
	type check struct {
		name string
		in   Input
		get  func(Result) int
		want int
	}
	disk := func(b int64) Input { return Input{Version: 18, Spec: Spec{CPU: 2, MemMB: 4096, DiskBytes: b}} }
	cpu := func(tmpl string, c int) Input {
		return Input{Template: tmpl, Version: 18, Spec: Spec{CPU: c, MemMB: 4096, DiskBytes: 100 * gib}}
	}
	conn := func(tmpl string, maxConn, memMB int) Input {
		return Input{Template: tmpl, Version: 18, MaxConn: maxConn, Spec: Spec{CPU: 2, MemMB: memMB, DiskBytes: 100 * gib}}
	}
	twentieth := func(r Result) int { return r.Twentieth }
	procs := func(r Result) int { return r.MaxWorkerProcesses }
	par := func(r Result) int { return r.MaxParallelWorkers }
	gather := func(r Result) int { return r.MaxParallelWorkersPerGather }
	parMaint := func(r Result) int { return r.MaxParallelMaintenanceWorkers }
	io := func(r Result) int { return r.IOWorkers }
	work := func(r Result) int { return r.WorkMemMB }
	maxConn := func(r Result) int { return r.MaxConnections }
	sb := func(r Result) int { return r.SharedBuffersMB }

	for _, c := range []check{
		{"twentieth 1 byte", disk(1), twentieth, 1},
		{"twentieth 20 GiB", disk(20 * gib), twentieth, 1},
		{"twentieth 20 GiB + 1", disk(20*gib + 1), twentieth, 2},
		{"twentieth 2000 GiB", disk(2000 * gib), twentieth, 100},
		{"twentieth 2000 GiB + 1", disk(2000*gib + 1), twentieth, 100},
		{"twentieth unknown disk", disk(0), twentieth, 2},

		{"oltp procs 8C floor", cpu("oltp", 8), procs, 24},
		{"oltp procs 9C", cpu("oltp", 9), procs, 25},
		{"olap procs 8C floor", cpu("olap", 8), procs, 28},
		{"olap procs 9C", cpu("olap", 9), procs, 29},
		{"tiny procs 8C floor", cpu("tiny", 8), procs, 20},
		{"tiny procs 9C", cpu("tiny", 9), procs, 21},

		{"oltp parallel 4C floor", cpu("oltp", 4), par, 2},
		{"oltp parallel 5C", cpu("oltp", 5), par, 3},
		{"olap parallel 2C floor", cpu("olap", 2), par, 2},
		{"olap parallel 3C", cpu("olap", 3), par, 3},
		{"tiny parallel 3C", cpu("tiny", 3), par, 1},
		{"tiny parallel 4C", cpu("tiny", 4), par, 2},

		{"oltp gather 14C floor", cpu("oltp", 14), gather, 2},
		{"oltp gather 15C", cpu("oltp", 15), gather, 3},
		{"oltp gather 44C ceiling", cpu("oltp", 44), gather, 8},
		{"oltp gather 45C ceiling", cpu("oltp", 45), gather, 8},
		{"olap gather 5C floor", cpu("olap", 5), gather, 2},
		{"olap gather 6C", cpu("olap", 6), gather, 3},
		{"crit gather", cpu("crit", 64), gather, 0},

		{"oltp maint 6C floor", cpu("oltp", 6), parMaint, 2},
		{"oltp maint 7C", cpu("oltp", 7), parMaint, 3},
		{"tiny maint 6C", cpu("tiny", 6), parMaint, 1},
		{"tiny maint 7C", cpu("tiny", 7), parMaint, 2},

		{"oltp io 16C floor", cpu("oltp", 16), io, 4},
		{"oltp io 17C", cpu("oltp", 17), io, 5},
		{"oltp io 64C ceiling", cpu("oltp", 64), io, 16},
		{"oltp io 65C ceiling", cpu("oltp", 65), io, 16},
		{"olap io 8C floor", cpu("olap", 8), io, 4},
		{"olap io 9C", cpu("olap", 9), io, 5},
		{"olap io 65C ceiling", cpu("olap", 65), io, 32},
		{"crit io 32C ceiling", cpu("crit", 32), io, 8},
		{"crit io 33C ceiling", cpu("crit", 33), io, 8},
		{"tiny io", cpu("tiny", 64), io, 3},

		{"oltp work_mem floor", conn("oltp", 20, 5100), work, 64},
		{"oltp work_mem 65", conn("oltp", 20, 5200), work, 65},
		{"oltp work_mem at ceiling", conn("oltp", 20, 81920), work, 1024},
		{"oltp work_mem ceiling", conn("oltp", 20, 82000), work, 1024},
		{"oltp work_mem just under ceiling", conn("oltp", 20, 81916), work, 1023},
		{"olap work_mem ceiling", conn("olap", 20, 1024*1024), work, 8192},
		{"olap work_mem beyond oltp ceiling", conn("olap", 20, 82000), work, 1025},
		{"tiny work_mem floor", conn("tiny", 20, 1024), work, 16},
		{"tiny work_mem ceiling", conn("tiny", 20, 20560), work, 256},

		{"max_conn 0 is auto", conn("oltp", 0, 4096), maxConn, 500},
		{"max_conn 19 is auto", conn("oltp", 19, 4096), maxConn, 500},
		{"max_conn 20", conn("oltp", 20, 4096), maxConn, 20},
		{"max_conn negative is auto", conn("tiny", -1, 4096), maxConn, 250},
		{"max_conn 262143", conn("oltp", 262143, 4096), maxConn, 262143},

		{"shared_buffers rounds up", Input{Version: 18, Spec: Spec{CPU: 1, MemMB: 1023}}, sb, 256},
		{"shared_buffers ratio 0.1", Input{Version: 18, SharedBufferRatio: 0.1, Spec: Spec{CPU: 1, MemMB: 1000}}, sb, 100},
		{"shared_buffers ratio 0.4", Input{Version: 18, SharedBufferRatio: 0.4, Spec: Spec{CPU: 1, MemMB: 1000}}, sb, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			if g := c.get(mustCompute(t, c.in)); g != c.want {
				t.Errorf("got %d, want %d", g, c.want)
			}
		})
	}
}

func TestAutoMaxConnections(t *testing.T) {
	for _, c := range []struct {
		tmpl, dest string
		want       int
	}{
		{"oltp", "", 500}, {"oltp", "pgbouncer", 500}, {"oltp", "postgres", 1000},
		{"crit", "pgbouncer", 500}, {"crit", "postgres", 1000},
		{"olap", "pgbouncer", 500}, {"olap", "postgres", 500},
		{"tiny", "pgbouncer", 250}, {"tiny", "postgres", 250},
	} {
		r := mustCompute(t, Input{Template: c.tmpl, Version: 16, Spec: spec2, DefaultServiceDest: c.dest})
		if r.MaxConnections != c.want {
			t.Errorf("%s dest %q: max_connections %d, want %d", c.tmpl, c.dest, r.MaxConnections, c.want)
		}
	}
}

func TestLibraries(t *testing.T) {
	for _, c := range []struct {
		tmpl              string
		libs              []string
		prepared, locks   int
		timescaleWorkers  string
		duckdb, pgsodium  bool
		sharedPreloadLibs string
	}{
		{"oltp", nil, 0, 500, "", false, false, "pg_stat_statements, auto_explain"},
		{"oltp", []string{"citus", "pg_stat_statements"}, 500, 1000, "", false, false, "citus, pg_stat_statements"},
		{"olap", []string{"citus"}, 500, 2000, "", false, false, "citus"},
		{"olap", []string{"auto_explain"}, 0, 1000, "", false, false, "auto_explain"},
		{"oltp", []string{"timescaledb", "pg_stat_statements"}, 0, 1000, "16", false, false, "timescaledb, pg_stat_statements"},
		{"olap", []string{"timescaledb"}, 0, 2000, "20", false, false, "timescaledb"},
		{"oltp", []string{"pg_duckdb", "pgsodium"}, 0, 500, "", true, true, "pg_duckdb, pgsodium"},
		{"crit", []string{"pg_duckdb"}, 0, 500, "", false, false, "pg_duckdb"},
		{"oltp", []string{"citus_columnar"}, 0, 500, "", false, false, "citus_columnar"},
	} {
		r := mustCompute(t, Input{Template: c.tmpl, Version: 17, Spec: spec2, Libs: c.libs})
		name := c.tmpl + " " + strings.Join(c.libs, ",")
		if r.MaxPreparedTransactions != c.prepared || r.MaxLocksPerTransaction != c.locks {
			t.Errorf("%s: prepared %d locks %d, want %d %d", name, r.MaxPreparedTransactions, r.MaxLocksPerTransaction, c.prepared, c.locks)
		}
		expectParam(t, r, "shared_preload_libraries", c.sharedPreloadLibs)
		expectParam(t, r, "timescaledb.max_background_workers", c.timescaleWorkers)
		expectParam(t, r, "duckdb.allow_community_extensions", onOrAbsent(c.duckdb))
		expectParam(t, r, "pgsodium.getkey_script", map[bool]string{true: "/pg/bin/pgsodium_getkey"}[c.pgsodium])
	}
}

func TestVersionGating(t *testing.T) {
	for _, c := range []struct {
		tmpl    string
		version int
		param   string
		want    string // "" means absent
	}{
		{"oltp", 14, "wal_compression", ""},
		{"oltp", 15, "wal_compression", "lz4"},
		{"oltp", 17, "io_method", ""},
		{"oltp", 17, "io_workers", ""},
		{"oltp", 17, "file_copy_method", ""},
		{"oltp", 18, "io_method", "worker"},
		{"oltp", 18, "file_copy_method", "clone"},
		{"oltp", 17, "idle_replication_slot_timeout", ""},
		{"oltp", 18, "idle_replication_slot_timeout", "7d"},
		{"crit", 18, "idle_replication_slot_timeout", "3d"},
		{"oltp", 16, "sync_replication_slots", ""},
		{"oltp", 17, "sync_replication_slots", "on"},
		{"oltp", 17, "log_lock_failures", ""},
		{"oltp", 18, "log_lock_failures", "on"},
		{"crit", 18, "log_lock_failures", "on"},
		{"olap", 18, "log_lock_failures", ""},
		{"tiny", 18, "log_lock_failures", ""},
		{"oltp", 17, "log_connections", ""},
		{"oltp", 18, "log_connections", "authorization"},
		{"olap", 18, "log_connections", "authorization"},
		{"tiny", 18, "log_connections", ""},
		{"crit", 17, "log_connections", "on"},
		{"crit", 18, "log_connections", "receipt,authentication,authorization"},
		{"crit", 13, "log_disconnections", "on"},
		{"oltp", 18, "log_disconnections", ""},
		{"olap", 17, "track_cost_delay_timing", ""},
		{"olap", 18, "track_cost_delay_timing", "on"},
		{"crit", 18, "track_cost_delay_timing", "on"},
		{"oltp", 18, "track_cost_delay_timing", ""},
		{"crit", 15, "vacuum_defer_cleanup_age", "500000"},
		{"crit", 16, "vacuum_defer_cleanup_age", ""},
		{"oltp", 15, "vacuum_defer_cleanup_age", ""},
	} {
		r := mustCompute(t, Input{Template: c.tmpl, Version: c.version, Spec: spec8})
		g, _ := r.Get(c.param)
		if g != c.want {
			t.Errorf("%s PG%d %s = %q, want %q", c.tmpl, c.version, c.param, g, c.want)
		}
	}
}

func TestTemplateDifferences(t *testing.T) {
	for _, c := range []struct {
		tmpl, param, want string
	}{
		{"oltp", "parallel_setup_cost", "2000"},
		{"oltp", "min_parallel_table_scan_size", "32MB"},
		{"oltp", "min_parallel_index_scan_size", "2MB"},
		{"crit", "parallel_tuple_cost", "0.2"},
		{"olap", "parallel_setup_cost", ""},
		{"tiny", "parallel_setup_cost", ""},
		{"olap", "vacuum_cost_delay", "10ms"},
		{"olap", "vacuum_cost_limit", "10000"},
		{"oltp", "vacuum_cost_limit", "2000"},
		{"olap", "enable_partitionwise_join", "on"},
		{"olap", "enable_partitionwise_aggregate", "on"},
		{"oltp", "enable_partitionwise_join", ""},
		{"oltp", "default_statistics_target", "400"},
		{"olap", "default_statistics_target", "1000"},
		{"tiny", "default_statistics_target", "200"},
		{"oltp", "log_min_duration_statement", "100"},
		{"olap", "log_min_duration_statement", "1000"},
		{"oltp", "idle_in_transaction_session_timeout", "10min"},
		{"olap", "idle_in_transaction_session_timeout", "0"},
		{"crit", "idle_in_transaction_session_timeout", "1min"},
		{"crit", "wal_writer_delay", "10ms"},
		{"crit", "wal_writer_flush_after", "0"},
		{"oltp", "wal_writer_flush_after", "1MB"},
		{"crit", "track_activity_query_size", "32768"},
		{"oltp", "track_activity_query_size", "8192"},
		{"olap", "autovacuum_vacuum_threshold", "1000"},
		{"olap", "autovacuum_analyze_threshold", "500"},
		{"oltp", "autovacuum_vacuum_threshold", "500"},
		{"tiny", "autovacuum_max_workers", "2"},
		{"tiny", "autovacuum_vacuum_scale_factor", ""},
		{"oltp", "autovacuum_vacuum_scale_factor", "0.08"},
		{"tiny", "pg_stat_statements.max", "2500"},
		{"oltp", "pg_stat_statements.max", "10000"},
		{"oltp", "checkpoint_completion_target", "0.95"},
	} {
		r := mustCompute(t, Input{Template: c.tmpl, Version: 18, Spec: spec8})
		if g, _ := r.Get(c.param); g != c.want {
			t.Errorf("%s %s = %q, want %q", c.tmpl, c.param, g, c.want)
		}
	}
}

func TestIOMethod(t *testing.T) {
	for _, c := range []struct {
		method, family string
		major          int
		want           string
	}{
		{"", "deb", 12, "worker"},
		{"worker", "el", 9, "worker"},
		{"sync", "deb", 12, "sync"},
		{"fsync", "deb", 12, "sync"},
		{"io_uring", "el", 8, "io_uring"},
		{"auto", "deb", 12, "io_uring"},
		{"auto", "el", 9, "worker"},
		{"auto", "el", 10, "io_uring"},
		{"auto", "", 0, "worker"},
	} {
		r := mustCompute(t, Input{Version: 18, Spec: spec2, IOMethod: c.method, OSFamily: c.family, OSMajor: c.major})
		if r.IOMethod != c.want {
			t.Errorf("pg_io_method %q on %s%d: %q, want %q", c.method, c.family, c.major, r.IOMethod, c.want)
		}
		expectParam(t, r, "io_method", c.want)
	}
	r := mustCompute(t, Input{Version: 17, Spec: spec2, IOMethod: "auto", OSFamily: "deb"})
	if r.IOMethod != "" || r.IOWorkers != 0 {
		t.Errorf("PG17: io method %q workers %d, want none", r.IOMethod, r.IOWorkers)
	}
}

func TestInputsWrittenThrough(t *testing.T) {
	r := mustCompute(t, Input{
		Template: "oltp.yml", Version: 15, Spec: spec2,
		StorageType: "HDD", LogDir: "/var/log/pg", PrimaryDB: "meta", PwdEnc: "md5", CertDir: "/etc/pki/pg/",
		ArchiveCommand: "pgbackrest --stanza=pg-meta archive-push %p",
	})
	if r.Template != "oltp" {
		t.Errorf("template %q, want oltp", r.Template)
	}
	for name, want := range map[string]string{
		"random_page_cost":           "",
		"effective_io_concurrency":   "",
		"maintenance_io_concurrency": "",
		"log_directory":              "/var/log/pg",
		"cron.database_name":         "meta",
		"password_encryption":        "md5",
		"ssl_ca_file":                "/etc/pki/pg/ca.crt",
		"archive_mode":               "on",
		"archive_timeout":            "300",
		"archive_command":            "pgbackrest --stanza=pg-meta archive-push %p",
		"unix_socket_directories":    "/var/run/postgresql, /tmp",
	} {
		expectParam(t, r, name, want)
	}

	r = mustCompute(t, Input{Version: 15, Spec: spec2})
	for name, want := range map[string]string{
		"random_page_cost":         "1.1",
		"effective_io_concurrency": "200",
		"log_directory":            "/pg/log/postgres",
		"cron.database_name":       "postgres",
		"password_encryption":      "scram-sha-256",
		"ssl_cert_file":            "/pg/cert/server.crt",
		"archive_mode":             "",
		"archive_command":          "",
	} {
		expectParam(t, r, name, want)
	}
}

func TestParamsSortedAndUnique(t *testing.T) {
	for _, tmpl := range Templates() {
		r := mustCompute(t, Input{Template: tmpl, Version: 18, Spec: spec64, Libs: []string{"timescaledb", "pgsodium", "pg_duckdb"}, ArchiveCommand: "true"})
		names := make([]string, len(r.Params))
		for i, p := range r.Params {
			names[i] = p.Name
			if p.Value == "" {
				t.Errorf("%s: %s has an empty value", tmpl, p.Name)
			}
		}
		if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Errorf("%s: parameter names not sorted and unique: %v", tmpl, names)
		}
	}
}

func TestComputeErrors(t *testing.T) {
	ok := Input{Version: 15, Spec: spec2}
	for _, c := range []struct {
		name   string
		modify func(*Input)
		want   string
	}{
		{"unknown template", func(in *Input) { in.Template = "htap" }, `unknown pg_conf template "htap": allowed oltp, olap, crit, tiny`},
		{"version too old", func(in *Input) { in.Version = 12 }, "pg_version 12: supported 13–18"},
		{"version too new", func(in *Input) { in.Version = 19 }, "pg_version 19"},
		{"no cpu", func(in *Input) { in.Spec.CPU = 0 }, "cpu count 0"},
		{"no memory", func(in *Input) { in.Spec.MemMB = 0 }, "memory 0 MiB"},
		{"negative disk", func(in *Input) { in.Spec.DiskBytes = -1 }, "must not be negative"},
		{"ratio too low", func(in *Input) { in.SharedBufferRatio = 0.09 }, "pg_shared_buffer_ratio 0.09: allowed 0.1–0.4"},
		{"ratio too high", func(in *Input) { in.SharedBufferRatio = 0.41 }, "pg_shared_buffer_ratio 0.41"},
		{"ratio negative", func(in *Input) { in.SharedBufferRatio = -0.25 }, "pg_shared_buffer_ratio -0.25"},
		{"max_conn too high", func(in *Input) { in.MaxConn = 262144 }, "pg_max_conn 262144: PostgreSQL allows at most 262143"},
		{"service dest", func(in *Input) { in.DefaultServiceDest = "haproxy" }, `pg_default_service_dest "haproxy": allowed pgbouncer, postgres`},
		{"storage", func(in *Input) { in.StorageType = "ssd" }, `pg_storage_type "ssd": allowed SSD, HDD`},
		{"io method", func(in *Input) { in.IOMethod = "aio" }, `pg_io_method "aio"`},
		{"os family", func(in *Input) { in.OSFamily = "arch" }, `os family "arch"`},
		{"pwd enc", func(in *Input) { in.PwdEnc = "plain" }, `pg_pwd_enc "plain"`},
		{"unsplit libs", func(in *Input) { in.Libs = []string{"pg_stat_statements, auto_explain"} }, "one library name per entry"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := ok
			c.modify(&in)
			_, err := Compute(in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
	_, err := Compute(Input{Template: "crit", Version: 11, Spec: Spec{}})
	if err == nil || !strings.HasPrefix(err.Error(), "tune crit: ") || !strings.Contains(err.Error(), "cpu count") || !strings.Contains(err.Error(), "pg_version 11") {
		t.Errorf("want every problem reported under the template name, got %v", err)
	}
}

func TestTemplates(t *testing.T) {
	if g := strings.Join(Templates(), " "); g != "oltp olap crit tiny" {
		t.Errorf("Templates() = %s", g)
	}
	for _, n := range []string{"", "oltp", "oltp.yml", " crit.yml "} {
		if _, err := lookup(n); err != nil {
			t.Errorf("lookup(%q): %v", n, err)
		}
	}
}

func TestTraits(t *testing.T) {
	for _, c := range []struct {
		tmpl     string
		rpo      int64
		watchdog string
		want     TemplateTraits
	}{
		{"oltp", 1048576, "off", TemplateTraits{WatchdogMode: "off", PatroniLogFiles: 4, PatroniLogFileSize: 32 << 20}},
		{"oltp", 0, "", TemplateTraits{SynchronousMode: true, WatchdogMode: "off", PatroniLogFiles: 4, PatroniLogFileSize: 32 << 20}},
		{"olap", 1, "required", TemplateTraits{WatchdogMode: "required", PatroniLogFiles: 4, PatroniLogFileSize: 32 << 20}},
		{"tiny", 0, "automatic", TemplateTraits{SynchronousMode: true, WatchdogMode: "automatic", PatroniLogFiles: 4, PatroniLogFileSize: 32 << 20}},
		{"crit", 1048576, "off", TemplateTraits{SynchronousMode: true, SynchronousModeStrict: true, WatchdogMode: "automatic", DataChecksums: true, PatroniLogFiles: 16, PatroniLogFileSize: 32 << 20}},
		{"crit.yml", 0, "required", TemplateTraits{SynchronousMode: true, SynchronousModeStrict: true, WatchdogMode: "required", DataChecksums: true, PatroniLogFiles: 16, PatroniLogFileSize: 32 << 20}},
	} {
		g, err := Traits(c.tmpl, c.rpo, c.watchdog)
		if err != nil || g != c.want {
			t.Errorf("Traits(%s, %d, %q) = %+v, %v; want %+v", c.tmpl, c.rpo, c.watchdog, g, err, c.want)
		}
	}
	for _, c := range []struct {
		tmpl, watchdog, want string
		rpo                  int64
	}{
		{"htap", "off", "unknown pg_conf template", 0},
		{"oltp", "on", `patroni_watchdog_mode "on": allowed off, automatic, required`, 0},
		{"oltp", "off", "pg_rpo -1", -1},
	} {
		if _, err := Traits(c.tmpl, c.rpo, c.watchdog); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Traits(%s, %d, %q): error %v, want %q", c.tmpl, c.rpo, c.watchdog, err, c.want)
		}
	}
}

func mustCompute(t *testing.T, in Input) Result {
	t.Helper()
	r, err := Compute(in)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return r
}

// expectParam checks one parameter; want "" means it must be absent.
func expectParam(t *testing.T, r Result, name, want string) {
	t.Helper()
	g, ok := r.Get(name)
	switch {
	case want == "" && ok:
		t.Errorf("%s: %s = %q, want it absent", r.Template, name, g)
	case want != "" && g != want:
		t.Errorf("%s: %s = %q, want %q", r.Template, name, g, want)
	}
}

func onOrAbsent(b bool) string {
	if b {
		return "on"
	}
	return ""
}
