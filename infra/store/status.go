package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Status is what an instance's agent reports after each attempt to
// converge it.
type Status struct {
	Instance string `json:"instance"` // pg_cluster-pg_seq, e.g. pg-test-1
	Revision int64  `json:"revision"` // the Desired.Revision this result is for
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`
	Phase    string `json:"phase,omitempty"` // the reconciler step reached or failed at
	// Changes are what the agent changed while converging to Revision,
	// over all its passes for it: SQL statements it executed and files it
	// wrote ("sql <db>: <statement>", "file <path>"), in order.
	Changes   []string      `json:"changes,omitempty"`
	Children  []ChildHealth `json:"children,omitempty"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// ChildHealth summarises one supervised process (patroni, pgbouncer, …).
type ChildHealth struct {
	Name    string `json:"name"`
	PID     int    `json:"pid,omitempty"`
	Healthy bool   `json:"healthy"`
	Detail  string `json:"detail,omitempty"`
}

func checkName(kind, name string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("store: %s %q: must be non-empty without '/'", kind, name)
	}
	return nil
}

// PutStatus writes the instance's status; a zero UpdatedAt is set to now.
func (s *Store) PutStatus(ctx context.Context, st Status) error {
	if err := checkName("instance", st.Instance); err != nil {
		return err
	}
	if st.UpdatedAt.IsZero() {
		st.UpdatedAt = time.Now().UTC()
	}
	val, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("store: encode status of %s: %w", st.Instance, err)
	}
	if _, err := s.cli.Put(ctx, prefixStatus+st.Instance, string(val)); err != nil {
		return fmt.Errorf("store: write status of %s: %w", st.Instance, err)
	}
	return nil
}

func decodeStatus(kv *mvccpb.KeyValue) (Status, error) {
	var st Status
	if err := json.Unmarshal(kv.Value, &st); err != nil {
		return Status{}, fmt.Errorf("store: %s: %w", kv.Key, err)
	}
	st.Instance = strings.TrimPrefix(string(kv.Key), prefixStatus)
	return st, nil
}

// Statuses returns every instance's status, ordered by instance name.
// A value that cannot be decoded is logged and left out.
func (s *Store) Statuses(ctx context.Context) ([]Status, error) {
	resp, err := s.cli.Get(ctx, prefixStatus, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("store: read statuses: %w", err)
	}
	out := make([]Status, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		st, err := decodeStatus(kv)
		if err != nil {
			s.log.Warn("ignoring undecodable status", "err", err)
			continue
		}
		out = append(out, st)
	}
	return out, nil
}

// WaitConverged waits, by watching, until every instance has reported a
// status for revision or later, whether it succeeded or not. It returns
// the latest status of each instance that has one; when ctx ends first,
// that map comes with an error naming the instances still behind.
func (s *Store) WaitConverged(ctx context.Context, instances []string, revision int64) (map[string]Status, error) {
	got := make(map[string]Status, len(instances))
	if len(instances) == 0 {
		return got, nil
	}
	want := make(map[string]bool, len(instances))
	for _, ins := range instances {
		want[ins] = true
	}
	behind := func() []string {
		var out []string
		for ins := range want {
			if st, ok := got[ins]; !ok || st.Revision < revision {
				out = append(out, ins)
			}
		}
		slices.Sort(out)
		return out
	}
	wctx, cancel := s.scope(ctx)
	defer cancel()
	err := s.follow(wctx, prefixStatus, true, func(kv *mvccpb.KeyValue, deleted bool) bool {
		ins := strings.TrimPrefix(string(kv.Key), prefixStatus)
		if deleted || !want[ins] {
			return false
		}
		st, err := decodeStatus(kv)
		if err != nil {
			s.log.Warn("ignoring undecodable status", "ins", ins, "err", err)
			return false
		}
		got[ins] = st
		return len(behind()) == 0
	})
	if err != nil {
		return got, fmt.Errorf("store: %s not at revision %d: %w", strings.Join(behind(), ", "), revision, err)
	}
	return got, nil
}
