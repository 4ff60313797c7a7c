package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"pigsty/infra/etcd"
	"pigsty/infra/join"
	"pigsty/infra/pki"
	"pigsty/infra/store"
	"pigsty/node/agent"
	"pigsty/node/supervisor"
	"pigsty/pgsql/inventory"
)

func init() {
	command(220, joinCommand)
	command(230, nodeCommand)
	command(240, tokenCommand)
}

func tokenCommand() *cli.Command {
	return &cli.Command{
		Name:  "token",
		Usage: "print the token other hosts join with (on the infra host)",
		Action: func(c *cli.Context) error {
			dir := filepath.Join(agent.State(c.String("root")), "pki")
			if _, err := os.Stat(filepath.Join(dir, "ca.key")); err != nil {
				return cli.Exit("no CA here: run pigsty token on the infra host, after pigsty infra has started once", 2)
			}
			ca, err := pki.LoadOrCreate(dir)
			if err != nil {
				return err
			}
			secret, err := join.LoadOrCreateSecret(dir)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, join.Token{Fingerprint: ca.Fingerprint(), Secret: secret})
			return nil
		},
	}
}

func joinCommand() *cli.Command {
	return &cli.Command{
		Name:      "join",
		Usage:     "join this host to the fleet of an infra host, and start its agent",
		ArgsUsage: "<infra-address[:port]>",
		Description: "Verifies the infra host's CA against the token, gets a certificate for this host's key, and\n" +
			"starts `pigsty node` in the background (a systemd unit where systemd runs). The host must be in\n" +
			"the inventory. On a new host: curl -fsSL http://<infra>:9443/get | sh -s -- join --token <token>",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "token", Required: true, Usage: "as `pigsty token` prints it on the infra host", EnvVars: []string{"PIGSTY_TOKEN"}},
			&cli.StringFlag{Name: "ip", Usage: "this host's address in the inventory (default: the infra host picks among this host's addresses)"},
			&cli.BoolFlag{Name: "no-start", Usage: "join only; do not start the agent"},
		},
		Action: runJoin,
	}
}

func runJoin(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: pigsty join <infra-address> --token <token>", 2)
	}
	out, root := c.App.Writer, c.String("root")
	tok, err := join.ParseToken(c.String("token"))
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	candidates := []string{c.String("ip")}
	if candidates[0] == "" {
		addrs, err := localAddresses()
		if err != nil {
			return err
		}
		candidates = candidates[:0]
		for a := range addrs {
			if ip := netIPv4(a); ip != "" && ip != "127.0.0.1" {
				candidates = append(candidates, ip)
			}
		}
	}
	dir := agent.PKIDir(root)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	hostname, _ := os.Hostname()
	fmt.Fprintf(out, "==> join %s\n", c.Args().First())
	b, ip, err := join.Join(c.Context, c.Args().First(), tok, hostname, candidates, key)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"ca.crt", b.CA, 0o644}, {"node.crt", b.Cert, 0o644},
		{"node.key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600},
	} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	if err := agent.WriteJoined(root, agent.Joined{IP: ip, Infra: c.Args().First(), Etcd: b.Etcd, EtcdPassword: b.EtcdPassword}); err != nil {
		return err
	}
	fmt.Fprintf(out, "    joined as %s (certificate signed by the infra host's CA; etcd %v)\n", ip, b.Etcd)
	if c.Bool("no-start") {
		return nil
	}
	fmt.Fprintln(out, "==> start the agent")
	if _, err := startAgent(c, root, "node"); err != nil {
		return err
	}
	access, err := agent.Access(root, b.Etcd)
	if err != nil {
		return err
	}
	st, err := store.Open(c.Context, access, quietLog())
	if err != nil {
		return err
	}
	defer st.Close()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		nodes, _ := st.Nodes(c.Context)
		for _, n := range nodes {
			if n.IP == ip {
				fmt.Fprintf(out, "    agent of %s registered\n", ip)
				return nil
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	return cli.Exit("the agent did not register within a minute: see "+filepath.Join(agent.State(root), "log", "node.log"), 1)
}

func nodeCommand() *cli.Command {
	return &cli.Command{
		Name:  "node",
		Usage: "run this host's agent in the foreground (a host that joined with pigsty join)",
		Action: func(c *cli.Context) error {
			root := c.String("root")
			j, err := agent.ReadJoined(root)
			if err != nil {
				return cli.Exit(err.Error(), 2)
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			access, err := agent.Access(root, j.Etcd)
			if err != nil {
				return cli.Exit(err.Error(), 2)
			}
			log := slog.Default()
			return agent.Host{
				Config:  agent.Config{IP: j.IP, Root: root, Exe: exe, Version: version},
				Access:  access,
				StopAll: stopSignal(),
				// A host of the etcd group runs a member: it joins the
				// cluster the desired state describes.
				Before: func(ctx context.Context, sup *supervisor.Supervisor) error {
					inv, err := desiredInventory(ctx, access)
					if err != nil {
						return err
					}
					if h := inv.Host(j.IP); h != nil && h.Etcd {
						return agent.EtcdMember(ctx, sup, root, exe, inv, h, log)
					}
					return nil
				},
			}.Run(c.Context, log)
		},
	}
}

// startAgent starts `pigsty infra|node` in the background unless an agent
// runs: a systemd unit where systemd is the init, else a detached process
// of its own session logging to the state directory. It reports whether it
// started one.
func startAgent(c *cli.Context, root string, mode string, args ...string) (bool, error) {
	out := c.App.Writer
	if pid, ok := agent.PID(root); ok {
		fmt.Fprintf(out, "    the agent runs already (pid %d)\n", pid)
		return false, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return false, err
	}
	if root == "/" && systemd() {
		if err := installUnit(c.Context, exe, append([]string{mode}, args...)); err != nil {
			return false, err
		}
		fmt.Fprintln(out, "    started unit pigsty.service")
		return true, nil
	}
	logPath := filepath.Join(agent.State(root), "log", mode+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return false, err
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return false, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, append([]string{"--root", root, mode}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("start pigsty %s: %w", mode, err)
	}
	fmt.Fprintf(out, "    started pigsty %s in the background (pid %d, log %s)\n", mode, cmd.Process.Pid, logPath)
	return true, cmd.Process.Release()
}

// desiredInventory reads the desired state from etcd.
func desiredInventory(ctx context.Context, access etcd.Access) (*inventory.Inventory, error) {
	st, err := store.Open(ctx, access, quietLog())
	if err != nil {
		return nil, err
	}
	defer st.Close()
	d, err := st.Desired(ctx)
	if err != nil {
		return nil, fmt.Errorf("desired state: %w", err)
	}
	return inventory.Parse("desired state", d.Inventory, d.ExtraVars)
}
