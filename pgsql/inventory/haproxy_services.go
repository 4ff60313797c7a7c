package inventory

// HAProxyService is one entry of haproxy_services (Pigsty's NODE module):
// a free-form HAProxy listener for components other than PostgreSQL,
// served by the host's HAProxy as /etc/haproxy/conf.d/<name>.cfg.
type HAProxyService struct {
	Name     string `yaml:"name" check:"ident" required:"true"`
	Port     int    `yaml:"port" check:"port" required:"true"`
	IP       string `yaml:"ip"`
	Protocol string `yaml:"protocol" enum:"tcp,http"`
	Balance  string `yaml:"balance" enum:"roundrobin,leastconn,source,first,static-rr"`
	Maxconn  int    `yaml:"maxconn"`
	// Default is the default-server line; empty means Pigsty's.
	Default string          `yaml:"default"`
	Options []string        `yaml:"options"` // lines of the listen block, as written
	Servers []HAProxyServer `yaml:"servers" required:"true"`
	Origin  Origin          `yaml:"-" json:"-"`
}

// HAProxyServer is one backend of a haproxy_services entry.
type HAProxyServer struct {
	Name    string `yaml:"name" required:"true"`
	IP      string `yaml:"ip" check:"ip" required:"true"`
	Port    int    `yaml:"port" check:"port" required:"true"`
	Options string `yaml:"options"` // the rest of the server line: check, check port …
	Backup  bool   `yaml:"backup"`
	Weight  *int   `yaml:"weight"`
	Origin  Origin `yaml:"-" json:"-"`
}
