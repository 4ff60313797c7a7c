package inventory

import "gopkg.in/yaml.v3"

// Database is one entry of pg_databases.
type Database struct {
	Name               string            `yaml:"name" check:"dbname" required:"true"`
	State              string            `yaml:"state" enum:"create,absent,recreate"`
	Baseline           string            `yaml:"baseline"`
	Owner              string            `yaml:"owner" check:"username"`
	Template           string            `yaml:"template" check:"dbname"`
	Strategy           string            `yaml:"strategy" enum:"FILE_COPY,WAL_LOG,file_copy,wal_log"`
	Encoding           string            `yaml:"encoding"`
	Locale             string            `yaml:"locale"`
	LcCollate          string            `yaml:"lc_collate"`
	LcCtype            string            `yaml:"lc_ctype"`
	LocaleProvider     string            `yaml:"locale_provider" enum:"libc,icu,builtin"`
	IcuLocale          string            `yaml:"icu_locale"`
	IcuRules           string            `yaml:"icu_rules"`
	IsTemplate         *bool             `yaml:"is_template"`
	Allowconn          *bool             `yaml:"allowconn"`
	Revokeconn         *bool             `yaml:"revokeconn"`
	Connlimit          *int              `yaml:"connlimit"`
	Tablespace         string            `yaml:"tablespace" check:"ident"`
	Comment            string            `yaml:"comment"`
	Parameters         map[string]Scalar `yaml:"parameters"`
	Schemas            []Schema          `yaml:"schemas"`
	Extensions         []Extension       `yaml:"extensions"`
	RegisterDatasource *bool             `yaml:"register_datasource"`
	Pgbouncer          *bool             `yaml:"pgbouncer"`
	PoolMode           string            `yaml:"pool_mode" enum:"transaction,session,statement"`
	PoolSize           *int              `yaml:"pool_size"`
	PoolSizeMin        *int              `yaml:"pool_size_min"`
	// The documentation spells two pool fields two ways; both are read.
	PoolReserve     *int   `yaml:"pool_reserve"`
	PoolSizeReserve *int   `yaml:"pool_size_reserve"`
	PoolConnlimit   *int   `yaml:"pool_connlimit"`
	PoolMaxDBConn   *int   `yaml:"pool_max_db_conn"`
	PoolAuthUser    string `yaml:"pool_auth_user" check:"username"`
	Origin          Origin `yaml:"-" json:"-"`
}

// Absent reports whether the database is to be dropped.
func (db *Database) Absent() bool { return db.State == "absent" }

// Pooled reports whether pgbouncer serves this database (default true).
func (db *Database) Pooled() bool { return !db.Absent() && (db.Pgbouncer == nil || *db.Pgbouncer) }

// Reserve is the pgbouncer reserve pool of the database (default 32).
func (db *Database) Reserve() int { return firstInt(32, db.PoolReserve, db.PoolSizeReserve) }

// MaxDBConnections is pgbouncer's max_db_connections (default 100).
func (db *Database) MaxDBConnections() int { return firstInt(100, db.PoolConnlimit, db.PoolMaxDBConn) }

// Size is the pgbouncer default pool size (default 64).
func (db *Database) Size() int { return firstInt(64, db.PoolSize) }

// SizeMin is pgbouncer's min_pool_size (default 0).
func (db *Database) SizeMin() int { return firstInt(0, db.PoolSizeMin) }

func firstInt(def int, vs ...*int) int {
	for _, v := range vs {
		if v != nil {
			return *v
		}
	}
	return def
}

// Schema is a schema of a database: a name, or an object with an owner.
type Schema struct {
	Name   string `yaml:"name" check:"ident" required:"true"`
	Owner  string `yaml:"owner" check:"username"`
	State  string `yaml:"state" enum:"create,absent"`
	Origin Origin `yaml:"-" json:"-"`
}

func (s *Schema) decodeNode(d *decoder, n *yaml.Node, path string) {
	type plain Schema
	tmp := plain{}
	d.decodeStruct(nameObject(n), reflectValue(&tmp), path)
	*s = Schema(tmp)
}

// Extension is an extension of a database, or of pg_default_extensions.
type Extension struct {
	Name    string `yaml:"name" required:"true"`
	Schema  string `yaml:"schema" check:"ident"`
	Version string `yaml:"version"`
	State   string `yaml:"state" enum:"create,absent"`
	Origin  Origin `yaml:"-" json:"-"`
}

func (e *Extension) decodeNode(d *decoder, n *yaml.Node, path string) {
	type plain Extension
	tmp := plain{}
	d.decodeStruct(nameObject(n), reflectValue(&tmp), path)
	*e = Extension(tmp)
}

// nameObject turns the short form "x" into {name: x}, keeping positions.
func nameObject(n *yaml.Node) *yaml.Node {
	if n.Kind != yaml.ScalarNode {
		return n
	}
	return &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "name", Line: n.Line, Column: n.Column}, n,
	}}
}
