package inventory

import "gopkg.in/yaml.v3"

// User is one entry of pg_default_roles or pg_users. Optional attributes
// are pointers: an attribute the inventory does not mention is left as it
// is on the server, never silently revoked.
type User struct {
	Name          string            `yaml:"name" check:"username" required:"true"`
	State         string            `yaml:"state" enum:"create,absent"`
	Password      string            `yaml:"password"`
	Comment       string            `yaml:"comment"`
	Login         *bool             `yaml:"login"`
	Superuser     *bool             `yaml:"superuser"`
	Createdb      *bool             `yaml:"createdb"`
	Createrole    *bool             `yaml:"createrole"`
	Inherit       *bool             `yaml:"inherit"`
	Replication   *bool             `yaml:"replication"`
	Bypassrls     *bool             `yaml:"bypassrls"`
	Connlimit     *int              `yaml:"connlimit"`
	ExpireIn      *int              `yaml:"expire_in"`
	ExpireAt      string            `yaml:"expire_at" check:"date"`
	Roles         []Membership      `yaml:"roles"`
	Parameters    map[string]Scalar `yaml:"parameters"`
	Pgbouncer     bool              `yaml:"pgbouncer"`
	PoolMode      string            `yaml:"pool_mode" enum:"transaction,session,statement"`
	PoolConnlimit *int              `yaml:"pool_connlimit"`
	// SearchPath is the legacy top-level spelling of a role parameter that
	// older Pigsty examples use; it is folded into Parameters.
	SearchPath string `yaml:"search_path"`
	Origin     Origin `yaml:"-" json:"-"`
}

// Absent reports whether the user is to be dropped.
func (u *User) Absent() bool { return u.State == "absent" }

// CanLogin is the LOGIN attribute the user gets on creation.
func (u *User) CanLogin() bool { return u.Login == nil || *u.Login }

// Membership is a role granted to a user: a plain name, or an object with
// grant options (set and inherit need PostgreSQL 16).
type Membership struct {
	Name    string `yaml:"name" check:"username" required:"true"`
	State   string `yaml:"state" enum:"grant,absent,revoke"`
	Admin   *bool  `yaml:"admin"`
	Set     *bool  `yaml:"set"`
	Inherit *bool  `yaml:"inherit"`
	Origin  Origin `yaml:"-" json:"-"`
}

// Revoked reports whether the membership is to be taken away.
func (m *Membership) Revoked() bool { return m.State == "absent" || m.State == "revoke" }

func (m *Membership) decodeNode(d *decoder, n *yaml.Node, path string) {
	type plain Membership // the same fields without this method
	tmp := plain{}
	d.decodeStruct(nameObject(n), reflectValue(&tmp), path)
	*m = Membership(tmp)
}
