package inventory

import (
	"fmt"
	"strings"
)

// builtinRoles are roles PostgreSQL itself provides, which memberships may
// name without defining them.
func builtinRole(name string) bool { return strings.HasPrefix(name, "pg_") }

// users checks pg_default_roles + pg_users of an instance: unique names,
// memberships of roles defined earlier, protected system users.
func (v *validator) users(h *Host) {
	p := h.Params
	defined := map[string]Origin{}
	protected := map[string]bool{p.PgDbsu: true, p.PgReplicationUsername: true, p.PgAdminUsername: true, p.PgMonitorUsername: true}
	all := append(append([]User(nil), p.PgDefaultRoles...), p.PgUsers...)
	inUsers := len(p.PgDefaultRoles)
	for n, u := range all {
		o := u.Origin
		if prev, dup := defined[u.Name]; dup && n >= inUsers && prev.Pos.File != "(defaults)" {
			v.c.errorf(o.Field("name"), quote(u.Name), "allowed: unique user names",
				"user %s is defined twice (also at %s)", u.Name, prev.Pos)
		}
		if u.Absent() && protected[u.Name] {
			v.c.errorf(o.Field("state"), quote("absent"), "allowed: system users (dbsu, replication, admin, monitor) cannot be dropped",
				"user %s is protected", u.Name)
		}
		if u.ExpireIn != nil && *u.ExpireIn < 0 {
			v.c.errorf(o.Field("expire_in"), quote(fmt.Sprint(*u.ExpireIn)), "allowed: days ≥ 0", "invalid expire_in")
		}
		if u.ExpireIn != nil && u.ExpireAt != "" {
			v.c.warnf(Origin{Pos: o.Pos, Path: o.Path}, "user %s sets both expire_in and expire_at: expire_in wins", u.Name)
		}
		for _, m := range u.Roles {
			if m.Revoked() || builtinRole(m.Name) {
				continue
			}
			if _, ok := defined[m.Name]; !ok {
				v.c.warnf(Origin{Pos: m.Origin.Pos, Path: m.Origin.Path},
					"role %s granted to %s is not defined before it in pg_default_roles/pg_users; it must already exist", m.Name, u.Name)
			}
			if m.Name == u.Name {
				v.c.errorf(Origin{Pos: m.Origin.Pos, Path: m.Origin.Path}, quote(m.Name), "allowed: another role", "user %s cannot be a member of itself", u.Name)
			}
		}
		defined[u.Name] = o
	}
}

var protectedDatabases = map[string]bool{"postgres": true, "template0": true, "template1": true}

// databases checks pg_databases: unique names, owners and templates that
// exist, protected system databases, ICU needing template0.
func (v *validator) databases(h *Host) {
	p := h.Params
	users := map[string]bool{p.PgDbsu: true}
	var userNames []string
	for _, u := range append(append([]User(nil), p.PgDefaultRoles...), p.PgUsers...) {
		if !u.Absent() {
			users[u.Name] = true
			userNames = append(userNames, u.Name)
		}
	}
	dbs := map[string]Origin{"template0": {}, "template1": {}, "postgres": {}}
	for _, db := range p.PgDatabases {
		o := db.Origin
		if prev, dup := dbs[db.Name]; dup && !protectedDatabases[db.Name] {
			v.c.errorf(o.Field("name"), quote(db.Name), "allowed: unique database names",
				"database %s is defined twice (also at %s)", db.Name, prev.Pos)
		}
		if protectedDatabases[db.Name] && (db.State == "absent" || db.State == "recreate") {
			v.c.errorf(o.Field("state"), quote(db.State), "allowed: postgres, template0 and template1 are never dropped",
				"database %s is protected", db.Name)
		}
		if db.Owner != "" && !users[db.Owner] {
			allowed := "allowed: a user of pg_default_roles/pg_users or the dbsu"
			if s := suggest(db.Owner, userNames); s != "" {
				allowed = fmt.Sprintf("did you mean %q?", s)
			}
			v.c.errorf(o.Field("owner"), quote(db.Owner), allowed, "owner of database %s is not a defined user", db.Name)
		}
		if db.Template != "" {
			if _, ok := dbs[db.Template]; !ok {
				v.c.errorf(o.Field("template"), quote(db.Template), "allowed: template0, template1 or a database defined earlier in pg_databases",
					"template of database %s does not exist", db.Name)
			}
			if db.Template == "postgres" {
				v.c.warnf(o.Field("template"), "cloning postgres ends every session connected to it")
			}
		}
		if db.LocaleProvider == "icu" && db.Template != "template0" {
			v.c.errorf(o.Field("locale_provider"), quote("icu"), "allowed: locale_provider icu with template: template0",
				"an ICU database must be created from template0")
		}
		if db.PoolReserve != nil && db.PoolSizeReserve != nil && *db.PoolReserve != *db.PoolSizeReserve {
			v.c.errorf(o.Field("pool_size_reserve"), quote(fmt.Sprint(*db.PoolSizeReserve)), "allowed: one of pool_reserve or pool_size_reserve (the same field)",
				"pool_reserve and pool_size_reserve disagree")
		}
		if db.PoolConnlimit != nil && db.PoolMaxDBConn != nil && *db.PoolConnlimit != *db.PoolMaxDBConn {
			v.c.errorf(o.Field("pool_max_db_conn"), quote(fmt.Sprint(*db.PoolMaxDBConn)), "allowed: one of pool_connlimit or pool_max_db_conn (the same field)",
				"pool_connlimit and pool_max_db_conn disagree")
		}
		if db.PoolAuthUser != "" && !users[db.PoolAuthUser] {
			v.c.errorf(o.Field("pool_auth_user"), quote(db.PoolAuthUser), "allowed: a defined user", "pool_auth_user is not a defined user")
		}
		for _, s := range db.Schemas {
			if s.Owner != "" && !users[s.Owner] {
				v.c.errorf(s.Origin.Field("owner"), quote(s.Owner), "allowed: a defined user", "schema owner is not a defined user")
			}
		}
		if db.State != "absent" {
			dbs[db.Name] = o
		}
	}
}
