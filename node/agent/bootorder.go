package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"pigsty/pgsql/patroni"
)

func init() { register(290, "bootstrap order", (*run).awaitInitialized) }

// awaitInitialized keeps the Patroni of a member the inventory does not
// declare primary from starting on an empty data directory before its
// cluster has been initialized, as Pigsty brings up the primary before the
// replicas. Patroni lets whichever member finds the DCS empty first
// bootstrap the cluster: a replica whose host joined as fast as the
// primary's would otherwise become the primary instead of the declared one.
// Afterwards roles are Patroni's, and a member with data never waits.
func (r *run) awaitInitialized(ctx context.Context) error {
	p := r.inst.Params
	// Citus groups keep their keys one level deeper; their coordinator
	// and workers are each a group's primary.
	if !p.PatroniEnabled || r.inst.Role == "primary" || p.PgMode == "citus" || exists(filepath.Join(r.l.Data(), "PG_VERSION")) {
		return nil
	}
	user, password := patroni.DCSCredentials(r.inst)
	if err := r.dcsUser(ctx, user, password); err != nil { // the agents read the namespace
		return err
	}
	key := patroni.KeyPrefix(r.inst) + "initialize"
	deadline := time.Now().Add(time.Minute)
	for {
		keys, err := r.store.DCSKeys(ctx, p.PgNamespace, patroni.Scope(r.inst))
		if err != nil {
			return err
		}
		if slices.Contains(keys, key) {
			return nil
		}
		if time.Now().After(deadline) {
			primary := "its primary"
			if c := r.inst.Inventory().Cluster(r.inst.Cluster); c != nil && c.Primary() != nil {
				primary = c.Primary().Name
			}
			return fmt.Errorf("%w: %s has not initialized %s yet (no %s)", errWaiting, primary, r.inst.Cluster, key)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
