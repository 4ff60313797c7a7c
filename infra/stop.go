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
	"syscall"
	"time"

	"pigsty/node/agent"
	"pigsty/node/supervisor"
	"pigsty/pgsql/inventory"
)

// Stop stops everything pigsty runs on this host: it asks a running agent
// to stop its children and exit, then adopts whatever is left — children
// of an agent that was killed — and stops that too. progress tells the user
// what is happening.
func Stop(ctx context.Context, cfg Config, log *slog.Logger, progress func(string)) error {
	if pid, ok := agent.PID(cfg.Root); ok {
		progress(fmt.Sprintf("asking the agent (pid %d) to stop everything", pid))
		if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
			return fmt.Errorf("stop: signal agent %d: %w", pid, err)
		}
		for {
			if _, ok := agent.PID(cfg.Root); !ok {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
		progress("agent stopped")
	}
	raw, err := os.ReadFile(agent.CachePath(cfg.Root))
	if errors.Is(err, os.ErrNotExist) {
		progress("nothing else to stop")
		return nil
	} else if err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	inv, err := inventory.Parse(agent.CachePath(cfg.Root), raw, nil)
	if err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	supCtx, detach := context.WithCancel(context.WithoutCancel(ctx))
	defer detach()
	sup, err := supervisor.New(supCtx, filepath.Join(State(cfg.Root), "run"), log)
	if err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	defer sup.Wait()
	defer detach()
	ip := cfg.IP
	if ip == "" {
		if j, jerr := agent.ReadJoined(cfg.Root); jerr == nil {
			ip = j.IP
		} else if ip, err = localInfraIP(inv); err != nil {
			return err
		}
	}
	if h := inv.Host(ip); h != nil && h.Etcd {
		client := "https://" + net.JoinHostPort(ip, strconv.Itoa(h.Params.EtcdPort))
		ca := filepath.Join(agent.PKIDir(cfg.Root), "ca.crt")
		if _, err := sup.Adopt(ctx, agent.EtcdSpec(cfg.Root, cfg.Exe, client, ca)); err != nil {
			return err
		}
	}
	if h := inv.Host(ip); h != nil && h.Infra {
		if err := adoptMetrics(ctx, sup, cfg.Root, cfg.Exe, h); err != nil {
			return err
		}
	}
	orphans, err := agent.Adopt(ctx, cfg.Root, inv, ip, sup, log)
	if err != nil {
		return err
	}
	for _, c := range sup.Status() {
		progress(fmt.Sprintf("stopping %s (pid %d), left by an agent that is gone", c.Name, c.PID))
	}
	if err := sup.StopAll(ctx); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	if err := orphans(ctx); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	progress("everything stopped")
	return nil
}
