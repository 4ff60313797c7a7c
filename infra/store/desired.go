package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Desired is the inventory every agent converges to.
type Desired struct {
	Inventory []byte   // pigsty.yml exactly as the user wrote it
	ExtraVars []string // the -e overrides it was validated with, in order
	// Files are files the inventory names by path — database baselines —
	// by the path as written, so that an agent on any host has them.
	Files map[string][]byte
	// Confirmed are destructive changes the user confirmed for this
	// revision alone (`pigsty apply --yes`), e.g. "recreate pg-meta/meta".
	// Agents act on them in the pass of this revision, never again.
	Confirmed []string
	// Removed are instances `pigsty pgsql rm` took down: their agents
	// remove them, the other members leave them out of their cluster.
	Removed []Removal
	// Revision is the etcd revision that wrote this value. Agents report it
	// in their status; it only grows.
	Revision  int64
	UpdatedAt time.Time
	UpdatedBy string
}

// Removal is an instance `pigsty pgsql rm` removes, with what it removes
// besides the instance (pg_rm_data, pg_rm_backup, pg_rm_pkg as the command
// had them).
type Removal struct {
	Instance string `json:"instance"`
	Data     bool   `json:"data,omitempty"`
	Backup   bool   `json:"backup,omitempty"`
	Packages bool   `json:"packages,omitempty"`
}

// Removes reports whether instance ins is removed.
func (d Desired) Removes(ins string) (Removal, bool) {
	for _, r := range d.Removed {
		if r.Instance == ins {
			return r, true
		}
	}
	return Removal{}, false
}

// desiredValue is the stored JSON. The inventory is kept as bytes
// (base64 in JSON) so that it comes back byte for byte.
type desiredValue struct {
	Inventory []byte            `json:"inventory"`
	ExtraVars []string          `json:"extra_vars,omitempty"`
	Files     map[string][]byte `json:"files,omitempty"`
	Confirmed []string          `json:"confirmed,omitempty"`
	Removed   []Removal         `json:"removed,omitempty"`
	UpdatedAt time.Time         `json:"updated_at"`
	UpdatedBy string            `json:"updated_by"`
}

// sameContent reports whether storing d would change nothing. A value
// with confirmations is never the same: each confirmation is a new
// request.
func (v desiredValue) sameContent(d Desired) bool {
	return bytes.Equal(v.Inventory, d.Inventory) && slices.Equal(v.ExtraVars, d.ExtraVars) &&
		maps.EqualFunc(v.Files, d.Files, bytes.Equal) && slices.Equal(v.Removed, d.Removed) &&
		len(d.Confirmed) == 0
}

func decodeDesired(kv *mvccpb.KeyValue) (Desired, error) {
	var v desiredValue
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return Desired{}, fmt.Errorf("store: %s at revision %d: %w", kv.Key, kv.ModRevision, err)
	}
	return Desired{Inventory: v.Inventory, ExtraVars: v.ExtraVars, Files: v.Files, Confirmed: v.Confirmed, Removed: v.Removed,
		Revision: kv.ModRevision, UpdatedAt: v.UpdatedAt, UpdatedBy: v.UpdatedBy}, nil
}

// PutDesired stores a validated inventory and the extra vars it was
// validated with; by says who (user@host). The files and removed
// instances stored with the previous inventory are kept (an inventory
// stored again at an agent's start must not bring back an instance
// `pigsty pgsql rm` took down); Put replaces everything. If the content
// equals what is stored, nothing is written: changed is false and
// revision is that of the stored value, so re-applying the same file wakes
// no agent.
func (s *Store) PutDesired(ctx context.Context, inventory []byte, extra []string, by string) (revision int64, changed bool, err error) {
	return s.put(ctx, func(cur *Desired) Desired {
		d := Desired{Inventory: inventory, ExtraVars: extra}
		if cur != nil {
			d.Files, d.Removed = cur.Files, cur.Removed
		}
		return d
	}, by)
}

// Put stores d as the desired state, as PutDesired does, but whole: its
// files, confirmations and removed instances replace the stored ones.
func (s *Store) Put(ctx context.Context, d Desired, by string) (revision int64, changed bool, err error) {
	return s.put(ctx, func(*Desired) Desired { return d }, by)
}

// put writes what next makes of the stored value. The write is a
// compare-and-swap on the value read, so of two concurrent writers neither
// is lost unseen.
func (s *Store) put(ctx context.Context, next func(cur *Desired) Desired, by string) (revision int64, changed bool, err error) {
	for {
		resp, err := s.cli.Get(ctx, keyDesired)
		if err != nil {
			return 0, false, fmt.Errorf("store: read desired state: %w", err)
		}
		var modRev int64
		var cur *Desired
		var curValue desiredValue
		if len(resp.Kvs) == 1 {
			kv := resp.Kvs[0]
			modRev = kv.ModRevision
			if d, err := decodeDesired(kv); err == nil {
				cur = &d
				_ = json.Unmarshal(kv.Value, &curValue)
			}
		}
		d := next(cur)
		if cur != nil && curValue.sameContent(d) {
			return modRev, false, nil
		}
		val, err := json.Marshal(desiredValue{Inventory: d.Inventory, ExtraVars: d.ExtraVars, Files: d.Files,
			Confirmed: d.Confirmed, Removed: d.Removed, UpdatedAt: time.Now().UTC(), UpdatedBy: by})
		if err != nil {
			return 0, false, fmt.Errorf("store: encode desired state: %w", err)
		}
		txn, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(keyDesired), "=", modRev)).
			Then(clientv3.OpPut(keyDesired, string(val))).
			Commit()
		if err != nil {
			return 0, false, fmt.Errorf("store: write desired state (%d bytes): %w", len(val), err)
		}
		if txn.Succeeded {
			s.log.Info("desired state stored", "revision", txn.Header.Revision, "by", by, "bytes", len(d.Inventory))
			return txn.Header.Revision, true, nil
		}
		// Someone else wrote in between: compare against theirs.
		if err := ctx.Err(); err != nil {
			return 0, false, fmt.Errorf("store: write desired state: %w", err)
		}
	}
}

// Desired returns the stored desired state, or ErrNotFound.
func (s *Store) Desired(ctx context.Context) (Desired, error) {
	resp, err := s.cli.Get(ctx, keyDesired)
	if err != nil {
		return Desired{}, fmt.Errorf("store: read desired state: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return Desired{}, ErrNotFound
	}
	return decodeDesired(resp.Kvs[0])
}

// WatchDesired delivers the current desired state (once there is one) and
// then every new revision. A reader that falls behind gets the newest
// revision, not a backlog: converging to the latest is what matters. It
// rides out etcd restarts and compaction, never delivers a revision twice
// or out of order, and closes the channel when ctx is done or the store is
// closed.
func (s *Store) WatchDesired(ctx context.Context) <-chan Desired {
	ch := make(chan Desired, 1)
	ctx, cancel := s.scope(ctx)
	go func() {
		defer close(ch)
		defer cancel()
		var last int64
		_ = s.follow(ctx, keyDesired, false, func(kv *mvccpb.KeyValue, deleted bool) bool {
			if deleted {
				s.log.Warn("desired state deleted; agents keep the last revision", "revision", kv.ModRevision)
				return false
			}
			if kv.ModRevision <= last {
				return false
			}
			d, err := decodeDesired(kv)
			if err != nil {
				s.log.Error("ignoring undecodable desired state", "err", err)
				return false
			}
			last = kv.ModRevision
			sendLatest(ch, d)
			return false
		})
	}()
	return ch
}

// sendLatest puts d in the one-slot channel, replacing a value the reader
// has not taken yet. Only one goroutine sends, so the slot is free after
// the drain.
func sendLatest[T any](ch chan T, d T) {
	select {
	case ch <- d:
		return
	default:
	}
	select {
	case <-ch:
	default:
	}
	ch <- d
}
