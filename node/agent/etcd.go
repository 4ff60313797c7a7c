package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"pigsty/infra/etcd"
	"pigsty/node/supervisor"
	"pigsty/pgsql/inventory"
)

// EtcdMember runs this host's etcd member (hosts of the etcd group) as
// `pigsty run etcd`. The first member — the one with the smallest etcd_seq
// — starts a new cluster of itself; every other joins the running cluster
// as a learner and is promoted once it has caught up, so growing the
// cluster never costs it its quorum. A member with data restarts from it.
func EtcdMember(ctx context.Context, sup *supervisor.Supervisor, root, exe string, inv *inventory.Inventory, h *inventory.Host, log *slog.Logger) error {
	p := h.Params
	name := fmt.Sprintf("%s-%d", p.EtcdCluster, p.EtcdSeq)
	client := "https://" + net.JoinHostPort(h.IP, strconv.Itoa(p.EtcdPort))
	peer := "https://" + net.JoinHostPort(h.IP, strconv.Itoa(p.EtcdPeerPort))
	clients := []string{client}
	if h.IP != "127.0.0.1" {
		clients = append(clients, "https://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(p.EtcdPort)))
	}
	pkiDir := PKIDir(root)
	crt, key, ca := filepath.Join(pkiDir, "node.crt"), filepath.Join(pkiDir, "node.key"), filepath.Join(pkiDir, "ca.crt")
	ec := etcd.Config{
		Name: name, DataDir: filepath.Join(root, p.EtcdData), ClientURLs: clients, PeerURLs: []string{peer},
		InitialCluster: name + "=" + peer, ClusterState: "new", Token: p.EtcdCluster,
		// Clients (Patroni, agents) trust the CA; peers also prove
		// themselves with their certificates.
		ClientTLS: etcd.TLSFiles{CertFile: crt, KeyFile: key},
		PeerTLS:   etcd.TLSFiles{CertFile: crt, KeyFile: key, TrustedCAFile: ca, ClientCertAuth: true},
	}
	rootAccess := RootAccess(root, inv)
	fresh := !exists(filepath.Join(ec.DataDir, "member"))
	learner := fresh && !firstMember(inv, h)
	if learner {
		others := rootAccess
		others.Endpoints = nil
		for _, ep := range rootAccess.Endpoints {
			if ep != client {
				others.Endpoints = append(others.Endpoints, ep)
			}
		}
		initial, err := etcd.AddLearner(ctx, others, name, peer)
		if err != nil {
			return err
		}
		ec.InitialCluster, ec.ClusterState = initial, "existing"
		log.Info("joining etcd as a learner", "member", name, "cluster", initial)
	}
	// etcd creates its data directory 0700, parents included: make the
	// parent (the node's /data) first, so that the dbsu can traverse it.
	if err := os.MkdirAll(filepath.Dir(ec.DataDir), 0o755); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	confFile := EtcdConfigPath(root)
	if err := os.MkdirAll(filepath.Dir(confFile), 0o700); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	if err := etcd.WriteConfig(confFile, ec); err != nil {
		return err
	}
	if err := sup.Start(ctx, EtcdSpec(root, exe, client, ca)); err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	if learner {
		log.Info("waiting for the learner to catch up", "member", name)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		if err := etcd.Promote(pctx, rootAccess, peer); err != nil {
			return fmt.Errorf("promote etcd member %s: %w", name, err)
		}
		log.Info("etcd member promoted", "member", name)
	}
	log.Info("waiting for etcd", "endpoint", client)
	return sup.WaitReady(ctx, "etcd")
}

// firstMember reports whether h has the smallest etcd_seq of the group:
// the member that starts a new cluster.
func firstMember(inv *inventory.Inventory, h *inventory.Host) bool {
	for _, ip := range inv.EtcdIPs() {
		if inv.Host(ip).Params.EtcdSeq < h.Params.EtcdSeq {
			return false
		}
	}
	return true
}

// EtcdConfigPath is the member config `pigsty run etcd` reads.
func EtcdConfigPath(root string) string { return filepath.Join(State(root), "etcd", "etcd.yml") }

// EtcdSpec is how the supervisor runs the etcd member: this binary,
// re-executed as `pigsty run etcd`. ca is the CA file its readiness check
// trusts.
func EtcdSpec(root, exe, client, ca string) supervisor.Spec {
	access := etcd.Access{CAFile: ca}
	return supervisor.Spec{
		Name: "etcd", Path: exe, Args: []string{"run", "etcd", "--config", EtcdConfigPath(root)},
		Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/",
		LogFile:     filepath.Join(State(root), "log", "etcd.log"),
		StopSignal:  syscall.SIGTERM,
		StopTimeout: etcd.CloseTimeout + 5*time.Second,
		// A member without quorum is unhealthy, but restarting it would not
		// help: readiness is only its first decided start.
		Ready: func(ctx context.Context) error {
			t, err := access.TLS()
			if err != nil {
				return err
			}
			return etcd.Healthy(ctx, client, t)
		},
	}
}

// shrinkEtcd removes etcd members whose hosts left the etcd group; the
// infra host does it, since it holds the desired state.
func (a *Agent) shrinkEtcd(ctx context.Context, inv *inventory.Inventory) {
	var keep []string
	for _, ip := range inv.EtcdIPs() {
		keep = append(keep, "https://"+net.JoinHostPort(ip, strconv.Itoa(inv.Host(ip).Params.EtcdPeerPort)))
	}
	if len(keep) == 0 {
		return
	}
	// A member whose link is cut can hold a request for good: the pass
	// (and with it every role change of this host) must not wait on it.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	removed, err := etcd.Remove(ctx, RootAccess(a.cfg.Root, inv), keep)
	if err != nil {
		a.log.Warn("cannot shrink the etcd cluster", "err", err)
	}
	for _, m := range removed {
		a.log.Info("etcd member removed: its host left the etcd group", "member", m)
	}
}

// leaveEtcd stops this host's etcd member once the host has left the etcd
// group (the infra host removes the member from the cluster) and keeps its
// data beside the data directory, renamed: a removed member must never
// start again from it, and nothing a user stored is deleted.
func (a *Agent) leaveEtcd(ctx context.Context, h *inventory.Host) {
	if h == nil || h.Etcd {
		return
	}
	running := false
	for _, c := range a.sup.Status() {
		running = running || (c.Name == "etcd" && c.State != supervisor.StateStopped)
	}
	if !running {
		return
	}
	a.log.Info("this host left the etcd group: stopping its etcd member")
	if err := a.sup.Stop(ctx, "etcd"); err != nil {
		a.log.Warn("cannot stop the etcd member", "err", err)
		return
	}
	conf := EtcdConfigPath(a.cfg.Root)
	ec, err := etcd.ReadConfig(conf)
	if err != nil {
		a.log.Warn("cannot read the etcd member's config", "err", err)
		return
	}
	kept := ec.DataDir + ".removed-" + time.Now().UTC().Format("20060102T150405")
	if err := os.Rename(ec.DataDir, kept); err != nil && !os.IsNotExist(err) {
		a.log.Warn("cannot move the removed member's data aside", "err", err)
		return
	}
	if err := os.Remove(conf); err != nil && !os.IsNotExist(err) {
		a.log.Warn("cannot remove the etcd member's config", "err", err)
	}
	a.log.Info("etcd member stopped; its data kept", "dir", kept)
}

// RootAccess reaches the etcd cluster as its root user (etcd_root_password):
// what changing members and users needs.
func RootAccess(root string, inv *inventory.Inventory) etcd.Access {
	a := etcd.Access{Endpoints: inv.EtcdEndpoints(), CAFile: filepath.Join(PKIDir(root), "ca.crt"), Username: "root"}
	if ips := inv.EtcdIPs(); len(ips) > 0 {
		a.Password = inv.Host(ips[0]).Params.EtcdRootPassword
	}
	return a
}

// AgentUser is the etcd user of the agents: desired state and status under
// /pigsty/, and the DCS under pg_namespace (a removed cluster's keys are
// deleted by the agent).
const AgentUser = "pigsty"

// AgentGrant is what the agents' etcd user may touch.
func AgentGrant(inv *inventory.Inventory, password string) etcd.Grant {
	prefixes := []string{"/pigsty/"}
	seen := map[string]bool{}
	for _, i := range inv.Instances() {
		ns := strings.TrimSuffix(i.Params.PgNamespace, "/") + "/"
		if !seen[ns] {
			seen[ns] = true
			prefixes = append(prefixes, ns)
		}
	}
	if len(prefixes) == 1 {
		prefixes = append(prefixes, "/pg/")
	}
	return etcd.Grant{User: AgentUser, Password: password, Prefixes: prefixes}
}
