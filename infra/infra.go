// Package infra is the control plane, `pigsty infra`: it keeps the CA,
// runs the embedded etcd server in a child process of the binary, stores
// the validated inventory as desired state, and runs the node agent for
// its own host (an infra host is also a node).
package infra

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"pigsty/infra/etcd"
	"pigsty/infra/join"
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
func State(root string) string { return agent.State(root) }

// Run runs the control plane and this host's agent until ctx ends.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	raw, inv, err := seed(cfg)
	if err != nil {
		return err
	}
	caDir := filepath.Join(State(cfg.Root), "pki")
	ca, err := pki.LoadOrCreate(caDir)
	if err != nil {
		return err
	}
	secret, err := join.LoadOrCreateSecret(caDir)
	if err != nil {
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
	hostname, _ := os.Hostname()
	if err := nodeCertificate(ca, caDir, ip, hostname); err != nil {
		return err
	}
	etcdPassword, err := pki.Secret(caDir, agent.EtcdSecret)
	if err != nil {
		return err
	}
	access, err := agent.Access(cfg.Root, inv.EtcdEndpoints())
	if err != nil {
		return err
	}
	host := agent.Host{
		Config:  agent.Config{IP: ip, Root: cfg.Root, Exe: cfg.Exe, Version: cfg.Version, CADir: caDir},
		Access:  access,
		StopAll: cfg.StopAll,
		Before: func(ctx context.Context, sup *supervisor.Supervisor) error {
			if err := startMetrics(ctx, sup, cfg.Root, cfg.Exe, inv, h); err != nil {
				return err
			}
			if !h.Etcd {
				return nil
			}
			if err := agent.EtcdMember(ctx, sup, cfg.Root, cfg.Exe, inv, h, log); err != nil {
				return err
			}
			// As Pigsty's etcd role: a root user, authentication on; the
			// agents get a user of their own.
			root := agent.RootAccess(cfg.Root, inv)
			if err := etcd.EnableAuth(ctx, root.As("", ""), root.Password, agent.AgentGrant(inv, etcdPassword)); err != nil {
				return fmt.Errorf("infra: etcd authentication: %w", err)
			}
			return nil
		},
		After: func(ctx context.Context, st *store.Store) error {
			if raw != nil {
				rev, changed, err := st.PutDesired(ctx, raw, cfg.ExtraVars, "pigsty infra")
				if err != nil {
					return fmt.Errorf("infra: store desired state: %w", err)
				}
				log.Info("desired state", "revision", rev, "changed", changed)
			}
			if err := serveMonitoring(ctx, st, cfg.Root, h, log); err != nil {
				return err
			}
			return serveTrust(ctx, ca, secret, etcdPassword, ip, hostname, st, log)
		},
	}
	return host.Run(ctx, log)
}

// serveTrust starts the trust port (join API and /get) in the background,
// for as long as ctx lasts.
func serveTrust(ctx context.Context, ca *pki.CA, secret, etcdPassword, ip, hostname string, st *store.Store, log *slog.Logger) error {
	iss, err := ca.Issue(ip, []string{"localhost", hostname}, []net.IP{net.ParseIP(ip), net.ParseIP("127.0.0.1")})
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(iss.Cert, iss.Key)
	if err != nil {
		return err
	}
	srv := &join.Server{CA: ca, Secret: secret, EtcdPassword: etcdPassword, Log: log, Desired: func(ctx context.Context) (*inventory.Inventory, error) {
		d, err := st.Desired(ctx)
		if err != nil {
			return nil, err
		}
		return inventory.Parse("desired state", d.Inventory, d.ExtraVars)
	}}
	go func() {
		if err := srv.Serve(ctx, net.JoinHostPort(ip, strconv.Itoa(join.DefaultPort)), cert); err != nil {
			log.Error("trust port", "err", err)
		}
	}()
	return nil
}

// nodeCertificate issues the infra host's own certificate (node.crt,
// node.key beside the CA, as a joined host has them) once: its etcd member
// serves with it.
func nodeCertificate(ca *pki.CA, dir, ip, hostname string) error {
	crt, key := filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key")
	if _, err := os.Stat(crt); err == nil {
		if _, err := os.Stat(key); err == nil {
			return nil
		}
	}
	names := []string{"localhost"}
	if hostname != "" {
		names = append(names, hostname)
	}
	iss, err := ca.Issue(ip, names, []net.IP{net.ParseIP(ip), net.ParseIP("127.0.0.1")})
	if err != nil {
		return fmt.Errorf("infra: node certificate: %w", err)
	}
	if err := os.WriteFile(key, iss.Key, 0o600); err != nil {
		return fmt.Errorf("infra: node certificate: %w", err)
	}
	if err := os.WriteFile(crt, iss.Cert, 0o644); err != nil {
		return fmt.Errorf("infra: node certificate: %w", err)
	}
	return nil
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
