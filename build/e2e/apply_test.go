package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	clientv3 "go.etcd.io/etcd/client/v3"

	"pigsty/node/agent"
	"pigsty/pgsql/inventory"
)

// TestApply brings up the demo, then applies, one after another,
// inventories that exercise every field of users, databases, HBA rules,
// services and parameters, and checks the live result in the catalogs,
// the pgbouncer files and console and the HAProxy config; after each, a
// second apply plans nothing. A dry run must report exactly what the run
// then executes and change nothing; bad inputs are refused with nothing
// changed; pgsql rm honours pg_safeguard and removes the instance, its
// data and its DCS keys.
func TestApply(t *testing.T) {
	h := newHost(t)
	ctx := context.Background()
	h.must("configure", "-i", "127.0.0.1")
	start := time.Now()
	h.must("demo", "-i", "127.0.0.1", "--timeout", "3m")
	t.Logf("demo up in %s", time.Since(start).Round(100*time.Millisecond))
	a := &applier{h: h, t: t, base: h.read("pigsty.yml")}
	h.write("app.sql", "CREATE TABLE app.items (id int PRIMARY KEY, name text);\nINSERT INTO app.items VALUES (1, 'one; with a semicolon'), (2, 'two');\n")
	h.write("files/icu.sql", "CREATE TABLE t_icu (id int);\nINSERT INTO t_icu VALUES (1);\n")

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"create: every field, dry run first", func(t *testing.T) { a.create(ctx, t) }},
		{"change and drop", func(t *testing.T) { a.change(ctx, t) }},
		{"recreate needs --yes", func(t *testing.T) { a.recreate(ctx, t) }},
		{"bad inputs change nothing", func(t *testing.T) { a.bad(ctx, t) }},
		{"pgsql user, db, hba, svc", func(t *testing.T) { a.scoped(ctx, t) }},
		{"pg edit-config", func(t *testing.T) { a.editConfig(ctx, t) }},
		{"pgsql rm", func(t *testing.T) { a.remove(ctx, t) }},
	}
	for _, s := range steps {
		begin := time.Now()
		ok := t.Run(s.name, s.fn)
		t.Logf("%s: %s", s.name, time.Since(begin).Round(100*time.Millisecond))
		if !ok {
			return
		}
	}
}

type applier struct {
	h    *host
	t    *testing.T
	base string // pigsty.yml as configure wrote it
}

func (h *host) read(name string) string {
	b, err := os.ReadFile(filepath.Join(h.root, name))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

func (h *host) write(name, text string) {
	path := filepath.Join(h.root, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// inventory is the configured pigsty.yml with the pg-meta group replaced.
func (a *applier) inventory(name, group string) string {
	from := strings.Index(a.base, "    # pg-meta:")
	to := strings.Index(a.base, "\n  vars:\n")
	if from < 0 || to < from {
		a.t.Fatalf("the configured inventory has no pg-meta group to replace:\n%s", a.base)
	}
	a.h.write(name, a.base[:from]+group+a.base[to:])
	return name
}

// plan is what apply --json prints.
type plan struct {
	Stored    int64 `json:"stored_revision"`
	Instances []struct {
		Name string `json:"ins"`
		SQL  []struct {
			Database   string   `json:"database"`
			Title      string   `json:"title"`
			Statements []string `json:"statements"`
			Secret     bool     `json:"secret"`
		} `json:"sql"`
		Files []struct {
			Path   string `json:"path"`
			Action string `json:"action"`
			Diff   string `json:"diff"`
		} `json:"files"`
		Notes []string `json:"notes"`
	} `json:"instances"`
}

// changes are a plan's changes as the agent's status lists them.
func (p plan) changes() []string {
	var out []string
	for _, i := range p.Instances {
		for _, s := range i.SQL {
			if s.Secret {
				out = append(out, fmt.Sprintf("sql %s: %s (statement not shown: it holds a password)", s.Database, s.Title))
			}
			for _, st := range s.Statements {
				out = append(out, fmt.Sprintf("sql %s: %s", s.Database, st))
			}
		}
		for _, f := range i.Files {
			if f.Action == "remove" {
				out = append(out, "remove "+f.Path)
			} else {
				out = append(out, "file "+f.Path)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (p plan) notes() string {
	var out []string
	for _, i := range p.Instances {
		out = append(out, i.Notes...)
	}
	return strings.Join(out, "\n")
}

type result struct {
	Plan   plan `json:"plan"`
	Result struct {
		Revision  int64 `json:"revision"`
		Instances map[string]struct {
			OK      bool     `json:"ok"`
			Changes []string `json:"changes"`
		} `json:"instances"`
		PendingRestart map[string][]string `json:"pending_restart"`
	} `json:"result"`
}

// jsonPart is the JSON document of an output that also holds progress
// lines (stderr): from the first line that opens an object.
func jsonPart(out string) string {
	if strings.HasPrefix(out, "{") {
		return out
	}
	if i := strings.Index(out, "\n{"); i >= 0 {
		return out[i+1:]
	}
	return out
}

func (a *applier) dryRun(t *testing.T, args ...string) plan {
	t.Helper()
	out := a.h.must(append([]string{"apply", "--dry-run", "--json"}, args...)...)
	var p plan
	if err := json.Unmarshal([]byte(jsonPart(out)), &p); err != nil {
		t.Fatalf("dry run output: %v\n%s", err, out)
	}
	return p
}

func (a *applier) apply(t *testing.T, args ...string) result {
	t.Helper()
	out := a.h.must(append([]string{"apply", "--json"}, args...)...)
	var r result
	if err := json.Unmarshal([]byte(jsonPart(out)), &r); err != nil {
		t.Fatalf("apply output: %v\n%s", err, out)
	}
	return r
}

// applyChecked dry-runs a file, checks the dry run changed nothing,
// applies it, checks the agent executed exactly what the dry run said,
// and that a second apply plans nothing.
func (a *applier) applyChecked(ctx context.Context, t *testing.T, file string, extra ...string) (plan, result) {
	t.Helper()
	before := a.snapshot(ctx, t)
	planned := a.dryRun(t, append([]string{"-f", file}, extra...)...)
	if after := a.snapshot(ctx, t); after != before {
		t.Fatalf("the dry run changed something:\n%s", diffSnap(before, after))
	}
	if len(planned.changes()) == 0 {
		t.Fatalf("%s plans nothing", file)
	}
	res := a.apply(t, append([]string{"-f", file}, extra...)...)
	st := res.Result.Instances["pg-meta-1"]
	if !st.OK {
		t.Fatalf("pg-meta-1 did not converge: %+v", res.Result)
	}
	executed := planDomain(st.Changes)
	if want := planned.changes(); strings.Join(want, "\n") != strings.Join(executed, "\n") {
		t.Errorf("the dry run planned\n  %s\nthe agent executed\n  %s", strings.Join(want, "\n  "), strings.Join(executed, "\n  "))
	}
	t.Logf("%s: %d changes planned and executed", file, len(executed))
	if again := a.dryRun(t, "-f", file); len(again.changes()) != 0 {
		t.Errorf("a second apply of %s plans\n  %s", file, strings.Join(again.changes(), "\n  "))
	}
	return planned, res
}

// planDomain are the changes of an agent's report that a plan covers,
// sorted: SQL, and the files of the postgres, pgbouncer and HAProxy
// phases (other phases write files of their own).
func planDomain(changes []string) []string {
	var out []string
	for _, c := range changes {
		for _, prefix := range []string{"sql ", "/pg/data/pg_hba.conf", "/pg/data/postgresql.auto.conf", "/etc/pgbouncer/", "/etc/haproxy/"} {
			if strings.HasPrefix(c, prefix) || (strings.Contains(c, prefix) && !strings.HasPrefix(c, "sql ")) {
				out = append(out, c)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// query runs SQL as the admin user on the primary and returns the first
// column of every row as text.
func (a *applier) query(ctx context.Context, t *testing.T, db, sql string) []string {
	t.Helper()
	c, err := connect(ctx, "dbuser_dba", "DBUser.DBA", 5432, db, "sslmode=require")
	if err != nil {
		t.Fatalf("connect to %s: %v", db, err)
	}
	defer c.Close(ctx)
	rows, _ := c.Query(ctx, sql)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %s: %v", db, sql, err)
	}
	return out
}

// exec runs SQL as the admin user on the primary.
func (a *applier) exec(ctx context.Context, t *testing.T, db, sql string) {
	t.Helper()
	if err := exec1(ctx, "dbuser_dba", "DBUser.DBA", 5432, db, sql, "sslmode=require"); err != nil {
		t.Fatalf("%s: %s: %v", db, sql, err)
	}
}

// expect checks that SQL returns exactly the rows wanted.
func (a *applier) expect(ctx context.Context, t *testing.T, db, sql string, want ...string) {
	t.Helper()
	if got := a.query(ctx, t, db, sql); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: %s\n got %q\nwant %q", db, sql, got, want)
	}
}

// snapshot is what a change may touch: roles with their settings and
// memberships, databases with their ACLs, the managed files.
func (a *applier) snapshot(ctx context.Context, t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT rolname || rolsuper || rolcanlogin || rolconnlimit || coalesce(rolvaliduntil::text, '') || coalesce(rolpassword, '') FROM pg_authid ORDER BY 1`,
		`SELECT roleid::regrole || ' ' || member::regrole || ' ' || admin_option FROM pg_auth_members ORDER BY 1`,
		`SELECT setrole || ' ' || setdatabase || ' ' || setconfig::text FROM pg_db_role_setting ORDER BY 1`,
		`SELECT oid || datname || datdba || datistemplate || datallowconn || datconnlimit || coalesce(datacl::text, '') FROM pg_database ORDER BY 1`,
	} {
		b.WriteString(strings.Join(a.query(ctx, t, "postgres", q), "\n") + "\n")
	}
	for _, f := range []string{"pg/data/pg_hba.conf", "pg/data/postgresql.auto.conf", "etc/pgbouncer/userlist.txt", "etc/pgbouncer/database.txt",
		"etc/pgbouncer/useropts.txt", "etc/pgbouncer/pgb_hba.conf"} {
		fmt.Fprintf(&b, "%s %x\n", f, sha256.Sum256([]byte(a.h.read(f))))
	}
	services, _ := filepath.Glob(filepath.Join(a.h.root, "etc/haproxy/conf.d/*.cfg"))
	for _, f := range services {
		data, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "%s %x\n", filepath.Base(f), sha256.Sum256(data))
	}
	return b.String()
}

func diffSnap(a, b string) string {
	in := map[string]bool{}
	for _, l := range strings.Split(a, "\n") {
		in[l] = true
	}
	var out []string
	for _, l := range strings.Split(b, "\n") {
		if !in[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// scram is the SCRAM-SHA-256 verifier PostgreSQL stores for a password.
func scram(password string) string {
	salt := []byte("pigsty-e2e-salt!")
	salted, _ := pbkdf2.Key(sha256.New, password, salt, 4096, 32)
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	enc := base64.StdEncoding
	return fmt.Sprintf("SCRAM-SHA-256$4096:%s$%s:%s", enc.EncodeToString(salt), enc.EncodeToString(stored[:]), enc.EncodeToString(mac(salted, "Server Key")))
}

func md5Verifier(user, password string) string {
	sum := md5.Sum([]byte(password + user))
	return "md5" + hex.EncodeToString(sum[:])
}

// groupCreate is pg-meta with every user, database, HBA, service and
// parameter field set.
func groupCreate() string {
	return `    # pg-meta: every field of the day-2 objects
    pg-meta:
      hosts: { 127.0.0.1: { pg_seq: 1, pg_role: primary, pg_weight: 42 } }
      vars:
        pg_cluster: pg-meta
        pg_users:
          - { name: dbuser_meta ,password: DBUser.Meta ,pgbouncer: true ,roles: [ dbrole_admin ] ,comment: pigsty admin user }
          - { name: dbuser_view ,password: DBUser.Viewer ,pgbouncer: true ,roles: [ dbrole_readonly ] ,comment: read-only viewer for meta database }
          - { name: dbrole_etl ,login: false ,comment: etl role }
          - name: dbuser_app
            password: App.Secret.1
            login: true
            superuser: false
            createdb: true
            createrole: true
            inherit: false
            replication: true
            bypassrls: true
            connlimit: 10
            expire_in: 30
            expire_at: '2030-01-01'
            comment: the application
            roles: [ dbrole_readwrite, { name: dbrole_etl, admin: true }, { name: pg_monitor, set: false, inherit: true } ]
            parameters: { work_mem: 64MB, statement_timeout: 30s, search_path: 'app, public' }
            pgbouncer: true
            pool_mode: session
            pool_connlimit: 7
          - { name: dbuser_scram ,password: '` + scram("Scram.Secret") + `' ,expire_at: '2031-02-03' ,pgbouncer: true ,roles: [ dbrole_readonly ] }
          - { name: dbuser_md5 ,password: '` + md5Verifier("dbuser_md5", "Md5.Secret") + `' ,pgbouncer: true ,roles: [ dbrole_readonly ] }
          - { name: dbuser_gone ,password: Gone.Secret ,roles: [ dbrole_readwrite ] }
        pg_databases:
          - { name: meta ,comment: pigsty meta database ,schemas: [ pigsty ] }
          - name: app
            owner: dbuser_app
            template: template0
            strategy: wal_log
            encoding: UTF8
            locale: C
            lc_collate: C
            lc_ctype: C
            locale_provider: libc
            is_template: false
            allowconn: true
            revokeconn: true
            connlimit: 20
            tablespace: pg_default
            comment: the application database
            parameters: { work_mem: 32MB, search_path: 'app, public' }
            schemas: [ app, { name: audit, owner: dbuser_app } ]
            extensions: [ pg_trgm, { name: btree_gin, schema: public }, { name: hstore, schema: app, version: '1.8' } ]
            baseline: app.sql
            pgbouncer: true
            pool_mode: session
            pool_size: 10
            pool_size_min: 2
            pool_reserve: 3
            pool_connlimit: 50
            pool_auth_user: dbuser_app
          - { name: icu ,template: template0 ,encoding: UTF8 ,locale_provider: icu ,icu_locale: en-US ,icu_rules: '&a < b' ,baseline: icu.sql }
          - { name: app_tpl ,template: app ,is_template: true ,pgbouncer: false }
          - { name: app_copy ,template: app_tpl ,strategy: file_copy ,pool_size_reserve: 4 ,pool_max_db_conn: 8 }
          - { name: closed ,allowconn: false }
        pg_hba_rules:
          - { user: all ,db: all ,addr: intra ,auth: pwd ,title: 'allow intranet password access' ,order: 800 }
          - { user: dbuser_gone ,db: all ,addr: world ,auth: deny ,title: 'gone is blocked' ,order: 0 }
          - { user: dbuser_app ,db: app ,addr: localhost ,auth: pwd ,title: 'app from localhost' ,order: 120 }
          - { user: dbuser_app ,db: app ,addr: cluster ,auth: md5 ,title: 'app from the cluster' }
          - { user: dbuser_view ,db: all ,addr: admin ,auth: ssl ,title: 'viewer from admin' }
          - { user: +dbrole_etl ,db: all ,addr: infra ,auth: sha ,title: 'etl from infra' }
          - { user: dbuser_app ,db: app ,addr: 10.20.0.0/16 ,auth: ssl ,role: replica ,title: 'replica only' }
          - { title: 'raw rule', rules: [ 'host all dbuser_scram 192.168.77.0/24 scram-sha-256' ] }
        pgb_hba_rules:
          - { user: dbuser_app ,db: app ,addr: 10.30.0.0/16 ,auth: pwd ,title: 'app through the pool' }
          - { user: dbuser_gone ,db: all ,addr: world ,auth: deny ,title: 'gone is blocked in the pool' ,order: 50 }
        pg_default_service_dest: postgres
        pg_services:
          - { name: standby ,port: 5435 ,ip: 127.0.0.1 ,selector: "[]" ,backup: "[? pg_role == ` + "`primary`" + ` ]" ,dest: default ,check: /sync ,maxconn: 100 ,balance: leastconn ,options: 'inter 2s fastinter 1s downinter 2s rise 2 fall 2' }
        haproxy_services:
          - { name: web ,port: 9080 ,balance: leastconn ,options: [ option tcplog ] ,servers: [ { name: web-1 ,ip: 127.0.0.1 ,port: 9081 ,options: check ,weight: 5 } ] }
        pg_parameters: { log_min_duration_statement: 250, max_prepared_transactions: 10 }
`
}

func (a *applier) create(ctx context.Context, t *testing.T) {
	file := a.inventory("create.yml", groupCreate())
	planned, res := a.applyChecked(ctx, t, file)
	notes := planned.notes()
	for _, want := range []string{"set/inherit options of role pg_monitor need PostgreSQL 16", "icu_rules needs PostgreSQL 16"} {
		if !strings.Contains(notes, want) {
			t.Errorf("no note %q in\n%s", want, notes)
		}
	}
	if p := res.Result.PendingRestart["pg-meta-1"]; strings.Join(p, ",") != "max_prepared_transactions" {
		t.Errorf("pending restart %q", p)
	}

	// users: attributes (expire_in wins over expire_at), verifiers as given, memberships, settings
	a.expect(ctx, t, "postgres", `SELECT concat_ws(' ', rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolreplication, rolbypassrls,
		rolconnlimit, rolvaliduntil::date - current_date, shobj_description(oid, 'pg_authid')) FROM pg_roles WHERE rolname = 'dbuser_app'`,
		"t f t t f t t 10 30 the application")
	a.expect(ctx, t, "postgres", `SELECT concat_ws(' ', rolname, rolcanlogin, coalesce(rolvaliduntil::date::text, '-'), rolpassword = CASE rolname
		WHEN 'dbuser_scram' THEN '`+scram("Scram.Secret")+`' WHEN 'dbuser_md5' THEN '`+md5Verifier("dbuser_md5", "Md5.Secret")+`' END)
		FROM pg_authid WHERE rolname IN ('dbrole_etl', 'dbuser_scram', 'dbuser_md5') ORDER BY 1`,
		"dbrole_etl f -", "dbuser_md5 t - t", "dbuser_scram t 2031-02-03 t")
	a.expect(ctx, t, "postgres", `SELECT r.rolname || ' ' || a.admin_option FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid
		WHERE a.member = 'dbuser_app'::regrole ORDER BY 1`, "dbrole_etl true", "dbrole_readwrite false", "pg_monitor false")
	a.expect(ctx, t, "postgres", `SELECT array_to_string(setconfig, ';') FROM pg_db_role_setting WHERE setrole = 'dbuser_app'::regrole`,
		`search_path=app, public;statement_timeout=30s;work_mem=64MB`)
	// databases: one-time and mutable fields, ACLs (revokeconn), settings, templates
	a.expect(ctx, t, "postgres", `SELECT concat_ws(' ', datname, pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype, datlocprovider,
		coalesce(daticulocale, '-'), datistemplate, datallowconn, datconnlimit, (SELECT spcname FROM pg_tablespace WHERE oid = dattablespace),
		shobj_description(oid, 'pg_database')) FROM pg_database WHERE datname IN ('app', 'icu', 'app_tpl', 'app_copy', 'closed') ORDER BY 1`,
		"app dbuser_app UTF8 C C c - f t 20 pg_default the application database",
		"app_copy postgres UTF8 C C c - f t -1 pg_default business database app_copy",
		"app_tpl postgres UTF8 C C c - t t -1 pg_default business database app_tpl",
		"closed postgres UTF8 C C c - f f -1 pg_default business database closed",
		"icu postgres UTF8 C C i en-US f t -1 pg_default business database icu")
	a.expect(ctx, t, "postgres", `SELECT u || ' ' || has_database_privilege(u, 'app', 'CONNECT') FROM unnest(ARRAY['dbuser_view', 'dbuser_app', 'dbuser_monitor', 'replicator']) u`,
		"dbuser_view false", "dbuser_app true", "dbuser_monitor true", "replicator true")
	a.expect(ctx, t, "postgres", `SELECT array_to_string(setconfig, ';') FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = 'app')`,
		"search_path=app, public;work_mem=32MB")
	a.expect(ctx, t, "app", `SELECT nspname || ' ' || pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname IN ('app', 'audit') ORDER BY 1`,
		"app postgres", "audit dbuser_app")
	a.expect(ctx, t, "app", `SELECT extname || ' ' || extnamespace::regnamespace || ' ' || extversion FROM pg_extension WHERE extname IN ('pg_trgm', 'btree_gin', 'hstore') ORDER BY 1`,
		"btree_gin public 1.3", "hstore app 1.8", "pg_trgm app 1.6") // no schema: the first of the search_path
	a.expect(ctx, t, "app", `SELECT name FROM app.items ORDER BY id`, "one; with a semicolon", "two")
	a.expect(ctx, t, "app_copy", `SELECT count(*)::text FROM app.items`, "2")
	a.expect(ctx, t, "icu", `SELECT count(*)::text FROM t_icu`, "1")
	// HBA: aliases, order, role filter, raw rules — in effect after a reload
	a.expect(ctx, t, "postgres", `SELECT concat_ws(' ', type, array_to_string(database, ','), array_to_string(user_name, ','), coalesce(address, ''), auth_method)
		FROM pg_hba_file_rules WHERE 'dbuser_app' = ANY(user_name) OR 'dbuser_gone' = ANY(user_name) OR 'dbuser_scram' = ANY(user_name)
		OR 'dbuser_view' = ANY(user_name) OR '+dbrole_etl' = ANY(user_name) ORDER BY line_number`,
		"host all dbuser_gone 0.0.0.0 reject", "host all dbuser_gone :: reject",
		"local app dbuser_app  scram-sha-256", "host app dbuser_app 127.0.0.1 scram-sha-256", "host app dbuser_app ::1 scram-sha-256",
		"host app dbuser_app 127.0.0.1 md5", "hostssl all dbuser_view 127.0.0.1 scram-sha-256", "host all +dbrole_etl 127.0.0.1 scram-sha-256",
		"host all dbuser_scram 192.168.77.0 scram-sha-256")
	if hba := a.h.read("pg/data/pg_hba.conf"); !strings.Contains(hba, "# replica only [replica] [DISABLED]\n#hostssl") {
		t.Errorf("the replica-only rule is not rendered disabled:\n%s", hba)
	}
	// pgbouncer: files and what the running pooler loaded
	for file, wants := range map[string][]string{
		"etc/pgbouncer/userlist.txt": {`"dbuser_app" "SCRAM-SHA-256$`, `"dbuser_scram" "` + scram("Scram.Secret") + `"`, `"dbuser_md5" "` + md5Verifier("dbuser_md5", "Md5.Secret") + `"`},
		"etc/pgbouncer/useropts.txt": {"dbuser_app                  = pool_mode=session max_user_connections=7"},
		"etc/pgbouncer/database.txt": {"auth_user=dbuser_app pool_mode=session pool_size=10 min_pool_size=2 reserve_pool=3 max_db_connections=50", "reserve_pool=4 max_db_connections=8"},
		"etc/pgbouncer/pgb_hba.conf": {"host     app                dbuser_app         10.30.0.0/16       scram-sha-256", "host     all                dbuser_gone        0.0.0.0/0          reject"},
		"etc/haproxy/conf.d/web.cfg": {"balance leastconn", "option tcplog", "server web-1 127.0.0.1:9081 check weight 5"},
		"etc/haproxy/conf.d/pg-meta-standby.cfg": {"bind 127.0.0.1:5435", "maxconn 100", "balance leastconn", "uri /sync", "default-server inter 2s fastinter 1s downinter 2s rise 2 fall 2",
			"server pg-meta-1 127.0.0.1:5432 check port 8008 weight 42 backup"},
		"etc/haproxy/conf.d/pg-meta-primary.cfg": {"server pg-meta-1 127.0.0.1:5432 check port 8008 weight 42"},
		"pg/data/postgresql.auto.conf":           {"log_min_duration_statement = '250'", "max_prepared_transactions = '10'"},
	} {
		text := a.h.read(file)
		for _, w := range wants {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q:\n%s", file, w, text)
			}
		}
	}
	if db := a.h.read("etc/pgbouncer/database.txt"); strings.Contains(db, "app_tpl") || strings.Contains(a.h.read("etc/pgbouncer/userlist.txt"), "dbuser_gone") {
		t.Errorf("pgbouncer lists what it should not:\n%s", db)
	}
	a.expect(ctx, t, "postgres", "SELECT setting FROM pg_settings WHERE name = 'log_min_duration_statement'", "250")
	users, dbs := a.console(ctx, t)
	if !strings.Contains(users, "dbuser_app session") || !strings.Contains(dbs, "app 10 session") || strings.Contains(dbs, "app_tpl ") {
		t.Errorf("pgbouncer SHOW USERS:\n%s\nSHOW DATABASES:\n%s", users, dbs)
	}
	if err := exec1(ctx, "dbuser_app", "App.Secret.1", 6432, "app", "SELECT 1"); err != nil {
		t.Errorf("dbuser_app through pgbouncer: %v", err)
	}
	if err := exec1(ctx, "dbuser_scram", "Scram.Secret", 6432, "meta", "SELECT 1"); err != nil {
		t.Errorf("dbuser_scram (SCRAM verifier given) through pgbouncer: %v", err)
	}
	if err := exec1(ctx, "dbuser_view", "DBUser.Viewer", 5432, "app", "SELECT 1", "sslmode=require"); err == nil {
		t.Error("dbuser_view connects to app: revokeconn should refuse it")
	}
}

// console reads pgbouncer's SHOW USERS and SHOW DATABASES as "name mode"
// and "name pool_size mode" lines.
func (a *applier) console(ctx context.Context, t *testing.T) (string, string) {
	t.Helper()
	c, err := connect(ctx, "dbuser_dba", "DBUser.DBA", 6432, "pgbouncer", "default_query_exec_mode=simple_protocol")
	if err != nil {
		t.Fatalf("pgbouncer console: %v", err)
	}
	defer c.Close(ctx)
	read := func(sql string, cols ...string) string {
		rows, err := c.Query(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		defer rows.Close()
		idx := map[string]int{}
		for n, f := range rows.FieldDescriptions() {
			idx[f.Name] = n
		}
		var out []string
		for rows.Next() {
			v, _ := rows.Values()
			var line []string
			for _, col := range cols {
				line = append(line, fmt.Sprint(v[idx[col]]))
			}
			out = append(out, strings.Join(line, " "))
		}
		return strings.Join(out, "\n")
	}
	return read("SHOW USERS", "name", "pool_mode"), read("SHOW DATABASES", "name", "pool_size", "pool_mode")
}

// groupChange changes and drops what groupCreate made.
func groupChange(icuState string) string {
	g := groupCreate()
	for old, cur := range map[string]string{
		"            password: App.Secret.1\n": "            password: App.Secret.2\n",
		"            connlimit: 10\n":          "            connlimit: 20\n",
		"            roles: [ dbrole_readwrite, { name: dbrole_etl, admin: true }, { name: pg_monitor, set: false, inherit: true } ]\n": "            roles: [ dbrole_readwrite, { name: dbrole_etl, state: absent } ]\n",
		"            parameters: { work_mem: 64MB, statement_timeout: 30s, search_path: 'app, public' }\n":                              "            parameters: { work_mem: DEFAULT, statement_timeout: 30s, search_path: 'app, public' }\n",
		"            pool_mode: session\n            pool_connlimit: 7\n":                                                               "            pool_mode: transaction\n            pool_connlimit: 7\n",
		"          - { name: dbuser_gone ,password: Gone.Secret ,roles: [ dbrole_readwrite ] }\n":                                       "          - { name: dbuser_gone ,state: absent }\n",
		"            encoding: UTF8\n            locale: C\n":                                                                           "            encoding: SQL_ASCII\n            locale: C\n",
		"            revokeconn: true\n            connlimit: 20\n":                                                                     "            revokeconn: false\n            connlimit: -1\n",
		"            schemas: [ app, { name: audit, owner: dbuser_app } ]\n":                                                            "            schemas: [ app, { name: audit, state: absent } ]\n",
		"            extensions: [ pg_trgm, { name: btree_gin, schema: public }, { name: hstore, schema: app, version: '1.8' } ]\n":     "            extensions: [ { name: pg_trgm, state: absent }, { name: btree_gin, schema: public } ]\n",
		"          - { name: icu ,template: template0":                                                                                  "          - { name: icu ,state: " + icuState + " ,template: template0",
		"          - { name: app_tpl ,template: app ,is_template: true ,pgbouncer: false }\n":                                           "          - { name: app_tpl ,state: absent }\n",
		"          - { name: app_copy ,template: app_tpl ,strategy: file_copy ,":                                                        "          - { name: app_copy ,template: app ,strategy: file_copy ,",
		"          - { name: closed ,allowconn: false }\n":                                                                              "          - { name: closed ,allowconn: true ,schemas: [ opened ] }\n",
		"          - { user: dbuser_gone ,db: all ,addr: world ,auth: deny ,title: 'gone is blocked' ,order: 0 }\n":                     "",
		"          - { user: dbuser_app ,db: app ,addr: cluster ,auth: md5 ,title: 'app from the cluster' }\n":                          "          - { user: dbuser_app ,db: app ,addr: cluster ,auth: sha ,title: 'app from the cluster' }\n",
		"      hosts: { 127.0.0.1: { pg_seq: 1, pg_role: primary, pg_weight: 42 } }\n":                                                  "      hosts: { 127.0.0.1: { pg_seq: 1, pg_role: primary } }\n",
		"        pg_default_service_dest: postgres\n":                                                                                   "        pg_service_provider: infra\n",
		"          - { name: web ,port: 9080 ":                                                                                          "          - { name: web2 ,port: 9090 ",
		"        pg_parameters: { log_min_duration_statement: 250, max_prepared_transactions: 10 }\n":                                   "        pg_parameters: { log_min_duration_statement: 500 }\n",
	} {
		if !strings.Contains(g, old) {
			panic("groupChange: no " + old)
		}
		g = strings.Replace(g, old, cur, 1)
	}
	g = strings.Replace(g, "        pg_services:\n          - { name: standby ", "        pg_services:\n          - { name: standby2 ", 1)
	g = strings.Replace(g, ",port: 5435 ,ip: 127.0.0.1", ",port: 5439 ,ip: 127.0.0.1", 1)
	return g
}

func (a *applier) change(ctx context.Context, t *testing.T) {
	a.exec(ctx, t, "app", "CREATE TABLE public.gone_owns (id int); ALTER TABLE public.gone_owns OWNER TO dbuser_gone")
	planned, _ := a.applyChecked(ctx, t, a.inventory("change.yml", groupChange("create")))
	notes := planned.notes()
	for _, want := range []string{`database app: encoding is "UTF8" on the server but "SQL_ASCII" in the inventory`, `database app_copy: template changes from "app_tpl" to "app"`} {
		if !strings.Contains(notes, want) {
			t.Errorf("no note %q in\n%s", want, notes)
		}
	}
	// dbuser_gone dropped as pg-drop-role does: what it owned goes to the dbsu
	a.expect(ctx, t, "postgres", `SELECT count(*)::text FROM pg_roles WHERE rolname = 'dbuser_gone'`, "0")
	a.expect(ctx, t, "app", `SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'gone_owns'`, "postgres")
	a.expect(ctx, t, "postgres", `SELECT concat_ws(' ', rolconnlimit, array_to_string(rolconfig, ';')) FROM pg_roles WHERE rolname = 'dbuser_app'`,
		"20 search_path=app, public;statement_timeout=30s")
	a.expect(ctx, t, "postgres", `SELECT string_agg(r.rolname, ',' ORDER BY r.rolname) FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid
		WHERE a.member = 'dbuser_app'::regrole`, "dbrole_readwrite,pg_monitor")
	a.expect(ctx, t, "postgres", `SELECT string_agg(datname || ':' || datallowconn || ':' || datconnlimit, ',' ORDER BY datname) FROM pg_database
		WHERE datname IN ('app', 'app_tpl', 'closed')`, "app:true:-1,closed:true:-1")
	a.expect(ctx, t, "postgres", `SELECT has_database_privilege('dbuser_view', 'app', 'CONNECT')::text`, "true")
	a.expect(ctx, t, "app", `SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('app', 'audit')`, "app")
	a.expect(ctx, t, "app", `SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname IN ('pg_trgm', 'btree_gin', 'hstore')`, "btree_gin,hstore") // hstore is no longer listed: kept
	a.expect(ctx, t, "closed", `SELECT count(*)::text FROM pg_namespace WHERE nspname = 'opened'`, "1")
	if err := exec1(ctx, "dbuser_app", "App.Secret.2", 6432, "app", "SELECT 1"); err != nil {
		t.Errorf("dbuser_app with its new password through pgbouncer: %v", err)
	}
	if hba := a.h.read("pg/data/pg_hba.conf"); strings.Contains(hba, "gone is blocked") || !strings.Contains(hba, "host     app                dbuser_app         127.0.0.1/32       scram-sha-256") {
		t.Errorf("pg_hba.conf after the change:\n%s", hba)
	}
	if opts := a.h.read("etc/pgbouncer/useropts.txt"); !strings.Contains(opts, "pool_mode=transaction max_user_connections=7") {
		t.Errorf("useropts.txt:\n%s", opts)
	}
	for name, want := range map[string]bool{"pg-meta-standby.cfg": false, "pg-meta-standby2.cfg": true, "web.cfg": false, "web2.cfg": true} {
		_, err := os.Stat(filepath.Join(a.h.root, "etc/haproxy/conf.d", name))
		if (err == nil) != want {
			t.Errorf("conf.d/%s exists: %v, want %v", name, err == nil, want)
		}
	}
	if svc := a.h.read("etc/haproxy/conf.d/pg-meta-primary.cfg"); !strings.Contains(svc, "server pg-meta-1 127.0.0.1:6432 check port 8008 weight 100") {
		t.Errorf("the primary service after pg_weight and pg_default_service_dest changed:\n%s", svc)
	}
}

func (a *applier) recreate(ctx context.Context, t *testing.T) {
	file := a.inventory("recreate.yml", groupChange("recreate"))
	oid := a.query(ctx, t, "postgres", "SELECT oid::text FROM pg_database WHERE datname = 'icu'")
	a.exec(ctx, t, "icu", "DELETE FROM t_icu")
	out, err := a.h.run("apply", "-f", file)
	if err == nil || !strings.Contains(out, "database icu of pg-meta has state: recreate") || !strings.Contains(out, "confirm with --yes") {
		t.Fatalf("recreate without --yes: %v\n%s", err, out)
	}
	a.expect(ctx, t, "postgres", "SELECT oid::text FROM pg_database WHERE datname = 'icu'", oid...)
	planned := a.dryRun(t, "-f", file, "--yes")
	res := a.apply(t, "-f", file, "--yes")
	executed := planDomain(res.Result.Instances["pg-meta-1"].Changes)
	if strings.Join(planned.changes(), "\n") != strings.Join(executed, "\n") || !strings.Contains(strings.Join(executed, "\n"), `DROP DATABASE IF EXISTS "icu" WITH (FORCE)`) {
		t.Errorf("recreate planned\n  %s\nexecuted\n  %s", strings.Join(planned.changes(), "\n  "), strings.Join(executed, "\n  "))
	}
	if now := a.query(ctx, t, "postgres", "SELECT oid::text FROM pg_database WHERE datname = 'icu'"); strings.Join(now, "") == strings.Join(oid, "") {
		t.Error("icu was not recreated")
	}
	a.expect(ctx, t, "icu", "SELECT count(*)::text FROM t_icu", "1") // the baseline ran again
	a.expect(ctx, t, "postgres", "SELECT datlocprovider::text || ' ' || daticulocale FROM pg_database WHERE datname = 'icu'", "i en-US")
	if again := a.dryRun(t, "-f", "change.yml"); len(again.changes()) != 0 {
		t.Errorf("after the recreate, change.yml plans\n  %s", strings.Join(again.changes(), "\n  "))
	}
	// store the inventory without the recreate: nothing runs
	if res := a.apply(t, "-f", "change.yml"); len(res.Result.Instances["pg-meta-1"].Changes) != 0 {
		t.Errorf("storing change.yml again changed %q", res.Result.Instances["pg-meta-1"].Changes)
	}
}

// bad inputs are refused before any change, each with a clear message.
func (a *applier) bad(ctx context.Context, t *testing.T) {
	good := groupChange("create")
	before := a.snapshot(ctx, t)
	stored := a.dryRun(t, "-f", "change.yml").Stored
	for _, c := range []struct {
		name, old, cur string
		args           []string
		want           string
	}{
		{"dropping a system user", "          - { name: dbuser_gone ,state: absent }\n", "          - { name: dbuser_dba ,state: absent }\n", nil,
			"user dbuser_dba is protected"},
		{"an unknown owner", "            owner: dbuser_app\n", "            owner: dbuser_nobody\n", nil, "owner of database app is not a defined user"},
		{"a bad HBA alias", "addr: admin ,auth: ssl", "addr: internet ,auth: ssl", nil, `unknown address alias (got "internet")`},
		{"a bad HBA auth", "addr: admin ,auth: ssl", "addr: admin ,auth: password123", nil, `unknown auth alias (got "password123")`},
		{"a duplicate service port", ",port: 5439 ,ip: 127.0.0.1", ",port: 5433 ,ip: 127.0.0.1", nil, "port 5433 of service pg-meta-standby2 on 127.0.0.1 is already used by service pg-meta-primary"},
		{"a haproxy service on a taken port", "{ name: web2 ,port: 9090 ", "{ name: web2 ,port: 6432 ", nil, "port 6432 of haproxy service web2 on 127.0.0.1 is already used by pgbouncer"},
		{"recreate without confirmation", "{ name: icu ,state: create", "{ name: icu ,state: recreate", nil, "confirm with --yes"},
		{"dropping a protected database", "          - { name: closed ,", "          - { name: postgres ,state: absent }\n          - { name: closed ,", nil, "database postgres is protected"},
		{"a missing baseline file", "baseline: app.sql", "baseline: nowhere.sql", nil, "baseline of database app"},
		{"granting a dropped role", "roles: [ dbrole_readwrite, { name: dbrole_etl, state: absent } ]", "roles: [ dbrole_readwrite, dbuser_gone ]", nil,
			"role dbuser_gone granted to dbuser_app has state: absent"},
		{"an unknown service provider", "pg_service_provider: infra", "pg_service_provider: proxy", nil, "no group proxy in the inventory"},
		{"a bad parameter name", "statement_timeout: 30s,", "'statement timeout': 30s,", nil, `invalid parameter name (got "statement timeout")`},
		{"a value the server refuses", "statement_timeout: 30s,", "statement_timeout: soon,", nil, `invalid value for parameter "statement_timeout"`},
		{"a typo in a field", "            connlimit: 20\n", "            connlimt: 20\n", nil, `unknown key "connlimt"; did you mean "connlimit"?`},
	} {
		text := good
		if !strings.Contains(text, c.old) {
			t.Fatalf("%s: no %q in the inventory", c.name, c.old)
		}
		file := a.inventory("bad.yml", strings.Replace(text, c.old, c.cur, 1))
		out, err := a.h.run(append([]string{"apply", "-f", file}, c.args...)...)
		if err == nil || !strings.Contains(out, c.want) || !strings.Contains(out, "nothing was changed") {
			t.Errorf("%s: want a refusal saying %q, got %v:\n%s", c.name, c.want, err, out)
		}
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"pgsql user of an undefined user", []string{"pgsql", "user", "pg-meta", "dbuser_nobody", "-f", "change.yml"}, "dbuser_nobody is not defined in pg_users of pg-meta"},
		{"pgsql db of an undefined database", []string{"pgsql", "db", "pg-meta", "nodb", "-f", "change.yml"}, "nodb is not defined in pg_databases of pg-meta"},
		{"pgsql hba of an unknown cluster", []string{"pgsql", "hba", "pg-nope", "-f", "change.yml"}, "no cluster pg-nope"},
		{"apply -l of an unknown instance", []string{"apply", "-l", "pg-meta-9", "-f", "change.yml"}, `no cluster, instance or host "pg-meta-9"`},
	} {
		out, err := a.h.run(c.args...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%s: want a refusal saying %q, got %v:\n%s", c.name, c.want, err, out)
		}
	}
	if after := a.snapshot(ctx, t); after != before {
		t.Errorf("a refused input changed something:\n%s", diffSnap(before, after))
	}
	if now := a.dryRun(t, "-f", "change.yml"); now.Stored != stored || len(now.changes()) != 0 {
		t.Errorf("the desired state moved from revision %d to %d, or change.yml plans %q", stored, now.Stored, now.changes())
	}
}

// scoped: the Pigsty-shaped commands apply their objects only, and refuse
// an inventory that changes anything else.
func (a *applier) scoped(ctx context.Context, t *testing.T) {
	good := groupChange("create")
	withUser := strings.Replace(good, "          - { name: dbuser_gone ,state: absent }\n",
		"          - { name: dbuser_gone ,state: absent }\n          - { name: dbuser_new ,password: New.Secret ,pgbouncer: true ,roles: [ dbrole_readonly ] }\n", 1)
	file := a.inventory("scoped.yml", withUser)
	out := a.h.must("pgsql", "user", "pg-meta", "dbuser_new", "-f", file)
	if !strings.Contains(out, "create role dbuser_new") || !strings.Contains(out, "applied") {
		t.Errorf("pgsql user:\n%s", out)
	}
	a.expect(ctx, t, "postgres", "SELECT count(*)::text FROM pg_roles WHERE rolname = 'dbuser_new'", "1")
	if !strings.Contains(a.h.read("etc/pgbouncer/userlist.txt"), `"dbuser_new"`) {
		t.Error("dbuser_new is not in userlist.txt")
	}
	both := strings.Replace(withUser, "            connlimit: 20\n", "            connlimit: 21\n", 1)
	both = strings.Replace(both, "New.Secret ,", "New.Secret ,connlimit: 3 ,", 1)
	file = a.inventory("scoped2.yml", both)
	if out, err := a.h.run("pgsql", "user", "pg-meta", "dbuser_new", "-f", file); err == nil || !strings.Contains(out, "changes more than users dbuser_new of pg-meta") ||
		!strings.Contains(out, "pg-meta-1: user dbuser_app") {
		t.Errorf("pgsql user with another user changed too: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"pgsql", "db", "pg-meta", "app"}, {"pgsql", "hba", "pg-meta"}, {"pgsql", "svc", "pg-meta", "127.0.0.1"}} {
		if out := a.h.must(append(args, "-f", "scoped.yml")...); !strings.Contains(out, "plan: nothing to change") {
			t.Errorf("%s with nothing to change:\n%s", strings.Join(args, " "), out)
		}
	}
	moved := strings.Replace(withUser, ",port: 5439 ,ip: 127.0.0.1", ",port: 5437 ,ip: 127.0.0.1", 1)
	file = a.inventory("scoped3.yml", moved)
	if out := a.h.must("pgsql", "svc", "pg-meta", "-f", file); !strings.Contains(out, "bind 127.0.0.1:5437") {
		t.Errorf("pgsql svc:\n%s", out)
	}
	if svc := a.h.read("etc/haproxy/conf.d/pg-meta-standby2.cfg"); !strings.Contains(svc, "bind 127.0.0.1:5437") {
		t.Errorf("the moved service:\n%s", svc)
	}
}

func (a *applier) editConfig(ctx context.Context, t *testing.T) {
	out := a.h.must("pg", "edit-config", "pg-meta", "-p", "work_mem=8MB", "-p", "max_wal_senders=12", "--force", "-f", "scoped3.yml")
	for _, want := range []string{"postgresql.parameters.work_mem", "postgresql.parameters.max_wal_senders", "dynamic configuration changed", "pending restart: max_wal_senders"} {
		if !strings.Contains(out, want) {
			t.Errorf("edit-config does not say %q:\n%s", want, out)
		}
	}
	waitFor(t, 30*time.Second, "work_mem applied", func() error {
		if got := a.query(ctx, t, "postgres", "SELECT setting FROM pg_settings WHERE name = 'work_mem'"); strings.Join(got, "") != "8192" {
			return fmt.Errorf("work_mem is %v", got)
		}
		return nil
	})
	if out := a.h.must("pg", "edit-config", "pg-meta", "-p", "work_mem=8MB", "--force", "-f", "scoped3.yml"); !strings.Contains(out, "nothing to change") {
		t.Errorf("edit-config again:\n%s", out)
	}
}

func (a *applier) remove(ctx context.Context, t *testing.T) {
	guarded := strings.Replace(groupChange("create"), "        pg_cluster: pg-meta\n", "        pg_cluster: pg-meta\n        pg_safeguard: true\n", 1)
	file := a.inventory("guarded.yml", guarded)
	a.apply(t, "-f", file)
	out, err := a.h.run("pgsql", "rm", "pg-meta", "-f", file)
	if err == nil || !strings.Contains(out, "ABORT due to pg_safeguard enabled") || !strings.Contains(out, "nothing was changed") {
		t.Fatalf("pgsql rm under pg_safeguard: %v\n%s", err, out)
	}
	if len(a.h.procs()["patroni"]) == 0 || len(a.query(ctx, t, "postgres", "SELECT 1")) != 1 {
		t.Fatal("pg-meta is down after a refused rm")
	}
	dry := a.h.must("pgsql", "rm", "pg-meta", "-f", file, "-e", "pg_safeguard=false", "--dry-run")
	for _, want := range []string{"the cluster's DCS keys under /pg/pg-meta/", "pg_rm_data", "pg_rm_pkg", "postgresql-15", "dry run: nothing was changed"} {
		if !strings.Contains(dry, want) {
			t.Errorf("rm --dry-run does not say %q:\n%s", want, dry)
		}
	}
	keys := func() []string {
		inv, err := inventory.Load(filepath.Join(a.h.root, file), nil)
		if err != nil {
			t.Fatal(err)
		}
		access, err := agent.Access(a.h.root, inv.EtcdEndpoints())
		if err != nil {
			t.Fatal(err)
		}
		cli, err := access.Client(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		resp, err := cli.Get(ctx, "/pg/pg-meta/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			t.Fatalf("etcd: %v", err)
		}
		var out []string
		for _, kv := range resp.Kvs {
			out = append(out, string(kv.Key))
		}
		return out
	}
	if len(keys()) == 0 {
		t.Fatal("no DCS keys under /pg/pg-meta/ before the removal")
	}
	start := time.Now()
	out = a.h.must("pgsql", "rm", "pg-meta", "-f", file, "-e", "pg_safeguard=false", "-e", "pg_rm_pkg=false")
	t.Logf("pgsql rm in %s:\n%s", time.Since(start).Round(100*time.Millisecond), out)
	for _, name := range []string{"patroni", "postgres", "pgbouncer"} {
		if pids := a.h.procs()[name]; len(pids) > 0 {
			t.Errorf("%s still runs: %v", name, pids)
		}
	}
	// HAProxy belongs to the node: it keeps serving haproxy_services
	if left, _ := filepath.Glob(filepath.Join(a.h.root, "etc/haproxy/conf.d/*.cfg")); len(left) != 1 || filepath.Base(left[0]) != "web2.cfg" {
		t.Errorf("HAProxy services left: %v", left)
	}
	if _, err := os.Lstat(filepath.Join(a.h.root, "pg")); err == nil {
		t.Error("/pg is still there")
	}
	if left, _ := filepath.Glob(filepath.Join(a.h.root, "data/postgres/pg-meta-*")); len(left) > 0 {
		t.Errorf("data left: %v", left)
	}
	if k := keys(); len(k) > 0 {
		t.Errorf("DCS keys left: %v", k)
	}
	if _, err := os.Stat("/usr/lib/postgresql/15/bin/postgres"); err != nil {
		t.Errorf("pg_rm_pkg=false removed the packages: %v", err)
	}
	// the agent stopped supervising: nothing comes back on its next passes
	time.Sleep(12 * time.Second)
	if pids := a.h.procs()["patroni"]; len(pids) > 0 {
		t.Errorf("patroni came back: %v", pids)
	}
}
