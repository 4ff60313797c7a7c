package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

const unitPath = "/etc/systemd/system/pigsty.service"

// unit is pigsty's systemd unit. KillMode=process: the children run in
// sessions of their own and must outlive a restart of the agent, which
// adopts them; `pigsty stop` stops them.
const unit = `[Unit]
Description=pigsty: highly available PostgreSQL (control plane and node agent)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=%s %s
KillMode=process
Restart=on-failure
RestartSec=5
LimitNOFILE=655360
OOMScoreAdjust=-1000

[Install]
WantedBy=multi-user.target
`

// installUnit writes pigsty.service running `pigsty <args>` and starts it.
func installUnit(ctx context.Context, exe string, args []string) error {
	text := fmt.Sprintf(unit, exe, strings.Join(args, " "))
	if cur, err := os.ReadFile(unitPath); err != nil || string(cur) != text {
		if err := writeFileAtomic(unitPath, []byte(text), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", unitPath, err)
		}
		if err := systemctl(ctx, "daemon-reload"); err != nil {
			return err
		}
	}
	return systemctl(ctx, "enable", "--now", "pigsty.service")
}

func systemctl(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "/usr/bin/systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
