package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"pigsty/pgsql/inventory"
)

// instanceView is what `pigsty config show` prints of one instance.
type instanceView struct {
	Instance   string            `json:"ins" yaml:"ins"`
	Cluster    string            `json:"cls" yaml:"cls"`
	Seq        int               `json:"seq" yaml:"seq"`
	Role       string            `json:"role" yaml:"role"`
	IP         string            `json:"ip" yaml:"ip"`
	Labels     map[string]string `json:"labels" yaml:"labels"`
	Groups     []string          `json:"groups" yaml:"groups,flow"`
	Spec       string            `json:"spec" yaml:"spec"`
	Template   string            `json:"pg_conf" yaml:"pg_conf"`
	HA         haView            `json:"ha" yaml:"ha"`
	Tuning     tuningView        `json:"tuning" yaml:"tuning"`
	Parameters []string          `json:"parameters" yaml:"parameters"`
	Users      []string          `json:"users" yaml:"users"`
	Databases  []string          `json:"databases" yaml:"databases"`
	HBA        []string          `json:"pg_hba" yaml:"pg_hba"`
	PgbHBA     []string          `json:"pgb_hba" yaml:"pgb_hba"`
	Services   []string          `json:"services" yaml:"services"`
	Packages   []string          `json:"packages" yaml:"packages"`
	Params     map[string]any    `json:"params" yaml:"params,omitempty"`
}

type haView struct {
	PgRTO                string `json:"pg_rto" yaml:"pg_rto"`
	TTL                  int    `json:"ttl" yaml:"ttl"`
	LoopWait             int    `json:"loop_wait" yaml:"loop_wait"`
	RetryTimeout         int    `json:"retry_timeout" yaml:"retry_timeout"`
	PrimaryStartTimeout  int    `json:"primary_start_timeout" yaml:"primary_start_timeout"`
	MaximumLagOnFailover int64  `json:"maximum_lag_on_failover" yaml:"maximum_lag_on_failover"`
	SynchronousMode      bool   `json:"synchronous_mode" yaml:"synchronous_mode"`
	SynchronousStrict    bool   `json:"synchronous_mode_strict" yaml:"synchronous_mode_strict"`
	Watchdog             string `json:"watchdog" yaml:"watchdog"`
	HAProxyOptions       string `json:"haproxy_default_server" yaml:"haproxy_default_server"`
}

type tuningView struct {
	MaxConnections       int `json:"max_connections" yaml:"max_connections"`
	SharedBuffersMB      int `json:"shared_buffers_mb" yaml:"shared_buffers_mb"`
	MaintenanceWorkMemMB int `json:"maintenance_work_mem_mb" yaml:"maintenance_work_mem_mb"`
	EffectiveCacheSizeMB int `json:"effective_cache_size_mb" yaml:"effective_cache_size_mb"`
	WorkMemMB            int `json:"work_mem_mb" yaml:"work_mem_mb"`
	MaxWorkerProcesses   int `json:"max_worker_processes" yaml:"max_worker_processes"`
	MaxParallelWorkers   int `json:"max_parallel_workers" yaml:"max_parallel_workers"`
	PerGather            int `json:"max_parallel_workers_per_gather" yaml:"max_parallel_workers_per_gather"`
	Maintenance          int `json:"max_parallel_maintenance_workers" yaml:"max_parallel_maintenance_workers"`
	MinWALSizeGB         int `json:"min_wal_size_gb" yaml:"min_wal_size_gb"`
	MaxWALSizeGB         int `json:"max_wal_size_gb" yaml:"max_wal_size_gb"`
	MaxSlotWALKeepSizeGB int `json:"max_slot_wal_keep_size_gb" yaml:"max_slot_wal_keep_size_gb"`
	TempFileLimitGB      int `json:"temp_file_limit_gb" yaml:"temp_file_limit_gb"`
}

const masked = "******"

func newInstanceView(i *inventory.Instance, host hostInfo, secrets bool) (*instanceView, error) {
	p := i.Params
	res, err := p.Tune(host.Spec, host.OS)
	if err != nil {
		return nil, err
	}
	plan, err := p.Plan()
	if err != nil {
		return nil, err
	}
	traits, err := p.Traits()
	if err != nil {
		return nil, err
	}
	v := &instanceView{
		Instance: i.Name, Cluster: i.Cluster, Seq: i.Seq, Role: i.Role, IP: i.IP,
		Labels: i.Labels, Groups: i.Host.Groups,
		Spec:     fmt.Sprintf("%s (%s)", host.Spec.Tag(), host.Source),
		Template: p.PgConf,
		HA: haView{
			PgRTO: p.PgRTO, TTL: plan.TTL, LoopWait: plan.LoopWait, RetryTimeout: plan.RetryTimeout,
			PrimaryStartTimeout: plan.PrimaryStartTimeout, MaximumLagOnFailover: p.PgRPO,
			SynchronousMode: traits.SynchronousMode, SynchronousStrict: traits.SynchronousModeStrict,
			Watchdog: traits.WatchdogMode, HAProxyOptions: plan.HAProxyOptions(),
		},
		Tuning: tuningView{
			MaxConnections: res.MaxConnections, SharedBuffersMB: res.SharedBuffersMB,
			MaintenanceWorkMemMB: res.MaintenanceWorkMemMB, EffectiveCacheSizeMB: res.EffectiveCacheSizeMB,
			WorkMemMB: res.WorkMemMB, MaxWorkerProcesses: res.MaxWorkerProcesses, MaxParallelWorkers: res.MaxParallelWorkers,
			PerGather: res.MaxParallelWorkersPerGather, Maintenance: res.MaxParallelMaintenanceWorkers,
			MinWALSizeGB: res.MinWALSizeGB, MaxWALSizeGB: res.MaxWALSizeGB, MaxSlotWALKeepSizeGB: res.MaxSlotWALKeepSizeGB,
			TempFileLimitGB: res.TempFileLimitGB,
		},
	}
	for _, prm := range res.Params {
		v.Parameters = append(v.Parameters, prm.Name+" = "+prm.Value)
	}
	for k, val := range p.PgParameters {
		v.Parameters = append(v.Parameters, fmt.Sprintf("%s = %s  # pg_parameters", k, val))
	}
	for _, u := range i.Users {
		v.Users = append(v.Users, userLine(u, secrets))
	}
	for _, db := range i.Databases {
		v.Databases = append(v.Databases, databaseLine(db))
	}
	v.HBA = hbaLines(i, i.HBA)
	v.PgbHBA = hbaLines(i, i.PgbHBA)
	for _, s := range i.Services {
		v.Services = append(v.Services, serviceLine(s))
	}
	pkgs, skipped, err := p.Packages(host.OS)
	if err != nil {
		return nil, err
	}
	for _, pk := range pkgs {
		line := pk.Name
		if pk.Alias != pk.Name {
			line = pk.Alias + " → " + pk.Name
		}
		if pk.Optional {
			line += " (optional)"
		}
		v.Packages = append(v.Packages, line)
	}
	for _, s := range skipped {
		v.Packages = append(v.Packages, fmt.Sprintf("%s → %s: provided by pigsty (%s)", s.Alias, s.Name, s.Reason))
	}
	v.Params = p.Vars()
	if !secrets {
		maskParams(v.Params)
	}
	return v, nil
}

func userLine(u inventory.User, secrets bool) string {
	var attrs []string
	flag := func(b *bool, on, off string) {
		if b != nil {
			if *b {
				attrs = append(attrs, on)
			} else {
				attrs = append(attrs, off)
			}
		}
	}
	if u.Absent() {
		attrs = append(attrs, "ABSENT")
	}
	flag(u.Login, "LOGIN", "NOLOGIN")
	flag(u.Superuser, "SUPERUSER", "NOSUPERUSER")
	flag(u.Replication, "REPLICATION", "NOREPLICATION")
	flag(u.Createdb, "CREATEDB", "NOCREATEDB")
	flag(u.Createrole, "CREATEROLE", "NOCREATEROLE")
	if u.Password != "" {
		pw := masked
		if secrets {
			pw = u.Password
		}
		attrs = append(attrs, "password "+pw)
	}
	var roles []string
	for _, r := range u.Roles {
		roles = append(roles, r.Name)
	}
	if len(roles) > 0 {
		attrs = append(attrs, "roles ["+strings.Join(roles, ", ")+"]")
	}
	if u.Pgbouncer {
		pool := "pgbouncer"
		if u.PoolMode != "" {
			pool += " " + u.PoolMode
		}
		if u.PoolConnlimit != nil {
			pool += fmt.Sprintf(" max %d", *u.PoolConnlimit)
		}
		attrs = append(attrs, pool)
	}
	return strings.TrimSpace(u.Name + "  " + strings.Join(attrs, ", "))
}

func databaseLine(db inventory.Database) string {
	parts := []string{db.Name}
	if db.Owner != "" {
		parts = append(parts, "owner "+db.Owner)
	}
	if db.State != "" && db.State != "create" {
		parts = append(parts, db.State)
	}
	if db.Pooled() {
		parts = append(parts, fmt.Sprintf("pool %d/%d reserve %d max %d", db.SizeMin(), db.Size(), db.Reserve(), db.MaxDBConnections()))
	}
	var schemas, exts []string
	for _, s := range db.Schemas {
		schemas = append(schemas, s.Name)
	}
	for _, e := range db.Extensions {
		exts = append(exts, e.Name)
	}
	if len(schemas) > 0 {
		parts = append(parts, "schemas ["+strings.Join(schemas, ", ")+"]")
	}
	if len(exts) > 0 {
		parts = append(parts, "extensions ["+strings.Join(exts, ", ")+"]")
	}
	return strings.Join(parts, ", ")
}

func hbaLines(i *inventory.Instance, rules []inventory.HBARule) []string {
	var out []string
	for _, r := range rules {
		order := "-"
		if r.Order != nil {
			order = fmt.Sprint(*r.Order)
		}
		order = fmt.Sprintf("%-4s", order)
		state := ""
		if !i.Active(r.Role) {
			state = " [DISABLED]"
		}
		if len(r.Rules) > 0 {
			out = append(out, fmt.Sprintf("%s raw %q [%s]%s %s", order, r.Rules, r.Role, state, r.Title))
			continue
		}
		out = append(out, fmt.Sprintf("%s %-16s %-12s %-10s %-6s [%s]%s %s", order, r.User, r.DB, r.Addr, r.Auth, r.Role, state, r.Title))
	}
	return out
}

func serviceLine(s inventory.ServiceEndpoint) string {
	var servers []string
	for _, sv := range s.Servers {
		x := fmt.Sprintf("%s@%s:%d", sv.Name, sv.IP, sv.Port)
		if sv.Backup {
			x += "(backup)"
		}
		servers = append(servers, x)
	}
	return fmt.Sprintf("%s  %s:%d → %d check %s  [%s]", s.Name, s.IP, s.Port, s.Dest, s.Check, strings.Join(servers, " "))
}

// maskParams hides every secret of the parameters: credentials and the
// secret options of backup repositories.
func maskParams(m map[string]any) {
	for k, v := range m {
		switch {
		case secretKey(k):
			if s, ok := v.(string); ok && s != "" {
				m[k] = masked
			}
		case k == "pg_users" || k == "pg_default_roles":
			users := v.([]inventory.User)
			out := make([]inventory.User, len(users))
			for n, u := range users {
				if u.Password != "" {
					u.Password = masked
				}
				out[n] = u
			}
			m[k] = out
		case k == "pgbackrest_repo":
			repos := v.(map[string]map[string]inventory.Scalar)
			out := map[string]map[string]inventory.Scalar{}
			for name, opts := range repos {
				cp := map[string]inventory.Scalar{}
				for ok, ov := range opts {
					if secretKey(ok) {
						ov = masked
					}
					cp[ok] = ov
				}
				out[name] = cp
			}
			m[k] = out
		}
	}
}

func secretKey(k string) bool {
	return strings.Contains(k, "password") || strings.Contains(k, "secret") || strings.HasSuffix(k, "_pass") || k == "pgsodium_key"
}

func (v *instanceView) writeText(w io.Writer) error {
	fmt.Fprintf(w, "# %s [%s] @ %s  (spec %s, %s)\n", v.Instance, v.Role, v.IP, v.Spec, v.Template)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	params := v.Params
	v.Params = nil
	defer func() { v.Params = params }()
	if err := enc.Encode(v); err != nil {
		return err
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(w, "params:")
	for _, k := range keys {
		b, err := json.Marshal(params[k])
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s: %s\n", k, b)
	}
	return enc.Close()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
