package inventory

// HBARule is one access rule of pg_default_hba_rules, pg_hba_rules,
// pgb_default_hba_rules or pgb_hba_rules: the alias form (user, db, addr,
// auth) or the raw form (rules).
type HBARule struct {
	User   string   `yaml:"user"`
	DB     string   `yaml:"db"`
	Addr   string   `yaml:"addr"`
	Auth   string   `yaml:"auth"`
	Title  string   `yaml:"title"`
	Role   string   `yaml:"role" enum:"default,common,primary,replica,offline,standby,delayed"`
	Order  *int     `yaml:"order"`
	Rules  []string `yaml:"rules"`
	Origin Origin   `yaml:"-" json:"-"`
}

// Service is one HAProxy service of pg_default_services or pg_services.
type Service struct {
	Name     string `yaml:"name" check:"ident" required:"true"`
	Port     int    `yaml:"port" check:"port" required:"true"`
	IP       string `yaml:"ip"`
	Selector string `yaml:"selector"`
	Backup   string `yaml:"backup"`
	Dest     string `yaml:"dest"`
	Check    string `yaml:"check"`
	Maxconn  int    `yaml:"maxconn"`
	Balance  string `yaml:"balance" enum:"roundrobin,leastconn,source,first,static-rr"`
	Options  string `yaml:"options"`
	Origin   Origin `yaml:"-" json:"-"`
}

func (s *Service) setDefaults() {
	s.IP, s.Selector, s.Dest, s.Check, s.Maxconn, s.Balance = "*", "[]", "default", "/", 5000, "roundrobin"
}

// PITR is the pg_pitr task: restore a cluster to a point in time.
type PITR struct {
	Cluster   string            `yaml:"cluster" check:"cluster"`
	Type      string            `yaml:"type" enum:"default,latest,time,xid,name,lsn,immediate"`
	Time      string            `yaml:"time"`
	Name      string            `yaml:"name"`
	XID       string            `yaml:"xid"`
	LSN       string            `yaml:"lsn"`
	Set       string            `yaml:"set"`
	Timeline  string            `yaml:"timeline"`
	Exclusive bool              `yaml:"exclusive"`
	Action    string            `yaml:"action" enum:"pause,promote,shutdown"`
	Archive   bool              `yaml:"archive"`
	Backup    bool              `yaml:"backup"`
	DBInclude []string          `yaml:"db_include"`
	DBExclude []string          `yaml:"db_exclude"`
	LinkMap   map[string]string `yaml:"link_map"`
	Process   int               `yaml:"process"`
	Repo      map[string]Scalar `yaml:"repo"`
	Data      string            `yaml:"data" check:"path"`
	Port      int               `yaml:"port" check:"port"`
	Origin    Origin            `yaml:"-" json:"-"`
}

// RemoteExporter is one entry of pg_exporters: a PostgreSQL instance that
// pigsty does not manage but monitors from the infra host.
type RemoteExporter struct {
	PgCluster                 string     `yaml:"pg_cluster" check:"cluster" required:"true"`
	PgSeq                     int        `yaml:"pg_seq" required:"true"`
	PgHost                    string     `yaml:"pg_host" required:"true"`
	PgPort                    int        `yaml:"pg_port" check:"port"`
	PgExporterURL             string     `yaml:"pg_exporter_url"`
	PgMonitorUsername         string     `yaml:"pg_monitor_username" check:"username"`
	PgMonitorPassword         string     `yaml:"pg_monitor_password"`
	PgDatabases               []Database `yaml:"pg_databases"`
	PgExporterAutoDiscovery   *bool      `yaml:"pg_exporter_auto_discovery"`
	PgExporterIncludeDatabase string     `yaml:"pg_exporter_include_database"`
	PgExporterExcludeDatabase string     `yaml:"pg_exporter_exclude_database"`
	PgExporterParams          string     `yaml:"pg_exporter_params"`
	PgExporterConnectTimeout  int        `yaml:"pg_exporter_connect_timeout"`
	Origin                    Origin     `yaml:"-" json:"-"`
}
