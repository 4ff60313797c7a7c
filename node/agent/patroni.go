package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"pigsty/assets"
	"pigsty/infra/etcd"
	"pigsty/node/install"
	"pigsty/node/supervisor"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/patroni"
	"pigsty/pgsql/pgbackrest"
)

// patroni renders the Patroni config, keeps Patroni running under the
// supervisor, and waits until it runs postgres.
func (r *run) patroni(ctx context.Context) error {
	p := r.inst.Params
	if !p.PatroniEnabled {
		return nil
	}
	tuning, err := p.Tune(r.spec, r.os)
	if err != nil {
		return err
	}
	plan, err := p.Plan()
	if err != nil {
		return err
	}
	traits, err := p.Traits()
	if err != nil {
		return err
	}
	user, password := patroni.DCSCredentials(r.inst)
	if err := r.dcsUser(ctx, user, password); err != nil {
		return err
	}
	cfg, err := patroni.Render(patroni.Input{
		Instance: r.inst, Layout: r.l, Tuning: tuning, Plan: plan, Traits: traits, Spec: r.spec,
		BinDir: r.l.BinDir(exists),
		Etcd: patroni.Etcd{Hosts: etcdHosts(r.inst.Inventory()), Protocol: "https",
			CACert: filepath.Join(r.l.Cert(), "ca.crt"), Username: user, Password: password},
	})
	if err != nil {
		return err
	}
	r.patroniConfig = cfg
	// 0600: the file holds the replication and REST API passwords.
	changed, err := r.file(r.l.PatroniConfig(), cfg, 0o600, true)
	if err != nil {
		return err
	}
	// Patroni runs through pigsty's shim module, kept beside Pigsty's
	// scripts in /pg/bin (see assets.PatroniShim).
	if _, err := r.file(filepath.Join(r.l.Bin(), assets.PatroniShimModule+".py"), assets.PatroniShim, 0o644, false); err != nil {
		return err
	}
	spec, err := r.patroniSpec(plan.TTL - plan.LoopWait)
	if err != nil {
		return err
	}
	if err := r.ensure(ctx, spec, changed); err != nil {
		return err
	}
	return r.waitPostgres(ctx)
}

// dcsUser gives the cluster's Patroni an etcd user limited to its own keys
// (as Pigsty's pg_etcd_password), and the agents' user the namespace, whose
// keys the leader's agent manages. Once per agent and user: the users
// outlive the agent.
func (r *run) dcsUser(ctx context.Context, user, password string) error {
	prefix := patroni.KeyPrefix(r.inst)
	key := user + "\x00" + password + "\x00" + prefix
	if _, done := r.dcsUsers.Load(key); done {
		return nil
	}
	root := RootAccess(r.cfg.Root, r.inst.Inventory())
	if err := etcd.EnsureUser(ctx, root, etcd.Grant{User: user, Password: password, Prefixes: []string{prefix}}); err != nil {
		return fmt.Errorf("etcd user of %s: %w", user, err)
	}
	ns := strings.TrimSuffix(r.inst.Params.PgNamespace, "/") + "/"
	if err := etcd.Permit(ctx, root, AgentUser, ns); err != nil {
		return err
	}
	r.dcsUsers.Store(key, true)
	return nil
}

// patroniSpec is how the supervisor runs Patroni. giveUp is how long
// Patroni may stay down before its postmaster is fenced, in seconds.
func (r *run) patroniSpec(giveUp int) (supervisor.Spec, error) {
	bin, err := install.FindPatroni()
	if err != nil {
		return supervisor.Spec{}, fmt.Errorf("%w (run `pigsty install`)", err)
	}
	path, argv, env := bin.CommandVia(r.l.Bin(), assets.PatroniShimModule, r.l.PatroniConfig())
	// PGBACKREST_CONFIG reaches postgres, so archive_command and a
	// restore_command find pgbackrest.conf under the host's root as well.
	env = append(env, "HOME="+r.dbsu.Home, "PGBACKREST_CONFIG="+pgbackrest.ConfigPath(r.l))
	postmaster := supervisor.PIDFromFile(filepath.Join(r.l.Data(), "postmaster.pid"), r.l.Data())
	return supervisor.Spec{
		Name: "patroni", Path: path, Args: argv[1:], Env: env, Dir: r.l.Data(), Credential: r.cred,
		LogFile:      filepath.Join(r.l.PatroniLog(), "patroni.out"),
		StopSignal:   syscall.SIGTERM,
		StopTimeout:  2 * time.Minute,
		ReloadSignal: syscall.SIGHUP,
		Ready:        r.patroniAlive,
		StartTimeout: 2 * time.Minute,
		Tracked:      postmaster,
		// A postmaster whose Patroni cannot be brought back before another
		// member may take the leader key must not keep accepting writes.
		GiveUpAfter: time.Duration(giveUp) * time.Second,
		OnGiveUp:    func() { r.fence(postmaster) },
	}, nil
}

// ensure starts (or adopts) a child, applies a new spec, and reloads it
// when its files changed.
func (r *run) ensure(ctx context.Context, spec supervisor.Spec, reload bool) error {
	for _, c := range r.sup.Status() {
		if c.Name != spec.Name {
			continue
		}
		if err := r.sup.Update(spec); err != nil {
			return err
		}
		switch {
		case c.State == supervisor.StateFailed || c.State == supervisor.StateStopped:
			return r.sup.Start(ctx, spec)
		case c.Outdated:
			r.log.Info("restarting with a new command line", "child", spec.Name)
			return r.sup.Restart(ctx, spec.Name)
		case reload && spec.ReloadSignal != 0:
			r.log.Info("reloading", "child", spec.Name)
			return r.sup.Reload(ctx, spec.Name)
		}
		return nil
	}
	if err := r.sup.Start(ctx, spec); err != nil {
		return err
	}
	return r.sup.WaitReady(ctx, spec.Name)
}

func (r *run) client() *patroni.Client {
	p := r.inst.Params
	return patroni.NewClient(net.JoinHostPort(r.inst.IP, strconv.Itoa(p.PatroniPort)), p.PatroniUsername, p.PatroniPassword, nil)
}

// patroniAlive is Patroni's own liveness: its REST API answers and its
// main loop runs, whatever postgres is doing.
func (r *run) patroniAlive(ctx context.Context) error { return r.client().Liveness(ctx) }

// waitPostgres waits for Patroni to report postgres running. A replica
// still being cloned ends the pass with errWaiting; the next pass picks
// it up, so a long base backup never blocks the agent.
func (r *run) waitPostgres(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		st, err := r.client().Patroni(ctx)
		if err == nil && st.Running() {
			r.role = st.Role
			// Patroni reports a new primary running before it holds the
			// leader key (post-bootstrap): the key is what makes it the
			// primary for HAProxy, so wait for that.
			if st.Role != patroni.RolePrimary || r.leader(ctx) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("postgres not running: %w", err)
			}
			if st.State == "creating replica" {
				return fmt.Errorf("%w: creating replica", errWaiting)
			}
			return fmt.Errorf("postgres not running: patroni says %q", st.State)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// leader reports whether the member holds the leader key.
func (r *run) leader(ctx context.Context) bool {
	code, err := r.client().Check(ctx, "/primary")
	return err == nil && code == http.StatusOK
}

// fence stops a postmaster that runs without its Patroni: a fast
// shutdown, so no client keeps writing to a primary that may have lost
// its lease.
func (r *run) fence(postmaster func() (int, bool)) {
	pid, ok := postmaster()
	if !ok {
		return
	}
	r.log.Error("patroni is not coming back: fencing postgres", "pid", pid)
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		r.log.Error("cannot fence postgres", "pid", pid, "err", err)
	}
}

// etcdHosts are the etcd members' client endpoints, as Patroni's etcd3
// section wants them.
func etcdHosts(inv *inventory.Inventory) []string {
	var out []string
	for _, ip := range inv.EtcdIPs() {
		out = append(out, net.JoinHostPort(ip, strconv.Itoa(inv.Host(ip).Params.EtcdPort)))
	}
	return out
}
