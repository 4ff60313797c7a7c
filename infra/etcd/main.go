package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// CloseTimeout bounds Main's shutdown. Close takes milliseconds, but a
// leader handing over to a slow peer may wait up to etcd's request timeout
// (7 s). The supervisor should wait a little longer than this before it
// sends SIGKILL.
const CloseTimeout = 10 * time.Second

// Main is `pigsty run etcd --config <file>`: it reads the member config the
// agent wrote, serves until ctx is cancelled (SIGTERM) and closes within
// CloseTimeout. It does not give up waiting for a quorum: the members of a
// new cluster start one by one, and exiting would only make the supervisor
// restart it. It returns an error when the member stops on its own.
func Main(ctx context.Context, configFile string) error {
	cfg, err := ReadConfig(configFile)
	if err != nil {
		return err
	}
	log := slog.Default()
	srv, err := Start(ctx, cfg, log)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil
		}
		return err
	}
	select {
	case <-ctx.Done():
		log.Info("etcd stopping", "ins", cfg.Name)
		if err := srv.Close(CloseTimeout); err != nil {
			return fmt.Errorf("etcd %s: %w", cfg.Name, err)
		}
		return nil
	case err := <-srv.Err():
		if cerr := srv.Close(CloseTimeout); cerr != nil {
			log.Warn("etcd close", "ins", cfg.Name, "err", cerr)
		}
		return err
	}
}
