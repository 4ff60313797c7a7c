package rules

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pigsty/assets"
)

func shipped(t *testing.T) fs.FS {
	t.Helper()
	sub, err := fs.Sub(assets.Rules, "rules")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func find(groups []Group, name string) *Rule {
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Name() == name {
				return r
			}
		}
	}
	return nil
}

// The shipped rules parse and hold Pigsty's alerts with their
// expressions, durations and severities.
func TestShipped(t *testing.T) {
	groups, err := Load(shipped(t), "")
	if err != nil {
		t.Fatal(err)
	}
	var records, alerts int
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.IsAlert() {
				alerts++
			} else {
				records++
			}
		}
	}
	t.Logf("%d groups, %d recording rules, %d alerting rules", len(groups), records, alerts)
	for _, want := range []struct {
		name, expr string
		for_       time.Duration
		severity   string
	}{
		{"PostgresDown", "pg_up < 1", time.Minute, "CRIT"},
		{"PgbouncerDown", "pgbouncer_up < 1", time.Minute, "CRIT"},
		{"PatroniDown", "patroni_up < 1", time.Minute, "CRIT"},
		{"PostgresReplicationLag", "pg:ins:lag_bytes > 1048576 or pg:ins:lag_seconds > 1", time.Minute, "WARN"},
		{"PostgresXidWarpAround", "pg:db:age > 0.80", time.Minute, "CRIT"},
		{"PostgresConnUsageHigh", "pg:db:conn_usage > 0.70", 3 * time.Minute, "WARN"},
		{"PgbouncerClientQueue", "pgbouncer:db:waiting_clients > 1", time.Minute, "CRIT"},
		{"PatroniFailSafeActive", "sum(patroni_failsafe_mode_is_active{}) > 0", 0, "CRIT"},
		{"NodeFsSpaceFull", "node:fs:space_usage > 0.90", time.Minute, "WARN"},
		{"NodeCpuHigh", "node:ins:cpu_usage_1m > 0.70", time.Minute, "WARN"},
		{"EtcdNoLeader", "min(etcd_server_has_leader) by (cls) < 1", 15 * time.Second, "CRIT"},
	} {
		r := find(groups, want.name)
		if r == nil {
			t.Errorf("%s is not shipped", want.name)
			continue
		}
		if r.Expr != want.expr || r.For != want.for_ || r.Labels["severity"] != want.severity {
			t.Errorf("%s: expr %q for %s severity %s; want %q for %s severity %s", want.name, r.Expr, r.For, r.Labels["severity"], want.expr, want.for_, want.severity)
		}
	}
	// Every series an alert reads that a recording rule makes is recorded.
	for _, name := range []string{"pg:db:age", "pg:db:conn_usage", "pg:ins:lag_bytes", "pg:ins:lag_seconds", "pgbouncer:db:waiting_clients",
		"pgbouncer:db:query_rt_1m", "pg:cls:partition", "ins:pressure1", "pg:db:ixact_backends", "node:fs:space_usage", "node:ins:cpu_usage_1m",
		"patroni_up", "pg_exporter_agent_up", "node_up", "haproxy_up", "infra_up", "agent_up", "etcd_up"} {
		if find(groups, name) == nil {
			t.Errorf("no recording rule for %s", name)
		}
	}
}

// A file of the rules directory replaces the shipped one of its name.
func TestOverride(t *testing.T) {
	dir := t.TempDir()
	const own = "groups:\n  - name: pgsql-alert\n    interval: 2s\n    rules:\n      - alert: PostgresDown\n        expr: pg_up < 1\n        for: 5s\n        labels: { severity: CRIT }\n"
	if err := os.WriteFile(filepath.Join(dir, "pgsql.yml"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	groups, err := Load(shipped(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	r := find(groups, "PostgresDown")
	if r == nil || r.For != 5*time.Second {
		t.Fatalf("PostgresDown not overridden: %+v", r)
	}
	if find(groups, "pg:db:age") != nil {
		t.Error("the shipped pgsql.yml was kept next to its replacement")
	}
	if find(groups, "NodeDown") == nil {
		t.Error("the other shipped files were dropped")
	}
	for _, g := range groups {
		if g.Name == "pgsql-alert" && g.Interval != 2*time.Second {
			t.Errorf("interval %s, want 2s", g.Interval)
		}
	}
}

// Every problem is reported with its file, line and field.
func TestBad(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"expr", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(up\n", "bad.yml:5:15: groups[0].rules[0].expr: "},
		{"for", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: soon\n", `bad.yml:6:14: groups[0].rules[0].for: "soon" is not a duration`},
		{"both", "groups:\n  - name: g\n    rules:\n      - alert: A\n        record: b\n        expr: up\n", "bad.yml:4:9: groups[0].rules[0]: a rule needs either record or alert"},
		{"field", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        fro: 1m\n", "bad.yml:6:9: groups[0].rules[0].fro: unknown field; allowed: alert, annotations, expr, for, labels, record"},
		{"template", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations: { summary: '{{ $labels.ins ' }\n", "groups[0].rules[0].annotations.summary: "},
		{"record name", "groups:\n  - name: g\n    rules:\n      - record: a-b\n        expr: up\n", `groups[0].rules[0].record: "a-b" is not a metric name`},
		{"duplicate group", "groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n", `group "g" is defined twice`},
	} {
		_, err := Parse("bad.yml", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

// Labels and annotations expand like Prometheus': $labels, $value, printf.
func TestExpand(t *testing.T) {
	groups, err := Load(shipped(t), "")
	if err != nil {
		t.Fatal(err)
	}
	r := find(groups, "PostgresReplicationLag")
	labels, ann, err := r.Expand(map[string]string{"__name__": "pg:ins:lag_bytes", "ins": "pg-test-2", "instance": "10.10.10.11:9630", "cls": "pg-test"}, 2097152)
	if err != nil {
		t.Fatal(err)
	}
	if labels["alertname"] != "PostgresReplicationLag" || labels["severity"] != "WARN" || labels["level"] != "1" || labels["ins"] != "pg-test-2" {
		t.Errorf("labels %v", labels)
	}
	if _, ok := labels["__name__"]; ok {
		t.Errorf("labels keep __name__: %v", labels)
	}
	if ann["summary"] != "WARN PostgresReplicationLag: pg-test-2@10.10.10.11:9630" {
		t.Errorf("summary %q", ann["summary"])
	}
	if !strings.Contains(ann["description"], "value 2097152.00") {
		t.Errorf("description %q", ann["description"])
	}
}
