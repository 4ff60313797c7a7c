package inventory

import "pigsty/pgsql/pkgmap"

// Params holds every parameter pigsty reads, under Pigsty's names. One
// value of it is the fully merged configuration of one host: defaults,
// then all.vars, group vars, host vars and extra vars. Its default values
// live in defaults.yml; a test keeps the two in step.
type Params struct {
	// INFRA / NODE / ETCD parameters the PGSQL features rely on.
	Version              string           `yaml:"version"`
	Region               string           `yaml:"region"`
	AdminIP              string           `yaml:"admin_ip" check:"ip"`
	InfraSeq             int              `yaml:"infra_seq"`
	InfraPortal          map[string]any   `yaml:"infra_portal"`
	Nodename             string           `yaml:"nodename"`
	NodeCluster          string           `yaml:"node_cluster"`
	NodeTune             string           `yaml:"node_tune" enum:"oltp,olap,crit,tiny"`
	NodeFirewallIntranet []string         `yaml:"node_firewall_intranet" check:"cidr"`
	NodeEtcHosts         []string         `yaml:"node_etc_hosts"`
	NodeCrontab          []string         `yaml:"node_crontab"`
	NodeHugepageCount    int              `yaml:"node_hugepage_count"`
	NodeHugepageRatio    float64          `yaml:"node_hugepage_ratio"`
	EtcdSeq              int              `yaml:"etcd_seq"`
	EtcdCluster          string           `yaml:"etcd_cluster" check:"cluster"`
	EtcdSafeguard        bool             `yaml:"etcd_safeguard"`
	EtcdClean            bool             `yaml:"etcd_clean"`
	EtcdData             string           `yaml:"etcd_data" check:"path"`
	EtcdPort             int              `yaml:"etcd_port" check:"port"`
	EtcdPeerPort         int              `yaml:"etcd_peer_port" check:"port"`
	EtcdRootPassword     string           `yaml:"etcd_root_password"`
	HaproxyEnabled       bool             `yaml:"haproxy_enabled"`
	HaproxyAdminUsername string           `yaml:"haproxy_admin_username"`
	HaproxyAdminPassword string           `yaml:"haproxy_admin_password"`
	HaproxyExporterPort  int              `yaml:"haproxy_exporter_port" check:"port"`
	HaproxyClientTimeout string           `yaml:"haproxy_client_timeout" check:"interval"`
	HaproxyServerTimeout string           `yaml:"haproxy_server_timeout" check:"interval"`
	HaproxyServices      []HAProxyService `yaml:"haproxy_services"`
	NodeExporterEnabled  bool             `yaml:"node_exporter_enabled"`
	NodeExporterPort     int              `yaml:"node_exporter_port" check:"port"`
	AlertWebhookURL      string           `yaml:"alert_webhook_url"`

	// PG_ID
	PgMode         string                 `yaml:"pg_mode" enum:"pgsql,citus,gpsql,mssql,mysql,polar,ivory,oriole,oracle"`
	PgCluster      string                 `yaml:"pg_cluster" check:"cluster"`
	PgSeq          int                    `yaml:"pg_seq"`
	PgRole         string                 `yaml:"pg_role" enum:"primary,replica,offline,standby,delayed"`
	PgInstances    map[int]map[string]any `yaml:"pg_instances"`
	PgUpstream     string                 `yaml:"pg_upstream" check:"ip"`
	PgShard        string                 `yaml:"pg_shard" check:"cluster"`
	PgGroup        int                    `yaml:"pg_group"`
	GpRole         string                 `yaml:"gp_role" enum:"master,segment"`
	PgOfflineQuery bool                   `yaml:"pg_offline_query"`
	PgExporters    map[int]RemoteExporter `yaml:"pg_exporters"`

	// PG_BUSINESS
	PgUsers               []User     `yaml:"pg_users"`
	PgDatabases           []Database `yaml:"pg_databases"`
	PgServices            []Service  `yaml:"pg_services"`
	PgHbaRules            []HBARule  `yaml:"pg_hba_rules"`
	PgbHbaRules           []HBARule  `yaml:"pgb_hba_rules"`
	PgCrontab             []string   `yaml:"pg_crontab"`
	PgReplicationUsername string     `yaml:"pg_replication_username" check:"username"`
	PgReplicationPassword string     `yaml:"pg_replication_password"`
	PgAdminUsername       string     `yaml:"pg_admin_username" check:"username"`
	PgAdminPassword       string     `yaml:"pg_admin_password"`
	PgMonitorUsername     string     `yaml:"pg_monitor_username" check:"username"`
	PgMonitorPassword     string     `yaml:"pg_monitor_password"`
	PgDbsuPassword        string     `yaml:"pg_dbsu_password"`

	// PG_INSTALL
	PgDbsu            string  `yaml:"pg_dbsu" check:"username"`
	PgDbsuUID         int     `yaml:"pg_dbsu_uid"`
	PgDbsuSudo        string  `yaml:"pg_dbsu_sudo" enum:"none,limit,all,nopass"`
	PgDbsuHome        string  `yaml:"pg_dbsu_home" check:"path"`
	PgDbsuSSHExchange bool    `yaml:"pg_dbsu_ssh_exchange"`
	PgVersion         int     `yaml:"pg_version"`
	PgBinDir          string  `yaml:"pg_bin_dir" check:"path"`
	PgLogDir          string  `yaml:"pg_log_dir" check:"path"`
	PgPackages        Strings `yaml:"pg_packages"`
	PgExtensions      Strings `yaml:"pg_extensions"`
	// RepoUpstream lists package sources; empty means pigsty's built-in
	// list (pkgmap.DefaultRepos).
	RepoUpstream []pkgmap.Repo `yaml:"repo_upstream"`

	// PG_BOOTSTRAP
	PgData               string            `yaml:"pg_data" check:"path"`
	PgFsMain             string            `yaml:"pg_fs_main" check:"path"`
	PgFsBackup           string            `yaml:"pg_fs_backup" check:"path"`
	PgStorageType        string            `yaml:"pg_storage_type" enum:"SSD,HDD"`
	PgDummyFilesize      Size              `yaml:"pg_dummy_filesize"`
	PgListen             string            `yaml:"pg_listen"`
	PgPort               int               `yaml:"pg_port" check:"port"`
	PgLocalhost          string            `yaml:"pg_localhost" check:"path"`
	PgNamespace          string            `yaml:"pg_namespace" check:"path"`
	PatroniEnabled       bool              `yaml:"patroni_enabled"`
	PatroniMode          string            `yaml:"patroni_mode" enum:"default,pause,remove"`
	PatroniPort          int               `yaml:"patroni_port" check:"port"`
	PatroniLogDir        string            `yaml:"patroni_log_dir" check:"path"`
	PatroniSSLEnabled    bool              `yaml:"patroni_ssl_enabled"`
	PatroniWatchdogMode  string            `yaml:"patroni_watchdog_mode" enum:"off,automatic,required"`
	PatroniUsername      string            `yaml:"patroni_username"`
	PatroniPassword      string            `yaml:"patroni_password"`
	PgEtcdPassword       string            `yaml:"pg_etcd_password"`
	PgPrimaryDB          string            `yaml:"pg_primary_db" check:"dbname"`
	PgParameters         map[string]Scalar `yaml:"pg_parameters"`
	PgFiles              []string          `yaml:"pg_files"`
	PgConf               string            `yaml:"pg_conf"`
	PgMaxConn            MaxConn           `yaml:"pg_max_conn"`
	PgSharedBufferRatio  float64           `yaml:"pg_shared_buffer_ratio"`
	PgIOMethod           string            `yaml:"pg_io_method" enum:"auto,sync,fsync,worker,io_uring"`
	PgRTO                string            `yaml:"pg_rto"`
	PgRPO                int64             `yaml:"pg_rpo"`
	PgLibs               string            `yaml:"pg_libs"`
	PgDelay              string            `yaml:"pg_delay" check:"interval"`
	PgChecksum           bool              `yaml:"pg_checksum"`
	PgPwdEnc             string            `yaml:"pg_pwd_enc" enum:"scram-sha-256,md5"`
	PgEncoding           string            `yaml:"pg_encoding"`
	PgLocale             string            `yaml:"pg_locale"`
	PgLcCollate          string            `yaml:"pg_lc_collate"`
	PgLcCtype            string            `yaml:"pg_lc_ctype"`
	PgsodiumKey          string            `yaml:"pgsodium_key"`
	PgsodiumGetkeyScript string            `yaml:"pgsodium_getkey_script"`

	// PG_PROVISION
	PgProvision         bool        `yaml:"pg_provision"`
	PgInit              string      `yaml:"pg_init"`
	PgDefaultRoles      []User      `yaml:"pg_default_roles"`
	PgDefaultPrivileges []string    `yaml:"pg_default_privileges"`
	PgDefaultSchemas    []string    `yaml:"pg_default_schemas" check:"ident"`
	PgDefaultExtensions []Extension `yaml:"pg_default_extensions"`
	PgReload            bool        `yaml:"pg_reload"`
	PgDefaultHbaRules   []HBARule   `yaml:"pg_default_hba_rules"`
	PgbDefaultHbaRules  []HBARule   `yaml:"pgb_default_hba_rules"`
	PgRevokePublic      bool        `yaml:"pg_revoke_public"`

	// PG_BACKUP
	PgbackrestEnabled    bool                         `yaml:"pgbackrest_enabled"`
	PgbackrestClean      bool                         `yaml:"pgbackrest_clean"`
	PgbackrestLogDir     string                       `yaml:"pgbackrest_log_dir" check:"path"`
	PgbackrestMethod     string                       `yaml:"pgbackrest_method"`
	PgbackrestInitBackup bool                         `yaml:"pgbackrest_init_backup"`
	PgbackrestRepo       map[string]map[string]Scalar `yaml:"pgbackrest_repo"`
	PgPITR               *PITR                        `yaml:"pg_pitr"`

	// PG_ACCESS
	PgbouncerEnabled     bool      `yaml:"pgbouncer_enabled"`
	PgbouncerPort        int       `yaml:"pgbouncer_port" check:"port"`
	PgbouncerLogDir      string    `yaml:"pgbouncer_log_dir" check:"path"`
	PgbouncerAuthQuery   bool      `yaml:"pgbouncer_auth_query"`
	PgbouncerPoolmode    string    `yaml:"pgbouncer_poolmode" enum:"transaction,session,statement"`
	PgbouncerSslmode     string    `yaml:"pgbouncer_sslmode" enum:"disable,allow,prefer,require,verify-ca,verify-full"`
	PgbouncerIgnoreParam []string  `yaml:"pgbouncer_ignore_param"`
	PgWeight             int       `yaml:"pg_weight" check:"weight"`
	PgServiceProvider    string    `yaml:"pg_service_provider"`
	PgDefaultServiceDest string    `yaml:"pg_default_service_dest" enum:"pgbouncer,postgres"`
	PgDefaultServices    []Service `yaml:"pg_default_services"`
	PgVipEnabled         bool      `yaml:"pg_vip_enabled"`
	PgVipAddress         string    `yaml:"pg_vip_address" check:"vip"`
	PgVipInterface       string    `yaml:"pg_vip_interface"`
	PgDNSSuffix          string    `yaml:"pg_dns_suffix"`
	PgDNSTarget          string    `yaml:"pg_dns_target"`

	// PG_MONITOR
	PgExporterEnabled         bool   `yaml:"pg_exporter_enabled"`
	PgExporterConfig          string `yaml:"pg_exporter_config"`
	PgExporterCacheTTLs       string `yaml:"pg_exporter_cache_ttls"`
	PgExporterPort            int    `yaml:"pg_exporter_port" check:"port"`
	PgExporterParams          string `yaml:"pg_exporter_params"`
	PgExporterURL             string `yaml:"pg_exporter_url"`
	PgExporterAutoDiscovery   bool   `yaml:"pg_exporter_auto_discovery"`
	PgExporterExcludeDatabase string `yaml:"pg_exporter_exclude_database"`
	PgExporterIncludeDatabase string `yaml:"pg_exporter_include_database"`
	PgExporterConnectTimeout  int    `yaml:"pg_exporter_connect_timeout"`
	PgExporterOptions         string `yaml:"pg_exporter_options"`
	PgbouncerExporterEnabled  bool   `yaml:"pgbouncer_exporter_enabled"`
	PgbouncerExporterPort     int    `yaml:"pgbouncer_exporter_port" check:"port"`
	PgbouncerExporterURL      string `yaml:"pgbouncer_exporter_url"`
	PgbouncerExporterOptions  string `yaml:"pgbouncer_exporter_options"`
	PgbackrestExporterEnabled bool   `yaml:"pgbackrest_exporter_enabled"`
	PgbackrestExporterPort    int    `yaml:"pgbackrest_exporter_port" check:"port"`
	PgbackrestExporterOptions string `yaml:"pgbackrest_exporter_options"`

	// PG_REMOVE
	PgSafeguard bool `yaml:"pg_safeguard"`
	PgRmData    bool `yaml:"pg_rm_data"`
	PgRmBackup  bool `yaml:"pg_rm_backup"`
	PgRmPkg     bool `yaml:"pg_rm_pkg"`
}
