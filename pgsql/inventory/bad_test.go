package inventory

import (
	"strings"
	"testing"
)

// meta is a valid one-node inventory; clusterVars are inserted as lines of
// pg-meta's vars starting at line 9, hostVars into the host's flow map on
// line 6.
func meta(hostVars, clusterVars string) string {
	var cv strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(clusterVars), "\n") {
		if l != "" {
			cv.WriteString("        " + l + "\n")
		}
	}
	if hostVars != "" {
		hostVars = ", " + hostVars
	}
	return `all:
  children:
    infra: { hosts: { 10.10.10.10: { infra_seq: 1 } } }
    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } } }
    pg-meta:
      hosts: { 10.10.10.10: { pg_seq: 1, pg_role: primary` + hostVars + ` } }
      vars:
        pg_cluster: pg-meta
` + cv.String() + `  vars:
    pg_version: 15
`
}

// test3 is a valid three-node cluster; hosts replaces its hosts block
// (lines 7-9).
func test3(hosts string) string {
	return `all:
  children:
    infra: { hosts: { 10.10.10.10: { infra_seq: 1 } } }
    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } } }
    pg-test:
      hosts:
` + hosts + `      vars: { pg_cluster: pg-test }
  vars:
    pg_version: 15
`
}

// Every bad inventory fails with every problem at once, each naming
// file:line:col, the field path, the value and what is allowed.
func TestBadInventories(t *testing.T) {
	cases := []struct {
		name  string
		text  string
		extra []string
		want  []string
	}{
		{"typo in a parameter name", meta("", "pg_usres: []"),
			nil, []string{`bad.yml:9:9: all.children.pg-meta.vars.pg_usres: unknown key "pg_usres"; did you mean "pg_users"?`}},
		{"cluster name pattern", strings.Replace(meta("", ""), "pg_cluster: pg-meta", "pg_cluster: Pg_Meta", 1),
			nil, []string{`bad.yml:8:21: all.children.pg-meta.vars.pg_cluster: invalid cluster name (got "Pg_Meta"); allowed: ^[a-z][a-z0-9-]*$`}},
		{"pg_seq not an integer", strings.Replace(meta("", ""), "pg_seq: 1", "pg_seq: one", 1),
			nil, []string{`bad.yml:6:39: all.children.pg-meta.hosts[10.10.10.10].pg_seq: must be an integer (got "one"); allowed: an integer`}},
		{"pg_seq not unique", test3("        10.10.10.11: { pg_seq: 1, pg_role: primary }\n        10.10.10.12: { pg_seq: 1, pg_role: replica }\n"),
			nil, []string{`bad.yml:8:32: all.children.pg-test.hosts[10.10.10.12].pg_seq: pg_seq 1 of pg-test is also used by 10.10.10.11 (got "1"); allowed: unique in the cluster`}},
		{"pg_role not in the enum", strings.Replace(meta("", ""), "pg_role: primary", "pg_role: master", 1),
			nil, []string{`bad.yml:6:51: all.children.pg-meta.hosts[10.10.10.10].pg_role: invalid value (got "master"); allowed: primary, replica, offline, standby, delayed`}},
		{"two primaries", test3("        10.10.10.11: { pg_seq: 1, pg_role: primary }\n        10.10.10.12: { pg_seq: 2, pg_role: primary }\n"),
			nil, []string{`bad.yml:8:44: all.children.pg-test.hosts[10.10.10.12].pg_role: cluster pg-test has a second primary (10.10.10.11 is already primary) (got "primary")`}},
		{"no primary", test3("        10.10.10.11: { pg_seq: 1, pg_role: replica }\n        10.10.10.12: { pg_seq: 2, pg_role: replica }\n"),
			nil, []string{`bad.yml:7:44: all.children.pg-test.hosts[10.10.10.11].pg_role: cluster pg-test has no primary`}},
		{"pg_role missing", test3("        10.10.10.11: { pg_seq: 1, pg_role: primary }\n        10.10.10.12: { pg_seq: 2 }\n"),
			nil, []string{`bad.yml:8:9: all.children.pg-test.hosts[10.10.10.12].pg_role: instance of pg-test on 10.10.10.12 has no pg_role; allowed: primary, replica, offline`}},
		{"pg_cluster missing", strings.Replace(meta("", ""), "        pg_cluster: pg-meta\n", "", 1),
			nil, []string{`hosts[10.10.10.10].pg_cluster: host 10.10.10.10 has pg_seq/pg_role but no pg_cluster`}},
		{"user name pattern", meta("", "pg_users: [ { name: Bad-User, password: x } ]"),
			nil, []string{`bad.yml:9:29: all.children.pg-meta.vars.pg_users[0].name: invalid name (got "Bad-User"); allowed: ^[a-z_][a-z0-9_@.-]{0,62}$`}},
		{"database name pattern", meta("", "pg_databases: [ { name: 1meta } ]"),
			nil, []string{`bad.yml:9:33: all.children.pg-meta.vars.pg_databases[0].name: invalid name (got "1meta")`}},
		{"typo in a user field", meta("", "pg_users: [ { name: app, pasword: x } ]"),
			nil, []string{`bad.yml:9:34: all.children.pg-meta.vars.pg_users[0].pasword: unknown key "pasword"; did you mean "password"?`}},
		{"boolean expected", meta("", "pg_users: [ { name: app, pgbouncer: maybe } ]"),
			nil, []string{`bad.yml:9:45: all.children.pg-meta.vars.pg_users[0].pgbouncer: must be a boolean (got "maybe"); allowed: true or false`}},
		{"pool mode enum", meta("", "pg_databases: [ { name: app, pool_mode: txn } ]"),
			nil, []string{`pg_databases[0].pool_mode: invalid value (got "txn"); allowed: transaction, session, statement`}},
		{"hba address alias", meta("", "pg_hba_rules: [ { user: all, db: all, addr: intranett, auth: pwd } ]"),
			nil, []string{`bad.yml:9:53: all.children.pg-meta.vars.pg_hba_rules[0].addr: unknown address alias (got "intranett"); allowed: local, localhost, admin, infra, cluster, intra`}},
		{"hba auth alias", meta("", "pgb_hba_rules: [ { user: all, db: all, addr: intra, auth: password123 } ]"),
			nil, []string{`bad.yml:9:67: all.children.pg-meta.vars.pgb_hba_rules[0].auth: unknown auth alias (got "password123")`}},
		{"hba role enum", meta("", "pg_hba_rules: [ { user: all, addr: intra, role: leader } ]"),
			nil, []string{`pg_hba_rules[0].role: invalid value (got "leader"); allowed: default, common, primary, replica, offline, standby, delayed`}},
		{"pgbouncer has no replication db", meta("", "pgb_hba_rules: [ { user: all, db: replication, addr: intra } ]"),
			nil, []string{`pgb_hba_rules[0].db: pgbouncer has no replication database (got "replication")`}},
		{"service port taken by a service", meta("", "pg_services: [ { name: standby, port: 5433, selector: \"[]\" } ]"),
			nil, []string{`bad.yml:9:47: all.children.pg-meta.vars.pg_services[0].port: port 5433 of service pg-meta-standby on 10.10.10.10 is already used by service pg-meta-primary (default pg_default_services[0].port) (got "5433")`}},
		{"service port taken by postgres", meta("", "pg_services: [ { name: direct, port: 5432 } ]"),
			nil, []string{`pg_services[0].port: port 5432 of service pg-meta-direct on 10.10.10.10 is already used by postgres (pg_port)`}},
		{"unknown template", meta("", "pg_conf: oltp2.yml"),
			nil, []string{`bad.yml:9:18: all.children.pg-meta.vars.pg_conf: unknown config template (got "oltp2.yml"); allowed: oltp.yml, olap.yml, crit.yml, tiny.yml`}},
		{"host listed twice", test3("        10.10.10.11: { pg_seq: 1, pg_role: primary }\n        10.10.10.11: { pg_seq: 2, pg_role: replica }\n"),
			nil, []string{`bad.yml:8:9: all.children.pg-test.hosts[10.10.10.11]: host 10.10.10.11 is listed twice in group pg-test (first at bad.yml:7:9)`}},
		{"host in two clusters", strings.Replace(meta("", ""), "  vars:\n    pg_version", "    pg-other:\n      hosts: { 10.10.10.10: { pg_seq: 1, pg_role: primary } }\n      vars: { pg_cluster: pg-other }\n  vars:\n    pg_version", 1),
			nil, []string{`bad.yml:11:27: all.children.pg-other.vars.pg_cluster: host 10.10.10.10 is also a member of cluster pg-meta (bad.yml:8) (got "pg-other"); allowed: one PostgreSQL cluster per host`}},
		{"host is not an IP", strings.Replace(meta("", ""), "hosts: { 10.10.10.10: { pg_seq", "hosts: { 10.10.10.300: { pg_seq", 1),
			nil, []string{`bad.yml:6:16: all.children.pg-meta.hosts[10.10.10.300]: invalid host (got "10.10.10.300"); allowed: an IPv4 address`}},
		{"unsupported version", meta("", "pg_version: 9"),
			nil, []string{`bad.yml:9:21: all.children.pg-meta.vars.pg_version: unsupported PostgreSQL major version (got "9"); allowed: 13, 14, 15, 16, 17 or 18`}},
		{"rto too small for patroni", meta("", "pg_rto: 5"),
			nil, []string{`bad.yml:9:17: all.children.pg-meta.vars.pg_rto:`, `(got "5"); allowed: seconds ≥ 20, or fast, norm, safe, wide`}},
		{"cascade upstream outside the cluster", test3("        10.10.10.11: { pg_seq: 1, pg_role: primary }\n        10.10.10.12: { pg_seq: 2, pg_role: replica, pg_upstream: 10.10.10.99 }\n"),
			nil, []string{`all.children.pg-test.hosts[10.10.10.12].pg_upstream: pg_upstream on a replica (cascade replication) must be another member of the cluster (got "10.10.10.99")`}},
		{"delay without upstream", meta("", "pg_delay: 1h"),
			nil, []string{`all.children.pg-meta.vars.pg_delay: pg_delay needs a standby cluster leader (got "1h")`}},
		{"database owner undefined", meta("", "pg_users: [ { name: dbuser_meta } ]\npg_databases: [ { name: meta, owner: dbuser_mata } ]"),
			nil, []string{`bad.yml:10:46: all.children.pg-meta.vars.pg_databases[0].owner: owner of database meta is not a defined user (got "dbuser_mata"); did you mean "dbuser_meta"?`}},
		{"database template undefined", meta("", "pg_databases: [ { name: app, template: meta } ]"),
			nil, []string{`pg_databases[0].template: template of database app does not exist (got "meta")`}},
		{"protected user", meta("", "pg_users: [ { name: dbuser_dba, state: absent } ]"),
			nil, []string{`pg_users[0].state: user dbuser_dba is protected (got "absent")`}},
		{"protected database", meta("", "pg_databases: [ { name: postgres, state: absent } ]"),
			nil, []string{`pg_databases[0].state: database postgres is protected (got "absent")`}},
		{"malformed crontab", meta("", "pg_crontab: [ \"03 * * 0 psql -c 'VACUUM FREEZE;'\" ]"),
			nil, []string{`all.children.pg-meta.vars.pg_crontab[0]: invalid crontab month "0": out of range 1-12`}},
		{"typo in an extra var", meta("", ""),
			[]string{"pg_safegaurd=true"}, []string{`-e pg_safegaurd=true: pg_safegaurd: unknown key "pg_safegaurd"; did you mean "pg_safeguard"?`}},
		{"several instances per host", meta("pg_instances: { 6000: { pg_seq: 2 } }", ""),
			nil, []string{`pg_instances: pg_instances (several instances on one host) is not supported`}},
		{"no etcd group", strings.Replace(meta("", ""), "    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } } }\n", "", 1),
			nil, []string{`all.children: no etcd group: Patroni needs etcd as its DCS`}},
		{"backup method without repo", meta("", "pgbackrest_method: s3"),
			nil, []string{`pgbackrest_method: pgbackrest_method names no repo of pgbackrest_repo (got "s3"); allowed: local, minio`}},
		{"selector syntax", meta("", "pg_services: [ { name: x, port: 5440, selector: \"[? pg_role = `replica`]\" } ]"),
			nil, []string{`pg_services[0].selector: unexpected "=" in selector`}},
		{"yaml syntax", meta("", "pg_users: [ { name: a"),
			nil, []string{`bad.yml:8:1: invalid YAML: did not find expected ',' or '}'`}},
		{"vip address", meta("", "pg_vip_enabled: true\npg_vip_address: 10.10.10.2"),
			nil, []string{`pg_vip_address: invalid VIP address (got "10.10.10.2"); allowed: <ipv4>/<prefix>`}},
		{"intranet cidr", strings.Replace(meta("", ""), "    pg_version: 15\n", "    pg_version: 15\n    node_firewall_intranet: [ 10.0.0.0/33 ]\n", 1),
			nil, []string{`all.vars.node_firewall_intranet[0]: invalid IPv4 CIDR (got "10.0.0.0/33")`}},
		{"every problem at once", meta("", "pg_usres: []\npg_conf: nope.yml"),
			nil, []string{`unknown key "pg_usres"`, `unknown config template`}},
	}
	if len(cases) < 25 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv, err := Parse("bad.yml", []byte(c.text), c.extra)
			if err == nil {
				t.Fatalf("accepted:\n%s", c.text)
			}
			if inv != nil {
				t.Fatal("an inventory was returned along with errors")
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain\n  %s\ngot\n  %s", w, strings.ReplaceAll(msg, "\n", "\n  "))
				}
			}
		})
	}
}
