package pkgmap

// Alias tables, one per family, written the way Pigsty writes its
// package_map: a space-separated list of package names where $v stands for
// the PostgreSQL major. Two markers extend Pigsty's syntax:
//
//	?name       optional: installed when the configured sources carry it,
//	            reported and skipped when they do not
//	@component  provided by pigsty itself: never installed, always skipped
//
// The decisions behind these lists are in README.md.

// Kernel, client and daemon aliases for Debian and Ubuntu. Debian builds
// contrib into postgresql-NN, so "contrib" needs no package of its own.
var debAliases = map[string]string{
	"postgresql":   "postgresql-$v",
	"pgsql":        "postgresql-$v postgresql-client-$v postgresql-plpython3-$v postgresql-plperl-$v postgresql-pltcl-$v",
	"pgsql-mini":   "postgresql-$v postgresql-client-$v",
	"pgsql-core":   "postgresql-$v postgresql-client-$v postgresql-plpython3-$v postgresql-plperl-$v postgresql-pltcl-$v",
	"pgsql-full":   "postgresql-$v postgresql-client-$v postgresql-plpython3-$v postgresql-plperl-$v postgresql-pltcl-$v postgresql-server-dev-$v",
	"pgsql-main":   "postgresql-$v postgresql-client-$v postgresql-plpython3-$v postgresql-plperl-$v postgresql-pltcl-$v postgresql-$v-repack postgresql-$v-wal2json ?postgresql-$v-pgvector",
	"pgsql-basic":  "postgresql-$v-repack postgresql-$v-wal2json ?postgresql-$v-pgvector",
	"pgsql-client": "postgresql-client-$v",
	"pgsql-server": "postgresql-$v",
	"pgsql-devel":  "postgresql-server-dev-$v",
	"pgsql-common": "patroni python3-etcd pgbouncer pgbackrest haproxy @pg_exporter @pgbouncer_exporter @pgbackrest_exporter @vip-manager",
	"patroni":      "patroni python3-etcd",
}

// The same for EL, with PGDG RPM names. A trailing * lets dnf pull the
// llvmjit and -utils subpackages that PGDG splits off.
var elAliases = map[string]string{
	"postgresql":   "postgresql$v*",
	"pgsql":        "postgresql$v postgresql$v-server postgresql$v-libs postgresql$v-contrib postgresql$v-plperl postgresql$v-plpython3 postgresql$v-pltcl",
	"pgsql-mini":   "postgresql$v postgresql$v-server postgresql$v-libs postgresql$v-contrib",
	"pgsql-core":   "postgresql$v postgresql$v-server postgresql$v-libs postgresql$v-contrib postgresql$v-plperl postgresql$v-plpython3 postgresql$v-pltcl",
	"pgsql-full":   "postgresql$v postgresql$v-server postgresql$v-libs postgresql$v-contrib postgresql$v-plperl postgresql$v-plpython3 postgresql$v-pltcl postgresql$v-llvmjit postgresql$v-devel",
	"pgsql-main":   "postgresql$v postgresql$v-server postgresql$v-libs postgresql$v-contrib postgresql$v-plperl postgresql$v-plpython3 postgresql$v-pltcl pg_repack_$v* wal2json_$v* pgvector_$v*",
	"pgsql-basic":  "pg_repack_$v* wal2json_$v* pgvector_$v*",
	"pgsql-client": "postgresql$v",
	"pgsql-server": "postgresql$v-server postgresql$v-libs postgresql$v-contrib",
	"pgsql-devel":  "postgresql$v-devel",
	"pgsql-common": "patroni patroni-etcd pgbouncer pgbackrest haproxy @pg_exporter @pgbouncer_exporter @pgbackrest_exporter @vip-manager",
	"patroni":      "patroni patroni-etcd",
}

// provided lists the components pigsty runs from its own binary. Asking for
// them is never an error and never installs anything.
var provided = map[string]string{
	"etcd":                "pigsty embeds etcd as the DCS in its own binary",
	"pg_exporter":         "pigsty's agent exports PostgreSQL metrics itself",
	"pgbouncer_exporter":  "pigsty's agent exports pgbouncer metrics itself",
	"pgbackrest_exporter": "pigsty's agent exports pgBackRest metrics itself",
	"node_exporter":       "pigsty's agent exports node metrics itself",
	"vip-manager":         "pigsty's agent binds the cluster VIP itself",
}

// patroniPackage is the one package the installer never takes blindly from
// the distribution: releases before 3.0.3 lose acknowledged writes with
// etcd3 (see node/install).
const patroniPackage = "patroni"

// ViaPatroni marks the Patroni package for the installer's special handling.
const ViaPatroni = "patroni"
