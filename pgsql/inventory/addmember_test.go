package inventory

import (
	"strconv"
	"strings"
	"testing"
)

func TestAddMember(t *testing.T) {
	cases := []struct {
		name string
		src  string
		m    Member
		want string // the line(s) added, after the line starting with after
		line int
	}{{
		name: "pigsty style: flow entries, comments kept in place",
		src: `all:
  children:
    infra: { hosts: { 10.10.10.10: { infra_seq: 1 } } }
    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } }, vars: { etcd_cluster: etcd } }
    # the cluster of the docs
    pg-test:
      hosts:
        10.10.10.11: { pg_seq: 1, pg_role: primary } # existing member
        10.10.10.12: { pg_seq: 2, pg_role: replica }
        #10.10.10.14: { pg_seq: 4, pg_role: replica }   # a host kept for later

      vars: { pg_cluster: pg-test }   # cluster vars
  vars: { admin_ip: 10.10.10.10 }
`,
		m:    Member{Cluster: "pg-test", IP: "10.10.10.13", Seq: 3, Role: "replica"},
		want: "        10.10.10.13: { pg_seq: 3, pg_role: replica }\n",
		line: 10,
	}, {
		name: "block entries spanning lines, a comment about the last one, no newline at the end",
		src: `all:
  children:
    infra: { hosts: { 10.10.10.10: { infra_seq: 1 } } }
    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } }, vars: { etcd_cluster: etcd } }
    pg-test:
      vars:
        pg_cluster: pg-test
      hosts:
        10.10.10.11:
          pg_seq: 1
          pg_role: primary
        10.10.10.12:
          pg_seq: 2
          pg_role: replica
          # pg_upstream: 10.10.10.11
          pg_parameters:
            log_min_duration_statement: 100`,
		m:    Member{Cluster: "pg-test", IP: "10.10.10.13", Seq: 3, Role: "offline"},
		want: "        10.10.10.13:\n          pg_seq: 3\n          pg_role: offline\n",
		line: 18,
	}, {
		name: "a nested group, quoted keys, CRLF line ends",
		src:  "all:\r\n  children:\r\n    infra: { hosts: { 10.10.10.10: { infra_seq: 1 } } }\r\n    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } }, vars: { etcd_cluster: etcd } }\r\n    prod:\r\n      children:\r\n        pg-test:\r\n          hosts:\r\n            '10.10.10.11': {pg_seq: 1, pg_role: primary}\r\n          vars: {pg_cluster: pg-test}\r\n",
		m:    Member{Cluster: "pg-test", IP: "10.10.10.12", Seq: 2, Role: "replica"},
		want: "            '10.10.10.12': { pg_seq: 2, pg_role: replica }\r\n",
		line: 10,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, line, err := AddMember("pigsty.yml", []byte(tc.src), tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if line != tc.line {
				t.Errorf("line %d, want %d", line, tc.line)
			}
			// Exactly the entry was inserted, at that line: the rest is
			// the source byte for byte.
			lines := strings.SplitAfter(string(got), "\n")
			n := strings.Count(tc.want, "\n")
			if line < 1 || line-1+n > len(lines) {
				t.Fatalf("line %d out of range:\n%s", line, got)
			}
			if added := strings.Join(lines[line-1:line-1+n], ""); added != tc.want {
				t.Errorf("added %q, want %q\n%s", added, tc.want, got)
			}
			rest := strings.Join(append(append([]string{}, lines[:line-1]...), lines[line-1+n:]...), "")
			src := tc.src
			if !strings.HasSuffix(src, "\n") {
				src += "\n"
			}
			if rest != src {
				t.Errorf("the rest of the file changed:\n%s", got)
			}
			inv, err := Parse("pigsty.yml", got, nil)
			if err != nil {
				t.Fatalf("the result does not load: %v\n%s", err, got)
			}
			h := inv.Host(tc.m.IP)
			if h == nil || h.Instance == nil || h.Instance.Cluster != tc.m.Cluster || h.Instance.Role != tc.m.Role ||
				h.Instance.Name != tc.m.Cluster+"-"+strconv.Itoa(tc.m.Seq) {
				t.Errorf("the added host loads as %+v", h)
			}
		})
	}
}

func TestAddMemberRefuses(t *testing.T) {
	m := Member{Cluster: "pg-test", IP: "10.10.10.13", Seq: 3, Role: "replica"}
	cases := []struct {
		name, src string
		m         Member
		want      string
	}{
		{"no such group", "all:\n  children:\n    pg-meta:\n      hosts:\n        10.10.10.10: { pg_seq: 1, pg_role: primary }\n      vars: { pg_cluster: pg-meta }\n", m,
			"pigsty.yml:2:3: all.children: no group pg-test; allowed: a cluster declared as a group all.children.<pg_cluster> with its hosts"},
		{"hosts on one line", "all:\n  children:\n    pg-test:\n      hosts: { 10.10.10.11: { pg_seq: 1, pg_role: primary } }\n      vars: { pg_cluster: pg-test }\n", m,
			"pigsty.yml:4:14: all.children.pg-test.hosts: the hosts of pg-test are written on one line ({…}); allowed: hosts as a block, one host per line (pigsty pgsql add inserts a line); add the host by hand"},
		{"no hosts", "all:\n  children:\n    pg-test:\n      vars: { pg_cluster: pg-test }\n", m,
			"pigsty.yml:4:7: all.children.pg-test.hosts: group pg-test declares no hosts; allowed: a cluster with its members under hosts:, one per line; add the first by hand"},
		{"already there", "all:\n  children:\n    pg-test:\n      hosts:\n        10.10.10.13: { pg_seq: 1, pg_role: primary }\n", m,
			"pigsty.yml:5:9: all.children.pg-test.hosts[10.10.10.13]: 10.10.10.13 is already a host of pg-test"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := AddMember("pigsty.yml", []byte(tc.src), tc.m)
			if err == nil {
				t.Fatalf("accepted:\n%s", got)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n  %s\nwant\n  %s", err, tc.want)
			}
		})
	}
}
