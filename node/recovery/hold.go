package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"pigsty/infra/store"
	"pigsty/pgsql/layout"
)

// HoldFile is this host's own record of a hold on its instance. The
// agent honours it as it honours a hold in etcd, so a recovery running
// on the host stays safe from an agent that cannot reach etcd.
func HoldFile(l layout.Layout) string { return filepath.Join(l.State(), "hold.json") }

// HoldOf is the hold on instance ins: this host's file first, then the
// store's (st may be nil). An unreadable store counts as no hold there.
func HoldOf(ctx context.Context, st *store.Store, l layout.Layout, ins string) (store.Hold, bool) {
	if b, err := os.ReadFile(HoldFile(l)); err == nil {
		var h store.Hold
		if json.Unmarshal(b, &h) == nil && h.Instance == ins {
			return h, true
		}
	}
	if st == nil {
		return store.Hold{}, false
	}
	h, ok, err := st.GetHold(ctx, ins)
	if err != nil {
		return store.Hold{}, false
	}
	return h, ok
}

// holds places and lifts the holds of a recovery.
type holds struct {
	st *store.Store
	l  layout.Layout
	by string
}

// place holds the instance of this host (in its file and in the store)
// and the others (in the store).
func (h holds) place(ctx context.Context, local string, others []string, reason string) error {
	hold := store.Hold{Instance: local, Reason: reason, By: h.by, Since: time.Now().UTC()}
	if err := h.writeLocal(hold); err != nil {
		return err
	}
	if h.st == nil {
		return nil
	}
	for _, ins := range append([]string{local}, others...) {
		hold.Instance = ins
		if err := h.st.PutHold(ctx, hold); err != nil {
			return err
		}
	}
	return nil
}

// note changes the reason of this host's hold, e.g. when a recovery
// failed and the instance stays held.
func (h holds) note(local, reason string) error {
	b, err := os.ReadFile(HoldFile(h.l))
	if err != nil {
		return err
	}
	var hold store.Hold
	if err := json.Unmarshal(b, &hold); err != nil {
		return err
	}
	hold.Reason = reason
	return h.writeLocal(hold)
}

func (h holds) writeLocal(hold store.Hold) error {
	b, err := json.MarshalIndent(hold, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(HoldFile(h.l)), 0o755); err != nil {
		return fmt.Errorf("hold %s: %w", hold.Instance, err)
	}
	if err := os.WriteFile(HoldFile(h.l), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("hold %s: %w", hold.Instance, err)
	}
	return nil
}

// release lifts the hold of this host's instance.
func (h holds) release(ctx context.Context, local string) error {
	if err := os.Remove(HoldFile(h.l)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("release %s: %w", local, err)
	}
	if h.st == nil {
		return nil
	}
	return h.st.DeleteHold(ctx, local)
}

// reinit tells the agents of the replicas to clone them again: they
// empty the data directory and drop their hold.
func (h holds) reinit(ctx context.Context, replicas []string) error {
	if h.st == nil {
		return nil
	}
	for _, ins := range replicas {
		if err := h.st.PutHold(ctx, store.Hold{Instance: ins, Reason: "re-initialise from the recovered primary", By: h.by, Reinit: true}); err != nil {
			return err
		}
	}
	return nil
}

// HoldHere holds this host's instance in its hold file alone: the agent
// keeps Patroni from starting before a recovery has begun.
func HoldHere(l layout.Layout, ins, reason, by string) error {
	if h, ok := HoldOf(context.Background(), nil, l, ins); ok && h.By == by {
		return nil
	}
	return holds{l: l, by: by}.writeLocal(store.Hold{Instance: ins, Reason: reason, By: by, Since: time.Now().UTC()})
}
