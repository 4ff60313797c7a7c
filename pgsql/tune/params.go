package tune

import (
	"slices"
	"strconv"
	"strings"
)

type paramSet map[string]string

func (p paramSet) set(name, value string) { p[name] = value }
func (p paramSet) num(name string, v int) { p[name] = strconv.Itoa(v) }
func (p paramSet) mb(name string, v int)  { p[name] = strconv.Itoa(v) + "MB" }
func (p paramSet) gb(name string, v int)  { p[name] = strconv.Itoa(v) + "GB" }
func (p paramSet) on(names ...string) {
	for _, n := range names {
		p[n] = "on"
	}
}

func (p paramSet) sorted() []Param {
	out := make([]Param, 0, len(p))
	for n, v := range p {
		out = append(out, Param{n, v})
	}
	slices.SortFunc(out, func(a, b Param) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// params writes the template's parameter list for the figures in r. The
// grouping follows the sections of Pigsty's templates.
func (t *template) params(in Input, r Result) (dcs, local []Param) {
	p := paramSet{}
	v := in.Version

	// identity and replication capacity: must match on every member
	p.num("max_connections", r.MaxConnections)
	p.num("superuser_reserved_connections", 10)
	p.num("max_locks_per_transaction", r.MaxLocksPerTransaction)
	p.num("max_prepared_transactions", r.MaxPreparedTransactions)
	p.num("max_worker_processes", r.MaxWorkerProcesses)
	p.on("track_commit_timestamp", "wal_log_hints")
	p.set("wal_level", "logical")
	p.num("max_wal_senders", 50)
	p.num("max_replication_slots", 50)
	if v >= 15 {
		p.set("wal_compression", "lz4")
	}

	// authentication
	p.set("password_encryption", in.PwdEnc)
	p.on("ssl")
	p.set("ssl_cert_file", in.CertDir+"/server.crt")
	p.set("ssl_key_file", in.CertDir+"/server.key")
	p.set("ssl_ca_file", in.CertDir+"/ca.crt")

	// resources
	p.mb("shared_buffers", r.SharedBuffersMB)
	p.mb("maintenance_work_mem", r.MaintenanceWorkMemMB)
	p.mb("work_mem", r.WorkMemMB)
	p.num("max_parallel_workers", r.MaxParallelWorkers)
	p.num("max_parallel_maintenance_workers", r.MaxParallelMaintenanceWorkers)
	p.num("max_parallel_workers_per_gather", r.MaxParallelWorkersPerGather)
	if t.parallelCostPenalty {
		p.num("parallel_setup_cost", 2000)
		p.set("parallel_tuple_cost", "0.2")
		p.set("min_parallel_table_scan_size", "32MB")
		p.set("min_parallel_index_scan_size", "2MB")
	}
	p.set("hash_mem_multiplier", "8.0")
	p.set("huge_pages", "try")
	if v >= 18 {
		p.set("io_method", r.IOMethod)
		p.num("io_workers", r.IOWorkers)
		p.set("file_copy_method", "clone")
	}
	p.gb("temp_file_limit", r.TempFileLimitGB)
	p.set("vacuum_cost_delay", t.vacuumCostDelay)
	p.set("vacuum_cost_limit", t.vacuumCostLimit)
	p.set("bgwriter_delay", "10ms")
	p.num("bgwriter_lru_maxpages", 800)
	p.set("bgwriter_lru_multiplier", "5.0")

	// WAL and checkpoints
	p.gb("min_wal_size", r.MinWALSizeGB)
	p.gb("max_wal_size", r.MaxWALSizeGB)
	p.gb("max_slot_wal_keep_size", r.MaxSlotWALKeepSizeGB)
	if v >= 18 {
		p.set("idle_replication_slot_timeout", t.idleSlotTimeout)
	}
	p.set("wal_buffers", "16MB")
	p.set("wal_writer_delay", t.walWriterDelay)
	p.set("wal_writer_flush_after", t.walWriterFlushAfter)
	p.num("commit_delay", 20)
	p.num("commit_siblings", 10)
	p.set("checkpoint_timeout", "15min")
	p.set("checkpoint_completion_target", "0.95")
	if in.ArchiveCommand != "" {
		p.on("archive_mode")
		p.num("archive_timeout", 300)
		p.set("archive_command", in.ArchiveCommand)
	}

	// standbys and logical replication
	if v >= 17 {
		p.on("sync_replication_slots")
	}
	if t.deferCleanupAge && v <= 15 {
		p.num("vacuum_defer_cleanup_age", 500000)
	}
	p.set("max_standby_archive_delay", "10min")
	p.set("max_standby_streaming_delay", "3min")
	p.set("wal_receiver_status_interval", "1s")
	p.on("hot_standby_feedback")
	p.set("wal_receiver_timeout", "60s")
	p.num("max_logical_replication_workers", 8)
	p.num("max_sync_workers_per_subscription", 6)

	// planner
	if t.partitionwise {
		p.on("enable_partitionwise_join", "enable_partitionwise_aggregate")
	}
	if in.StorageType == "SSD" {
		p.set("random_page_cost", "1.1")
		p.num("effective_io_concurrency", 200)
		p.num("maintenance_io_concurrency", 100)
	}
	p.mb("effective_cache_size", r.EffectiveCacheSizeMB)
	p.set("default_statistics_target", t.statisticsTarget)

	// logging
	p.set("log_destination", "csvlog")
	p.on("logging_collector", "log_truncate_on_rotation", "log_checkpoints", "log_lock_waits", "log_replication_commands")
	p.set("log_directory", in.LogDir)
	p.set("log_timezone", "UTC")
	p.set("log_filename", "postgresql-%a.log")
	p.set("log_file_mode", "0640")
	p.set("log_rotation_age", "1d")
	p.set("log_rotation_size", "0")
	if t.logLockFailures && v >= 18 {
		p.on("log_lock_failures")
	}
	p.num("log_temp_files", 1024)
	p.set("log_statement", "ddl")
	p.set("log_min_duration_statement", t.logMinDuration)
	if c := t.logConnections(v); c != "" {
		p.set("log_connections", c)
	}
	if t.logDisconnections {
		p.on("log_disconnections")
	}

	// statistics
	p.on("track_io_timing")
	if t.trackCostDelayTiming && v >= 18 {
		p.on("track_cost_delay_timing")
	}
	p.set("track_functions", "all")
	p.set("track_activity_query_size", t.trackActivityQuerySize)

	// autovacuum
	p.set("log_autovacuum_min_duration", "1s")
	p.set("autovacuum_max_workers", t.autovacuumWorkers)
	p.set("autovacuum_naptime", "1min")
	p.set("autovacuum_vacuum_threshold", t.autovacuumThresholds[0])
	p.set("autovacuum_analyze_threshold", t.autovacuumThresholds[1])
	if t.autovacuumScaleFactors {
		p.set("autovacuum_vacuum_scale_factor", "0.08")
		p.set("autovacuum_analyze_scale_factor", "0.04")
	}
	p.num("autovacuum_vacuum_cost_delay", -1)
	p.num("autovacuum_vacuum_cost_limit", -1)
	p.num("autovacuum_freeze_max_age", 1000000000)

	// sessions
	p.set("deadlock_timeout", "50ms")
	p.set("idle_in_transaction_session_timeout", t.idleInTransactionTimeout)

	// preloaded libraries and their settings; the extension GUCs are
	// written even when the library is not loaded, as Pigsty does, so that
	// loading it later needs no parameter change.
	p.set("shared_preload_libraries", strings.Join(in.Libs, ", "))
	p.set("auto_explain.log_min_duration", "1s")
	p.on("auto_explain.log_analyze", "auto_explain.log_verbose", "auto_explain.log_timing", "auto_explain.log_nested_statements")
	p.set("pg_stat_statements.max", t.pgStatStatementsMax)
	p.set("pg_stat_statements.track", "all")
	p.set("pg_stat_statements.track_utility", "off")
	p.set("pg_stat_statements.track_planning", "off")
	p.set("pg_wait_sampling.profile_pid", "off")
	p.set("pg_wait_sampling.profile_queries", "all")
	p.num("pg_wait_sampling.history_size", 100000)
	if slices.Contains(in.Libs, "timescaledb") {
		p.set("timescaledb.telemetry_level", "off")
		p.num("timescaledb.max_background_workers", r.MaxWorkerProcesses-8)
	}
	if slices.Contains(in.Libs, "pgsodium") {
		p.set("pgsodium.getkey_script", "/pg/bin/pgsodium_getkey")
		p.set("pgsodium.enable_event_trigger", "off")
	}
	if t.duckdbCommunity && slices.Contains(in.Libs, "pg_duckdb") {
		p.on("duckdb.allow_community_extensions")
	}
	p.set("cron.database_name", in.PrimaryDB)

	return p.sorted(), []Param{{"unix_socket_directories", "/var/run/postgresql, /tmp"}}
}

func (t *template) logConnections(version int) string {
	if version >= 18 {
		return t.logConnections18
	}
	return t.logConnectionsOld
}
