// Package alert evaluates recording and alert rules against the metrics
// store on a schedule, as Prometheus' rule manager does: a recording
// rule's result is written back to the store as a new series; an alert
// rule's result series become alerts that are pending until they have
// lasted the rule's `for`, then firing, then resolved when they vanish.
// The alerts survive a restart (their state is saved after every change)
// and firing and resolved alerts are posted to an optional webhook in
// Alertmanager's format.
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"
)

// State is where an alert is in its life.
type State string

const (
	Pending  State = "pending"  // the condition holds, not yet for the rule's `for`
	Firing   State = "firing"   // it has held for `for`
	Resolved State = "resolved" // it held no more; kept until the webhook heard of it
)

// Alert is one series of an alert rule's result.
type Alert struct {
	Fingerprint string            `json:"fingerprint"` // of Labels
	Group       string            `json:"group"`       // the rule's group
	Name        string            `json:"name"`        // the rule's alert name
	Labels      map[string]string `json:"labels"`      // the series' and the rule's, with alertname
	Annotations map[string]string `json:"annotations"`
	State       State             `json:"state"`
	Value       float64           `json:"-"` // the result's value at the last evaluation; not kept
	ActiveAt    time.Time         `json:"active_at"`
	FiredAt     time.Time         `json:"fired_at,omitzero"`
	ResolvedAt  time.Time         `json:"resolved_at,omitzero"`
	// Sent is the state the webhook was last told of: firing and
	// resolved are each delivered once.
	Sent State `json:"sent,omitempty"`
}

// fingerprint identifies a label set: the same series of the same rule
// is the same alert from one evaluation to the next.
func fingerprint(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, k := range names {
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
