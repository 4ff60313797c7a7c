package pkgmap

// Categories are Pigsty's sixteen extension categories, in its order. Each
// one yields the aliases pgsql-<cat> (current pg_version) and pg<NN>-<cat>.
var Categories = []string{
	"time", "gis", "rag", "fts", "olap", "feat", "lang", "type",
	"util", "func", "admin", "stat", "sec", "fdw", "sim", "etl",
}

// extension is one single-extension alias. Its deb and el fields are package
// name templates; an empty field means the family has no package for it.
type extension struct {
	alias string
	cats  string // space-separated categories; empty: not part of any category
	deb   string
	el    string
}

// Extensions that PostgreSQL itself ships: on Debian they live in the server
// package, on EL in -contrib (PL languages have their own packages).
const (
	debContrib = "postgresql-$v"
	elContrib  = "postgresql$v-contrib"
)

// extensions is the single-extension alias catalogue. Debian names follow
// Debian and PGDG apt (postgresql-NN-<name>); EL names follow PGDG yum
// (<name>_NN). Packages that neither Debian nor PGDG build keep the name
// Pigsty's own repository uses, so that they resolve wherever a user has
// configured that repository.
var extensions = []extension{
	// time
	{"timescaledb", "time", "postgresql-$v-timescaledb-tsl", "timescaledb-tsl_$v*"},
	{"pg_cron", "time", "postgresql-$v-cron", "pg_cron_$v*"},
	{"periods", "time", "postgresql-$v-periods", "periods_$v*"},
	{"temporal_tables", "time", "postgresql-$v-temporal-tables", "temporal_tables_$v*"},
	{"pg_background", "time", "postgresql-$v-pg-background", "pg_background_$v*"},
	// gis
	{"postgis", "gis", "postgresql-$v-postgis-3", "postgis36_$v*"},
	{"pgrouting", "gis", "postgresql-$v-pgrouting", "pgrouting_$v*"},
	{"pointcloud", "gis", "postgresql-$v-pointcloud", "pointcloud_$v*"},
	{"h3", "gis", "postgresql-$v-h3", "h3-pg_$v*"},
	{"q3c", "gis", "postgresql-$v-q3c", "q3c_$v*"},
	{"ogr_fdw", "gis fdw", "postgresql-$v-ogr-fdw", "ogr_fdw_$v*"},
	// rag
	{"pgvector", "rag", "postgresql-$v-pgvector", "pgvector_$v*"},
	{"vchord", "rag", "postgresql-$v-vchord", "vchord_$v*"},
	{"pgvectorscale", "rag", "postgresql-$v-pgvectorscale", "pgvectorscale_$v*"},
	{"pg_similarity", "rag", "postgresql-$v-similarity", "pg_similarity_$v*"},
	// fts
	{"pg_trgm", "fts", debContrib, elContrib},
	{"pgroonga", "fts", "postgresql-$v-pgroonga", "pgroonga_$v*"},
	{"pg_bigm", "fts", "postgresql-$v-pg-bigm", "pg_bigm_$v*"},
	{"zhparser", "fts", "postgresql-$v-zhparser", "zhparser_$v*"},
	{"pg_search", "fts", "postgresql-$v-pg-search", "pg_search_$v*"},
	// olap; pg_mooncake conflicts with pg_duckdb, so it is kept out of the
	// category to leave pgsql-olap installable as a whole.
	{"citus", "olap", "postgresql-$v-citus", "citus_$v*"},
	{"pg_duckdb", "olap", "postgresql-$v-pg-duckdb", "pg_duckdb_$v*"},
	{"pg_mooncake", "", "postgresql-$v-pg-mooncake", "pg_mooncake_$v*"},
	{"pg_partman", "olap", "postgresql-$v-partman", "pg_partman_$v*"},
	{"plproxy", "olap", "postgresql-$v-plproxy", "plproxy_$v*"},
	// feat
	{"age", "feat", "postgresql-$v-age", "age_$v*"},
	{"pg_graphql", "feat", "postgresql-$v-pg-graphql", "pg_graphql_$v*"},
	{"rum", "feat", "postgresql-$v-rum", "rum_$v*"},
	{"hll", "feat", "postgresql-$v-hll", "hll_$v*"},
	{"hypopg", "feat", "postgresql-$v-hypopg", "hypopg_$v*"},
	{"pg_hint_plan", "feat", "postgresql-$v-pg-hint-plan", "pg_hint_plan_$v*"},
	{"jsquery", "feat", "postgresql-$v-jsquery", "jsquery_$v*"},
	{"pgq", "feat", "postgresql-$v-pgq3", "pgq_$v*"},
	// lang
	{"plpython3u", "lang", "postgresql-plpython3-$v", "postgresql$v-plpython3"},
	{"plperl", "lang", "postgresql-plperl-$v", "postgresql$v-plperl"},
	{"pltcl", "lang", "postgresql-pltcl-$v", "postgresql$v-pltcl"},
	{"plv8", "lang", "postgresql-$v-plv8", "plv8_$v*"},
	{"pllua", "lang", "postgresql-$v-pllua", "pllua_$v*"},
	{"plr", "lang", "postgresql-$v-plr", "plr_$v*"},
	{"plsh", "lang", "postgresql-$v-plsh", "plsh_$v*"},
	{"pldebugger", "lang", "postgresql-$v-pldebugger", "pldebugger_$v*"},
	{"plpgsql_check", "lang", "postgresql-$v-plpgsql-check", "plpgsql_check_$v*"},
	{"plprofiler", "lang", "postgresql-$v-plprofiler", "plprofiler_$v*"},
	{"pgtap", "lang", "postgresql-$v-pgtap", "pgtap_$v*"},
	// type
	{"hstore", "type", debContrib, elContrib},
	{"ltree", "type", debContrib, elContrib},
	{"citext", "type", debContrib, elContrib},
	{"cube", "type", debContrib, elContrib},
	{"isn", "type", debContrib, elContrib},
	{"prefix", "type", "postgresql-$v-prefix", "prefix_$v*"},
	{"semver", "type", "postgresql-$v-semver", "semver_$v*"},
	{"unit", "type", "postgresql-$v-unit", "postgresql-unit_$v*"},
	{"ip4r", "type", "postgresql-$v-ip4r", "ip4r_$v*"},
	{"pgsphere", "type", "postgresql-$v-pgsphere", "pgsphere_$v*"},
	{"debversion", "type", "postgresql-$v-debversion", "debversion_$v*"},
	{"rational", "type", "postgresql-$v-rational", "pg_rational_$v*"},
	// util
	{"http", "util", "postgresql-$v-http", "pgsql_http_$v*"},
	{"pg_net", "util", "postgresql-$v-pg-net", "pg_net_$v*"},
	{"pgjwt", "util", "postgresql-$v-pgjwt", "pgjwt_$v*"},
	{"icu_ext", "util", "postgresql-$v-icu-ext", "icu_ext_$v*"},
	{"pgpcre", "util", "postgresql-$v-pgpcre", "pgpcre_$v*"},
	// func
	{"pgcrypto", "func sec", debContrib, elContrib},
	{"uuid-ossp", "func", debContrib, elContrib},
	{"pg_uuidv7", "func", "postgresql-$v-pg-uuidv7", "pg_uuidv7_$v*"},
	{"topn", "func", "postgresql-$v-topn", "topn_$v*"},
	{"tdigest", "func", "postgresql-$v-tdigest", "tdigest_$v*"},
	{"first_last_agg", "func", "postgresql-$v-first-last-agg", "first_last_agg_$v*"},
	{"extra_window_functions", "func", "postgresql-$v-extra-window-functions", "extra_window_functions_$v*"},
	// admin
	{"pg_repack", "admin", "postgresql-$v-repack", "pg_repack_$v*"},
	{"pg_squeeze", "admin", "postgresql-$v-squeeze", "pg_squeeze_$v*"},
	{"pgagent", "admin", "pgagent", "pgagent_$v*"},
	{"pg_dirtyread", "admin", "postgresql-$v-dirtyread", "pg_dirtyread_$v*"},
	{"pgfincore", "admin", "postgresql-$v-pgfincore", "pgfincore_$v*"},
	{"pg_catcheck", "admin", "postgresql-$v-pg-catcheck", "pg_catcheck_$v*"},
	{"prioritize", "admin", "postgresql-$v-prioritize", "prioritize_$v*"},
	// stat
	{"pg_stat_statements", "stat", debContrib, elContrib},
	{"auto_explain", "stat", debContrib, elContrib},
	{"pg_qualstats", "stat", "postgresql-$v-pg-qualstats", "pg_qualstats_$v*"},
	{"pg_stat_kcache", "stat", "postgresql-$v-pg-stat-kcache", "pg_stat_kcache_$v*"},
	{"pg_wait_sampling", "stat", "postgresql-$v-pg-wait-sampling", "pg_wait_sampling_$v*"},
	{"pg_track_settings", "stat", "postgresql-$v-pg-track-settings", "pg_track_settings_$v*"},
	{"pg_stat_monitor", "stat", "postgresql-$v-pg-stat-monitor", "pg_stat_monitor_$v*"},
	{"powa", "stat", "postgresql-$v-powa", "powa_$v*"},
	{"toastinfo", "stat", "postgresql-$v-toastinfo", "toastinfo_$v*"},
	// sec
	{"pgaudit", "sec", "postgresql-$v-pgaudit", "pgaudit_$v*"},
	{"pgsodium", "sec", "postgresql-$v-pgsodium", "pgsodium_$v*"},
	{"set_user", "sec", "postgresql-$v-set-user", "set_user_$v*"},
	{"pgauditlogtofile", "sec", "postgresql-$v-pgauditlogtofile", "pgauditlogtofile_$v*"},
	{"credcheck", "sec", "postgresql-$v-credcheck", "credcheck_$v*"},
	{"pgextwlist", "sec", "postgresql-$v-pgextwlist", "pgextwlist_$v*"},
	// fdw
	{"postgres_fdw", "fdw", debContrib, elContrib},
	{"file_fdw", "fdw", debContrib, elContrib},
	{"dblink", "fdw", debContrib, elContrib},
	{"mysql_fdw", "fdw", "postgresql-$v-mysql-fdw", "mysql_fdw_$v*"},
	{"oracle_fdw", "fdw", "postgresql-$v-oracle-fdw", "oracle_fdw_$v*"},
	{"tds_fdw", "fdw", "postgresql-$v-tds-fdw", "tds_fdw_$v*"},
	{"mongo_fdw", "fdw", "postgresql-$v-mongo-fdw", "mongo_fdw_$v*"},
	// sim
	{"orafce", "sim", "postgresql-$v-orafce", "orafce_$v*"},
	{"pgtt", "sim", "postgresql-$v-pgtt", "pgtt_$v*"},
	{"pgmemcache", "sim", "postgresql-$v-pgmemcache", "pgmemcache_$v*"},
	{"session_variable", "sim", "postgresql-$v-session-variable", "session_variable_$v*"},
	// etl
	{"pglogical", "etl", "postgresql-$v-pglogical", "pglogical_$v*"},
	{"pglogical_ticker", "etl", "postgresql-$v-pglogical-ticker", "pglogical_ticker_$v*"},
	{"wal2json", "etl", "postgresql-$v-wal2json", "wal2json_$v*"},
	{"decoderbufs", "etl", "postgresql-$v-decoderbufs", "postgres-decoderbufs_$v*"},
	{"mimeo", "etl", "postgresql-$v-mimeo", "mimeo_$v*"},
	{"pg_fact_loader", "etl", "postgresql-$v-pg-fact-loader", "pg_fact_loader_$v*"},
}
