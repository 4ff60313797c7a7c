package patroni

// The types below model the part of Patroni 4's YAML configuration that
// Pigsty writes, in the order Pigsty's templates write it. Field order is
// output order.

type config struct {
	Scope      string     `yaml:"scope"`
	Namespace  string     `yaml:"namespace"`
	Name       string     `yaml:"name"`
	Citus      *citus     `yaml:"citus,omitempty"`
	Log        logConfig  `yaml:"log"`
	Etcd3      etcd3      `yaml:"etcd3"`
	RestAPI    restAPI    `yaml:"restapi"`
	Ctl        ctl        `yaml:"ctl"`
	Tags       tags       `yaml:"tags"`
	Watchdog   watchdog   `yaml:"watchdog"`
	Bootstrap  bootstrap  `yaml:"bootstrap"`
	PostgreSQL postgresql `yaml:"postgresql"`
}

type citus struct {
	Group    int    `yaml:"group"`
	Database string `yaml:"database"`
}

type logConfig struct {
	Level      string `yaml:"level"`
	Dir        string `yaml:"dir"`
	FileNum    int    `yaml:"file_num"`
	FileSize   int    `yaml:"file_size"`
	DateFormat string `yaml:"dateformat"`
	Format     string `yaml:"format"`
}

type etcd3 struct {
	Hosts    []string `yaml:"hosts"`
	Protocol string   `yaml:"protocol"`
	CACert   string   `yaml:"cacert,omitempty"`
	Cert     string   `yaml:"cert,omitempty"`
	Key      string   `yaml:"key,omitempty"`
	Username string   `yaml:"username,omitempty"`
	Password string   `yaml:"password,omitempty"`
	// UseProxies keeps Patroni on the hosts it is given instead of asking
	// etcd for its members: etcd 3.6 answers a member list only to an
	// authenticated client, and Patroni asks before it authenticates. The
	// agent renders every member into hosts and reloads Patroni when they
	// change, which is what discovery would give.
	UseProxies bool `yaml:"use_proxies"`
}

type restAPI struct {
	Listen         string      `yaml:"listen"`
	ConnectAddress string      `yaml:"connect_address"`
	CertFile       string      `yaml:"certfile,omitempty"`
	KeyFile        string      `yaml:"keyfile,omitempty"`
	CAFile         string      `yaml:"cafile,omitempty"`
	VerifyClient   string      `yaml:"verify_client,omitempty"`
	Authentication credentials `yaml:"authentication"`
	Allowlist      []string    `yaml:"allowlist"`
}

type credentials struct {
	Username string `yaml:"username"`
	Password string `yaml:"password,omitempty"`
}

type ctl struct {
	Insecure bool   `yaml:"insecure"`
	CACert   string `yaml:"cacert,omitempty"`
	CertFile string `yaml:"certfile,omitempty"`
	KeyFile  string `yaml:"keyfile,omitempty"`
}

type tags struct {
	NoFailover    bool   `yaml:"nofailover"`
	CloneFrom     bool   `yaml:"clonefrom"`
	NoLoadBalance bool   `yaml:"noloadbalance"`
	NoSync        bool   `yaml:"nosync"`
	ReplicateFrom string `yaml:"replicatefrom,omitempty"`
	Version       string `yaml:"version"`
	Spec          string `yaml:"spec"`
	Conf          string `yaml:"conf"`
}

type watchdog struct {
	Mode         string `yaml:"mode"`
	Device       string `yaml:"device"`
	SafetyMargin int    `yaml:"safety_margin"`
}

type bootstrap struct {
	Method string `yaml:"method"`
	// Each item is a flag ("data-checksums") or a one-key map
	// ({encoding: UTF8}), as Patroni reads initdb options.
	Initdb []any `yaml:"initdb"`
	DCS    dcs   `yaml:"dcs"`
}

type dcs struct {
	TTL                   int             `yaml:"ttl"`
	LoopWait              int             `yaml:"loop_wait"`
	RetryTimeout          int             `yaml:"retry_timeout"`
	PrimaryStartTimeout   int             `yaml:"primary_start_timeout"`
	PrimaryStopTimeout    int             `yaml:"primary_stop_timeout"`
	MaximumLagOnFailover  int64           `yaml:"maximum_lag_on_failover"`
	MaximumLagOnSyncnode  int             `yaml:"maximum_lag_on_syncnode"`
	SynchronousMode       bool            `yaml:"synchronous_mode"`
	SynchronousModeStrict bool            `yaml:"synchronous_mode_strict"`
	FailsafeMode          bool            `yaml:"failsafe_mode"`
	StandbyCluster        *standbyCluster `yaml:"standby_cluster,omitempty"`

	// Pigsty's cluster metadata: Patroni keeps unknown keys in the
	// cluster's /config and ignores them, so tools can read them there.
	PgVersion int    `yaml:"pg_version"`
	PgCluster string `yaml:"pg_cluster"`
	PgShard   string `yaml:"pg_shard"`
	PgGroup   int    `yaml:"pg_group"`

	PostgreSQL dcsPostgreSQL `yaml:"postgresql"`
}

type standbyCluster struct {
	Host                  string   `yaml:"host"`
	Port                  int      `yaml:"port"`
	RecoveryMinApplyDelay string   `yaml:"recovery_min_apply_delay,omitempty"`
	CreateReplicaMethods  []string `yaml:"create_replica_methods"`
}

type dcsPostgreSQL struct {
	UseSlots    bool       `yaml:"use_slots"`
	UsePgRewind bool       `yaml:"use_pg_rewind"`
	Parameters  parameters `yaml:"parameters"`
}

type postgresql struct {
	Listen            string         `yaml:"listen"`
	ConnectAddress    string         `yaml:"connect_address"`
	DataDir           string         `yaml:"data_dir"`
	ConfigDir         string         `yaml:"config_dir"`
	BinDir            string         `yaml:"bin_dir"`
	PgPass            string         `yaml:"pgpass"`
	UseUnixSocket     bool           `yaml:"use_unix_socket"`
	UseUnixSocketRepl bool           `yaml:"use_unix_socket_repl"`
	Authentication    authentication `yaml:"authentication"`
	Parameters        parameters     `yaml:"parameters"`

	CreateReplicaMethods []string `yaml:"create_replica_methods"`
	// Items are flags or one-key maps, like bootstrap.initdb.
	Basebackup []any `yaml:"basebackup"`

	RemoveDataDirectoryOnRewindFailure     bool `yaml:"remove_data_directory_on_rewind_failure"`
	RemoveDataDirectoryOnDivergedTimelines bool `yaml:"remove_data_directory_on_diverged_timelines"`
}

type authentication struct {
	Superuser   credentials `yaml:"superuser"`
	Replication credentials `yaml:"replication"`
	Rewind      credentials `yaml:"rewind"`
}
