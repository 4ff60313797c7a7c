package patroni

import (
	"cmp"
	"strings"

	"pigsty/pgsql/inventory"
)

// Scope is the Patroni cluster an instance belongs to: its pg_cluster, or
// for Citus the pg_shard that all its groups share.
func Scope(i *inventory.Instance) string {
	if i.Params.PgMode == "citus" {
		return i.Params.PgShard
	}
	return i.Cluster
}

// KeyPrefix is where Patroni keeps the instance's cluster in etcd,
// "<pg_namespace>/<scope>/": the prefix the cluster's etcd role may write.
func KeyPrefix(i *inventory.Instance) string {
	return namespace(i.Params) + Scope(i) + "/"
}

// DCSCredentials are the etcd user and password of the instance's Patroni
// cluster: a user named after the scope, whose password is
// pg_etcd_password or, when that is empty, the scope itself.
func DCSCredentials(i *inventory.Instance) (username, password string) {
	s := Scope(i)
	return s, cmp.Or(i.Params.PgEtcdPassword, s)
}

// namespace is pg_namespace as Patroni wants it, with one trailing slash.
func namespace(p *inventory.Params) string {
	return strings.TrimSuffix(p.PgNamespace, "/") + "/"
}
