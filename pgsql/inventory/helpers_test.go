package inventory

import "strings"

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

// test3 is a three-node cluster whose hosts block is given.
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
