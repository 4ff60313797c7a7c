// Package infra is the control plane, `pigsty infra`: it keeps the CA,
// runs the embedded etcd server in a child process of the binary, stores
// the validated inventory as desired state, and runs the node agent for
// its own host (an infra host is also a node).
package infra

import (
	"context"
	"errors"
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
	"pigsty/infra/pki"
	"pigsty/infra/store"
	"pigsty/node/agent"
	"pigsty/node/supervisor"
	"pigsty/pgsql/inventory"
)

// Config is how `pigsty infra` was started.
type Config struct {
	Inventory string   // pigsty.yml to store as the desired state; "" keeps what etcd has
	ExtraVars []string // its -e arguments
	IP        string   // this host's inventory address; "" finds it among the infra hosts
	Root      string   // filesystem root ("/")
	Exe       string   // this binary, for re-executed children
	Version   string
	// StopAll, when it fires, stops every child before Run returns:
	// `pigsty stop`. Otherwise children outlive the agent.
	StopAll <-chan struct{}
}

// State is the directory of pigsty's own state on a host.
func State(root string) string { return filepath.Join(root, "var/lib/pigsty") }

// PidFile is where the running agent writes its pid.
func PidFile(root string) string { return filepath.Join(State(root), "agent.pid") }

// Run runs the control plane until ctx ends.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	raw, inv, err := seed(cfg)
	if err != nil {
		return err
	}
	state := State(cfg.Root)
	for _, d := range []string{state, filepath.Join(state, "log"), filepath.Join(state, "run")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("infra: %w", err)
		}
	}
	// Children must outlive this process: they are stopped only by
	// StopAll, never by ctx, which ends on SIGTERM (an agent restart).
	supCtx, detach := context.WithCancel(context.WithoutCancel(ctx))
	defer detach()
	sup, err := supervisor.New(supCtx, filepath.Join(state, "run"), log)
	if err != nil {
		return fmt.Errorf("infra: %w (is another pigsty agent running?)", err)
	}
	if err := os.WriteFile(PidFile(cfg.Root), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("infra: %w", err)
	}
	defer os.Remove(PidFile(cfg.Root))

	caDir := filepath.Join(state, "pki")
	if _, err := pki.LoadOrCreate(caDir); err != nil {
		return err
	}
	ip := cfg.IP
	if ip == "" {
		if ip, err = localInfraIP(inv); err != nil {
			return err
		}
	}
	h := inv.Host(ip)
	if h == nil || !h.Infra {
		return fmt.Errorf("infra: %s is not a host of the infra group", ip)
	}
	if h.Etcd {
		if err := startEtcd(ctx, sup, cfg, inv, h, log); err != nil {
			return err
		}
	}
	st, err := store.Open(ctx, inv.EtcdEndpoints(), log)
	if err != nil {
		return fmt.Errorf("infra: %w", err)
	}
	defer st.Close()
	if raw != nil {
		rev, changed, err := st.PutDesired(ctx, raw, cfg.ExtraVars, "pigsty infra")
		if err != nil {
			return fmt.Errorf("infra: store desired state: %w", err)
		}
		log.Info("desired state", "revision", rev, "changed", changed)
	}
	a, err := agent.New(agent.Config{IP: ip, Root: cfg.Root, Exe: cfg.Exe, Version: cfg.Version, CADir: caDir}, st, sup, log)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	select {
	case err = <-done:
	case <-cfg.StopAll:
		cancel()
		<-done
		log.Info("stopping every child")
		stopCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer stop()
		err = sup.StopAll(stopCtx)
	}
	detach()
	sup.Wait()
	return err
}

// seed reads the inventory to store, or the one the agent cached when
// none is given.
func seed(cfg Config) ([]byte, *inventory.Inventory, error) {
	path, stored := cfg.Inventory, true
	if path == "" {
		path, stored = agent.CachePath(cfg.Root), false
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		if !stored && errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("infra: no inventory: give one with -f pigsty.yml")
		}
		return nil, nil, fmt.Errorf("infra: %w", err)
	}
	inv, err := inventory.Parse(path, raw, cfg.ExtraVars)
	if err != nil {
		return nil, nil, err
	}
	if !stored {
		raw = nil
	}
	return raw, inv, nil
}

// localInfraIP is the infra host whose address this machine holds.
func localInfraIP(inv *inventory.Inventory) (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("infra: list addresses: %w", err)
	}
	local := map[string]bool{}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			local[n.IP.String()] = true
		}
	}
	for _, ip := range inv.InfraIPs() {
		if local[ip] {
			return ip, nil
		}
	}
	return "", fmt.Errorf("infra: none of the infra hosts (%s) is an address of this machine: give one with --ip", strings.Join(inv.InfraIPs(), ", "))
}

// startEtcd runs this host's etcd member as `pigsty run etcd`.
func startEtcd(ctx context.Context, sup *supervisor.Supervisor, cfg Config, inv *inventory.Inventory, h *inventory.Host, log *slog.Logger) error {
	p := h.Params
	var members []string
	for _, ip := range inv.EtcdIPs() {
		m := inv.Host(ip).Params
		members = append(members, fmt.Sprintf("%s-%d=http://%s", m.EtcdCluster, m.EtcdSeq, net.JoinHostPort(ip, strconv.Itoa(m.EtcdPeerPort))))
	}
	client := "http://" + net.JoinHostPort(h.IP, strconv.Itoa(p.EtcdPort))
	clients := []string{client}
	if h.IP != "127.0.0.1" {
		clients = append(clients, "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(p.EtcdPort)))
	}
	ec := etcd.Config{
		Name:           fmt.Sprintf("%s-%d", p.EtcdCluster, p.EtcdSeq),
		DataDir:        filepath.Join(cfg.Root, p.EtcdData),
		ClientURLs:     clients,
		PeerURLs:       []string{"http://" + net.JoinHostPort(h.IP, strconv.Itoa(p.EtcdPeerPort))},
		InitialCluster: strings.Join(members, ","),
		ClusterState:   "new",
		Token:          p.EtcdCluster,
	}
	// etcd creates its data directory 0700, parents included: make the
	// parent (the node's /data) first, so that the dbsu can traverse it.
	if err := os.MkdirAll(filepath.Dir(ec.DataDir), 0o755); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	confFile := filepath.Join(State(cfg.Root), "etcd", "etcd.yml")
	if err := os.MkdirAll(filepath.Dir(confFile), 0o700); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	if err := etcd.WriteConfig(confFile, ec); err != nil {
		return err
	}
	spec := etcdSpec(cfg, confFile, client)
	if err := sup.Start(ctx, spec); err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	log.Info("waiting for etcd", "endpoint", client)
	return sup.WaitReady(ctx, "etcd")
}

// etcdSpec is how the supervisor runs the etcd member: this binary,
// re-executed as `pigsty run etcd`.
func etcdSpec(cfg Config, confFile, client string) supervisor.Spec {
	return supervisor.Spec{
		Name: "etcd", Path: cfg.Exe, Args: []string{"run", "etcd", "--config", confFile},
		Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/",
		LogFile:     filepath.Join(State(cfg.Root), "log", "etcd.log"),
		StopSignal:  syscall.SIGTERM,
		StopTimeout: etcd.CloseTimeout + 5*time.Second,
		Ready:       func(ctx context.Context) error { return etcd.Healthy(ctx, client) },
	}
}
