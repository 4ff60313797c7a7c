package prepare

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
)

// distroUnits are the services Debian's packages enable on install; they
// would hold the ports pigsty's own supervised children need.
var distroUnits = []string{"patroni.service", "pgbouncer.service", "haproxy.service", "postgresql.service", "pgbackrest.service"}

// StopDistroServices disables and stops the distribution's own units where
// systemd runs; without systemd the packages' services never started
// (pigsty installs with a policy-rc.d that forbids it).
func StopDistroServices(ctx context.Context, run Runner, log *slog.Logger) {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		return
	}
	for _, u := range distroUnits {
		out, err := run(exec.CommandContext(ctx, "/usr/bin/systemctl", "disable", "--now", u))
		if err != nil {
			log.Debug("distribution unit not disabled", "unit", u, "err", err, "out", string(out))
		}
	}
}
