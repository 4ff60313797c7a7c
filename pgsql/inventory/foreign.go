package inventory

import "strings"

// A Pigsty inventory also configures modules pigsty does not run (Grafana,
// MinIO, Redis, Docker, …) and Ansible's own connection variables. Those
// keys are accepted and ignored rather than reported as unknown, so an
// existing pigsty.yml validates as it is. A key under one of these
// prefixes that is one typo away from a parameter we do read is still
// reported: `node_firewall_intranett` is a mistake, not a NODE parameter.
var foreignPrefixes = []string{
	"ansible_", "node_", "infra_", "repo_", "nginx_", "dns_", "dnsmasq_", "grafana_",
	"prometheus_", "alertmanager_", "blackbox_", "pushgateway_", "loki_", "promtail_",
	"vmetrics_", "vlogs_", "vtraces_", "vmalert_", "victoria_", "vector_", "vip_",
	"haproxy_", "keepalived_", "docker_", "minio_", "redis_", "mysql_", "kafka_",
	"ferret_", "mongo_", "juice_", "supa_", "app_", "etcd_", "cert_", "ca_", "vibe_",
	"exporter_", "pig_", "consul_", "chronyd_", "ntp_", "langfuse_", "gitea_", "pgadmin_", "postgrest_",
}

var foreignNames = map[string]bool{
	"proxy_env": true, "nodename_overwrite": true, "nodename_exchange": true,
	"app": true, "apps": true, "pg_preflight_skip": true, "pg_hostname": true,
}

// foreign reports whether key belongs to a Pigsty module or tool that
// pigsty does not run.
func foreign(key string) bool {
	if foreignNames[key] {
		return true
	}
	for _, p := range foreignPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}
