// Package patroni is pigsty's side of Patroni: the renderer of a member's
// Patroni 4 configuration from the inventory, and a client of Patroni's
// REST API.
package patroni

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/tune"
)

// Input is everything the configuration of one member is made of.
type Input struct {
	Instance *inventory.Instance
	Layout   layout.Layout
	Tuning   tune.Result
	Plan     tune.Plan
	Traits   tune.TemplateTraits
	Spec     tune.Spec // for the spec tag
	BinDir   string    // PostgreSQL server binaries
	Etcd     Etcd      // DCS endpoints and credentials
}

// Etcd is how Patroni reaches the DCS.
type Etcd struct {
	Hosts              []string // host:port
	Protocol           string   // http or https
	Username, Password string   // "" = no etcd auth
	CACert, Cert, Key  string   // TLS files, "" when Protocol is http
}

// Settings Pigsty's templates fix rather than derive.
const (
	primaryStopTimeout   = 30
	maximumLagOnSyncnode = -1
	watchdogDevice       = "/dev/watchdog"
	logDateFormat        = "%Y-%m-%d %H:%M:%S %z" // seconds: the milliseconds only add noise
	logFormat            = "%(asctime)s %(levelname)s: %(message)s"
)

// Render writes the Patroni configuration of in.Instance.
//
// What it leaves out, on purpose:
//   - callbacks: Pigsty points them at /pg/bin/pg-failover-callback, a
//     script we do not ship; the agent watches roles through the REST API.
//   - post_bootstrap: roles, databases and the pgbouncer lookup function are
//     provisioned by the agent once the leader is up, as Pigsty does.
//   - postgresql.pg_hba: Patroni then leaves pg_hba.conf alone, and the HBA
//     reconciler owns it.
func Render(in Input) ([]byte, error) {
	cfg, err := build(in)
	if err != nil {
		return nil, fmt.Errorf("patroni config of %s: %w", instanceName(in.Instance), err)
	}
	var doc yaml.Node
	if err := doc.Encode(cfg); err != nil {
		return nil, fmt.Errorf("patroni config of %s: %w", in.Instance.Name, err)
	}
	quoteForPyYAML(&doc)
	doc.HeadComment = fmt.Sprintf("Patroni configuration of %s (%s @ %s), rendered by pigsty from the inventory.\nDo not edit: the agent rewrites it.", in.Instance.Name, in.Instance.Cluster, in.Instance.IP)

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("patroni config of %s: %w", in.Instance.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("patroni config of %s: %w", in.Instance.Name, err)
	}
	return buf.Bytes(), nil
}

func instanceName(i *inventory.Instance) string {
	if i == nil {
		return "<nil instance>"
	}
	return i.Name
}

func build(in Input) (*config, error) {
	i := in.Instance
	if i == nil || i.Params == nil {
		return nil, errors.New("no instance")
	}
	p := i.Params
	if in.BinDir == "" {
		return nil, errors.New("no PostgreSQL bin_dir")
	}
	if err := checkPlan(in.Plan); err != nil {
		return nil, err
	}
	etcd, err := etcdSection(in.Etcd)
	if err != nil {
		return nil, err
	}
	listen, err := listenAddresses(i)
	if err != nil {
		return nil, err
	}
	replicateFrom, err := cascadeUpstream(i)
	if err != nil {
		return nil, err
	}
	l := in.Layout
	dcsParams, localParams := splitParameters(in.Tuning, l)
	api := net.JoinHostPort(i.IP, strconv.Itoa(p.PatroniPort))

	cfg := &config{
		Scope:     Scope(i),
		Namespace: namespace(p),
		Name:      i.Name,
		Log: logConfig{
			Level:      "INFO",
			Dir:        l.PatroniLog(),
			FileNum:    in.Traits.PatroniLogFiles,
			FileSize:   in.Traits.PatroniLogFileSize,
			DateFormat: logDateFormat,
			Format:     logFormat,
		},
		Etcd3: etcd,
		RestAPI: restAPI{
			Listen:         api,
			ConnectAddress: api,
			Authentication: credentials{Username: p.PatroniUsername, Password: p.PatroniPassword},
			Allowlist:      allowlist(i),
		},
		Ctl: ctl{Insecure: true},
		Tags: tags{
			CloneFrom:     true,
			ReplicateFrom: replicateFrom,
			Version:       strconv.Itoa(p.PgVersion),
			Spec:          in.Spec.Tag(),
			Conf:          p.PgConf,
		},
		Watchdog: watchdog{Mode: in.Traits.WatchdogMode, Device: watchdogDevice, SafetyMargin: in.Plan.SafetyMargin},
		Bootstrap: bootstrap{
			Method: "initdb",
			Initdb: initdbOptions(p, in.Traits),
			DCS: dcs{
				TTL:                   in.Plan.TTL,
				LoopWait:              in.Plan.LoopWait,
				RetryTimeout:          in.Plan.RetryTimeout,
				PrimaryStartTimeout:   in.Plan.PrimaryStartTimeout,
				PrimaryStopTimeout:    primaryStopTimeout,
				MaximumLagOnFailover:  p.PgRPO,
				MaximumLagOnSyncnode:  maximumLagOnSyncnode,
				SynchronousMode:       in.Traits.SynchronousMode,
				SynchronousModeStrict: in.Traits.SynchronousModeStrict,
				FailsafeMode:          true,
				StandbyCluster:        standbyClusterOf(i),
				PgVersion:             p.PgVersion,
				PgCluster:             i.Cluster,
				PgShard:               cmp.Or(p.PgShard, i.Cluster),
				PgGroup:               p.PgGroup,
				PostgreSQL:            dcsPostgreSQL{UseSlots: true, UsePgRewind: true, Parameters: dcsParams},
			},
		},
		PostgreSQL: postgresql{
			Listen:         listen,
			ConnectAddress: net.JoinHostPort(i.IP, strconv.Itoa(p.PgPort)),
			DataDir:        l.Data(),
			ConfigDir:      l.Data(),
			BinDir:         in.BinDir,
			PgPass:         l.PgPass(),
			// Patroni runs as the dbsu, so its own connections authenticate
			// by peer over the socket and the superuser needs no password.
			UseUnixSocket: true,
			// The local replication connection (Patroni reads the member's
			// timeline through it) then needs no TCP address: with
			// pg_listen = ${ip} it would go to the node's own IP and need an
			// HBA rule for that. Pigsty's "replicator replication from
			// localhost" rule allows the socket as well as 127.0.0.1.
			UseUnixSocketRepl: true,
			Authentication: authentication{
				Superuser:   credentials{Username: p.PgDbsu, Password: p.PgDbsuPassword},
				Replication: credentials{Username: p.PgReplicationUsername, Password: p.PgReplicationPassword},
				Rewind:      credentials{Username: p.PgReplicationUsername, Password: p.PgReplicationPassword},
			},
			Parameters:           localParams,
			CreateReplicaMethods: []string{"basebackup"},
			Basebackup:           basebackupOptions(),
			// A member whose rewind failed is cloned again rather than left
			// broken; a diverged timeline without rewind is left to a human.
			RemoveDataDirectoryOnRewindFailure:     true,
			RemoveDataDirectoryOnDivergedTimelines: false,
		},
	}
	if p.PgMode == "citus" {
		cfg.Citus = &citus{Group: p.PgGroup, Database: p.PgPrimaryDB}
	}
	if p.PatroniSSLEnabled {
		cert := l.Cert()
		cfg.RestAPI.CertFile = filepath.Join(cert, "server.crt")
		cfg.RestAPI.KeyFile = filepath.Join(cert, "server.key")
		cfg.RestAPI.CAFile = filepath.Join(cert, "ca.crt")
		cfg.RestAPI.VerifyClient = "none"
		cfg.Ctl = ctl{
			CACert:   filepath.Join(cert, "ca.crt"),
			CertFile: filepath.Join(cert, "server.crt"),
			KeyFile:  filepath.Join(cert, "server.key"),
		}
	}
	return cfg, nil
}

// checkPlan refuses timings Patroni would silently adjust: a leader must be
// able to miss one loop and two retries before its lease expires.
func checkPlan(pl tune.Plan) error {
	if pl.TTL < 20 {
		return fmt.Errorf("ttl %d s: Patroni 4 needs at least 20 s", pl.TTL)
	}
	if pl.LoopWait < 1 || pl.RetryTimeout < 1 {
		return fmt.Errorf("loop_wait %d s and retry_timeout %d s must be positive", pl.LoopWait, pl.RetryTimeout)
	}
	if need := pl.LoopWait + 2*pl.RetryTimeout; need > pl.TTL {
		return fmt.Errorf("loop_wait %d + 2 × retry_timeout %d = %d s exceeds ttl %d s", pl.LoopWait, pl.RetryTimeout, need, pl.TTL)
	}
	return nil
}

func etcdSection(e Etcd) (etcd3, error) {
	if len(e.Hosts) == 0 {
		return etcd3{}, errors.New("no etcd hosts")
	}
	hosts := slices.Clone(e.Hosts)
	slices.Sort(hosts)
	out := etcd3{Hosts: hosts, Protocol: e.Protocol, Username: e.Username, Password: e.Password, UseProxies: true}
	if e.Username == "" && e.Password != "" {
		return etcd3{}, errors.New("etcd password without a username")
	}
	switch e.Protocol {
	case "http":
		if e.CACert != "" || e.Cert != "" || e.Key != "" {
			return etcd3{}, errors.New("etcd TLS files given with protocol http")
		}
	case "https":
		// Patroni would otherwise verify the etcd certificate against the
		// system's CAs, which never know pigsty's own CA.
		if e.CACert == "" {
			return etcd3{}, errors.New("etcd protocol https needs a CA certificate")
		}
		if (e.Cert == "") != (e.Key == "") {
			return etcd3{}, errors.New("etcd client certificate and key go together")
		}
		out.CACert, out.Cert, out.Key = e.CACert, e.Cert, e.Key
	default:
		return etcd3{}, fmt.Errorf("etcd protocol %q: allowed http, https", e.Protocol)
	}
	return out, nil
}

// standbyClusterOf is the standby_cluster section of a standby cluster's
// leader: a primary with pg_upstream replicates from that upstream.
func standbyClusterOf(i *inventory.Instance) *standbyCluster {
	p := i.Params
	if i.Role != "primary" || p.PgUpstream == "" {
		return nil
	}
	sc := &standbyCluster{Host: p.PgUpstream, Port: p.PgPort, CreateReplicaMethods: []string{"basebackup"}}
	if d := strings.TrimSpace(p.PgDelay); d != "" && d != "0" {
		sc.RecoveryMinApplyDelay = d
	}
	return sc
}

// cascadeUpstream is the replicatefrom tag of a cascade replica. Patroni
// matches that tag against member names, so pg_upstream (an IP) is
// translated to the name of the member at that address.
func cascadeUpstream(i *inventory.Instance) (string, error) {
	up := i.Params.PgUpstream
	if i.Role == "primary" || up == "" {
		return "", nil
	}
	for _, m := range i.ClusterOf().Instances {
		if m.IP == up && m != i {
			return m.Name, nil
		}
	}
	return "", fmt.Errorf("pg_upstream %s: no other member of %s has that address", up, i.Cluster)
}

// basebackupOptions are pg_basebackup's options for new replicas. Patroni
// adds the connection, data directory and WAL streaming itself.
//   - max-rate 1000M keeps a clone from saturating the primary's disk and
//     network (Pigsty's value);
//   - checkpoint fast starts the copy at once instead of after the next
//     spread checkpoint: replicas stream in seconds, not minutes;
//   - verbose logs the checkpoint and WAL positions, a handful of lines
//     that tell where a failed clone stopped.
//
// Pigsty also passes progress. Nobody watches the output here, and with
// stderr not a terminal pg_basebackup prints a progress line every second
// of an hours-long copy into the supervisor's log, so we leave it out.
func basebackupOptions() []any {
	return []any{
		map[string]string{"max-rate": "1000M"},
		map[string]string{"checkpoint": "fast"},
		"verbose",
	}
}
