// Package agent is the host agent: it watches the desired state in etcd
// and converges its host to it — the OS layout, Patroni (and through it
// PostgreSQL), pg_hba and parameters, provisioning on the primary,
// pgbouncer and HAProxy — idempotently, then reports status back.
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"pigsty/infra/store"
	"pigsty/node/facts"
	"pigsty/node/supervisor"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/pkgmap"
	"pigsty/pgsql/tune"
)

// Config is what the agent needs to know about itself.
type Config struct {
	IP      string // this host's address in the inventory
	Root    string // filesystem root of the host ("/"; a directory per host in the test harness)
	Exe     string // the pigsty binary, re-executed for children that run as the dbsu
	Version string // agent version, for the node registration
	// CADir holds the CA that issues this host's certificates; on infra
	// hosts it is the CA itself.
	CADir string
	// Interval is how often the agent converges even without a change of
	// the desired state, to follow role changes and heal drift.
	Interval time.Duration
}

// Agent converges one host.
type Agent struct {
	cfg   Config
	store *store.Store
	sup   *supervisor.Supervisor
	log   *slog.Logger
	spec  tune.Spec
	os    pkgmap.OS
	host  string

	// what earlier passes did, so repeated passes skip work
	provisioned map[string]int64 // ins → desired revision provisioned
	distroOnce  sync.Once        // the distribution's units are disabled once per agent
	changes     changeLog        // what the passes changed, per instance and revision
	backups     backupJobs       // backups in the background and the backup schedule
	vips        vipWatch         // the VIP loop of this host
	follows     followWatch      // the loops moving HAProxy's services to the leaders
	exporters   exporterSet      // the pg, pgbouncer and node exporters this process serves
	dcsUsers    sync.Map         // etcd users made sure of: user, password, prefix
	// runCtx lasts as long as Run: loops that outlive a pass (the VIP)
	// run in it.
	runCtx context.Context
	// kick asks Run for a pass before the next tick.
	kick chan struct{}
}

// New prepares an agent; sup must be the process's supervisor.
func New(cfg Config, st *store.Store, sup *supervisor.Supervisor, log *slog.Logger) (*Agent, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	f, err := facts.Detect(context.Background(), filepath.Join(cfg.Root, facts.DefaultFSMain))
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return &Agent{cfg: cfg, store: st, sup: sup, log: log, spec: f.Spec(), os: f.OS, host: f.Hostname,
		provisioned: map[string]int64{}, runCtx: context.Background(), kick: make(chan struct{}, 1)}, nil
}

// Run converges the host on every change of the desired state and every
// Interval, until ctx ends. It does not stop the children when it returns.
func (a *Agent) Run(ctx context.Context) error {
	a.runCtx = ctx
	if err := a.store.RegisterNode(ctx, store.Node{
		IP: a.cfg.IP, Hostname: a.host, AgentVersion: a.cfg.Version, Started: time.Now().UTC(),
		Spec: store.NodeSpec{CPU: a.spec.CPU, MemMB: a.spec.MemMB, DiskBytes: a.spec.DiskBytes, OS: a.os.String(), Arch: a.os.Arch},
	}, 30*time.Second); err != nil {
		return fmt.Errorf("agent: register node: %w", err)
	}
	updates := a.store.WatchDesired(ctx)
	tick := time.NewTicker(a.cfg.Interval)
	defer tick.Stop()
	var cur *store.Desired
	for {
		select {
		case <-ctx.Done():
			return nil
		case d, ok := <-updates:
			if !ok {
				return nil
			}
			cur = &d
		case <-tick.C:
			if cur == nil {
				continue
			}
		case <-a.kick:
			if cur == nil {
				continue
			}
		}
		a.converge(ctx, *cur)
	}
}

// passSoon asks for a pass now and another a moment later: after a role
// change the leader key moves before Patroni's REST API reports the
// promotion, and role-filtered HBA rules should not wait for the tick.
func (a *Agent) passSoon(ctx context.Context) {
	a.requestPass()
	go func() {
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
			a.requestPass()
		}
	}()
}

func (a *Agent) requestPass() {
	select {
	case a.kick <- struct{}{}:
	default: // one is pending already
	}
}

// converge runs one pass for the desired state and reports it.
func (a *Agent) converge(ctx context.Context, d store.Desired) {
	inv, err := inventory.Parse("desired state", d.Inventory, d.ExtraVars)
	if err != nil {
		a.log.Error("desired state does not validate", "revision", d.Revision, "err", err)
		return
	}
	if err := a.cache(d.Inventory); err != nil {
		a.log.Warn("cannot cache the desired state", "err", err)
	}
	h := inv.Host(a.cfg.IP)
	if h != nil && h.Infra {
		a.shrinkEtcd(ctx, inv)
	}
	a.leaveEtcd(ctx, h)
	if a.removal(ctx, d, inv) {
		return
	}
	if h == nil || h.Instance == nil {
		a.hostExporters(h)
		return
	}
	i := h.Instance
	log := a.log.With("cls", i.Cluster, "ins", i.Name)
	r := &run{Agent: a, inst: i, rev: d.Revision, log: log, desired: d}
	phase, err := r.converge(ctx)
	st := store.Status{Instance: i.Name, Revision: d.Revision, OK: err == nil, Phase: phase, Children: a.children(),
		Changes: a.changes.of(i.Name, d.Revision)}
	if err != nil {
		st.Error = err.Error()
		log.Error("converge failed", "phase", phase, "err", err)
	}
	if ctx.Err() != nil {
		return
	}
	if perr := a.store.PutStatus(ctx, st); perr != nil {
		log.Warn("cannot report status", "err", perr)
	}
}

// cache keeps the last desired inventory on disk, so that `pigsty stop`
// knows the children even when etcd is down.
func (a *Agent) cache(inv []byte) error {
	_, err := write(File{Path: CachePath(a.cfg.Root), Data: inv, Mode: 0o600})
	return err
}

// CachePath is where the agent keeps the last desired inventory.
func CachePath(root string) string {
	return filepath.Join(root, "var/lib/pigsty/desired.yml")
}

func (a *Agent) children() []store.ChildHealth {
	var out []store.ChildHealth
	for _, c := range a.sup.Status() {
		h := store.ChildHealth{Name: c.Name, PID: c.PID, Healthy: c.State == supervisor.StateReady, Detail: string(c.State)}
		if c.LastError != "" {
			h.Detail += ": " + c.LastError
		}
		out = append(out, h)
	}
	return out
}
