package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

const prefixHold = "/pigsty/hold/"

// Hold takes an instance out of its agent's hands while a procedure —
// a point-in-time recovery — works on it: the agent stops Patroni and
// PostgreSQL and leaves them stopped until the hold is gone. Reinit
// tells the agent of a replica to start again from an empty data
// directory, so that Patroni clones it from the new leader.
type Hold struct {
	Instance string    `json:"instance"`
	Reason   string    `json:"reason"` // for `pigsty status` and logs
	By       string    `json:"by"`     // who holds: "pigsty pitr", the agent of pg-meta-1
	Since    time.Time `json:"since"`
	Reinit   bool      `json:"reinit,omitempty"`
}

// PutHold places or updates a hold; a zero Since is now.
func (s *Store) PutHold(ctx context.Context, h Hold) error {
	if err := checkName("instance", h.Instance); err != nil {
		return err
	}
	if h.Since.IsZero() {
		h.Since = time.Now().UTC()
	}
	val, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("store: encode hold of %s: %w", h.Instance, err)
	}
	if _, err := s.cli.Put(ctx, prefixHold+h.Instance, string(val)); err != nil {
		return fmt.Errorf("store: hold %s: %w", h.Instance, err)
	}
	return nil
}

// GetHold returns the instance's hold, if there is one.
func (s *Store) GetHold(ctx context.Context, ins string) (Hold, bool, error) {
	if err := checkName("instance", ins); err != nil {
		return Hold{}, false, err
	}
	resp, err := s.cli.Get(ctx, prefixHold+ins)
	if err != nil {
		return Hold{}, false, fmt.Errorf("store: read hold of %s: %w", ins, err)
	}
	if len(resp.Kvs) == 0 {
		return Hold{}, false, nil
	}
	var h Hold
	if err := json.Unmarshal(resp.Kvs[0].Value, &h); err != nil {
		return Hold{}, false, fmt.Errorf("store: decode hold of %s: %w", ins, err)
	}
	return h, true, nil
}

// DeleteHold releases an instance.
func (s *Store) DeleteHold(ctx context.Context, ins string) error {
	if err := checkName("instance", ins); err != nil {
		return err
	}
	if _, err := s.cli.Delete(ctx, prefixHold+ins); err != nil {
		return fmt.Errorf("store: release %s: %w", ins, err)
	}
	return nil
}

// Holds lists every hold.
func (s *Store) Holds(ctx context.Context) ([]Hold, error) {
	resp, err := s.cli.Get(ctx, prefixHold, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("store: list holds: %w", err)
	}
	var out []Hold
	for _, kv := range resp.Kvs {
		var h Hold
		if err := json.Unmarshal(kv.Value, &h); err != nil {
			return nil, fmt.Errorf("store: decode %s: %w", kv.Key, err)
		}
		out = append(out, h)
	}
	return out, nil
}
