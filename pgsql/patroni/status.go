package patroni

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Roles and states as Patroni 4 spells them. They are kept as raw strings
// in the documents below: Patroni adds values between releases (3.x said
// "master"), and a status must not fail to decode because of one.
const (
	// GET /patroni roles.
	RolePrimary       = "primary"
	RoleReplica       = "replica"
	RoleStandbyLeader = "standby_leader"

	// GET /cluster member roles; replicas are "replica", "sync_standby"
	// or "quorum_standby".
	MemberLeader        = "leader"
	MemberStandbyLeader = "standby_leader"
	MemberSyncStandby   = "sync_standby"

	StateRunning   = "running"
	StateStreaming = "streaming"
)

// Status is GET /patroni: the member as its own Patroni sees it.
type Status struct {
	State               string `json:"state"` // running, starting, stopped, creating replica, …
	Role                string `json:"role"`  // primary, replica, standby_leader, …
	ServerVersion       int    `json:"server_version"`
	PostmasterStartTime string `json:"postmaster_start_time"`
	Timeline            int    `json:"timeline"`
	XLog                XLog   `json:"xlog"`
	// ReplicationState is a replica's WAL source: "streaming", or
	// "in archive recovery" while it replays from the archive.
	ReplicationState         string                 `json:"replication_state"`
	Replication              []Replication          `json:"replication"` // the walsenders of a primary
	SyncStandby              bool                   `json:"sync_standby"`
	QuorumStandby            bool                   `json:"quorum_standby"`
	PendingRestart           bool                   `json:"pending_restart"`
	PendingRestartReason     map[string]ParamChange `json:"pending_restart_reason"`
	ScheduledRestart         *ScheduledRestart      `json:"scheduled_restart"`
	Pause                    bool                   `json:"pause"`
	ClusterUnlocked          bool                   `json:"cluster_unlocked"`
	FailsafeModeIsActive     bool                   `json:"failsafe_mode_is_active"`
	WatchdogFailed           bool                   `json:"watchdog_failed"`
	DCSLastSeen              int64                  `json:"dcs_last_seen"` // Unix seconds
	DatabaseSystemIdentifier string                 `json:"database_system_identifier"`
	Tags                     map[string]any         `json:"tags"`
	Patroni                  struct {
		Version string `json:"version"`
		Scope   string `json:"scope"`
		Name    string `json:"name"`
	} `json:"patroni"`
}

// XLog is the member's WAL position in bytes: Location on a primary, the
// others on a replica.
type XLog struct {
	Location          int64  `json:"location"`
	ReceivedLocation  int64  `json:"received_location"`
	ReplayedLocation  int64  `json:"replayed_location"`
	ReplayedTimestamp string `json:"replayed_timestamp"` // "" when nothing was replayed
	Paused            bool   `json:"paused"`
}

// Replication is one walsender of a primary (pg_stat_replication).
type Replication struct {
	Usename         string `json:"usename"`
	ApplicationName string `json:"application_name"` // the replica's member name
	ClientAddr      string `json:"client_addr"`
	State           string `json:"state"`
	SyncState       string `json:"sync_state"`
	SyncPriority    int    `json:"sync_priority"`
}

// ParamChange is a setting waiting for a restart.
type ParamChange struct {
	OldValue string `json:"old_value"`
	NewValue string `json:"new_value"`
}

// ScheduledRestart is a restart Patroni will do later.
type ScheduledRestart struct {
	Schedule time.Time `json:"schedule"`
}

// IsLeader reports whether PostgreSQL runs as the cluster's leader: the
// primary, or a standby cluster's standby leader. Whether the member holds
// the leader lock is what Check(ctx, "/leader") answers.
func (s Status) IsLeader() bool { return s.Role == RolePrimary || s.Role == RoleStandbyLeader }

// Running reports whether Patroni sees PostgreSQL up.
func (s Status) Running() bool { return s.State == StateRunning }

// Streaming reports whether a replica receives WAL by streaming replication.
func (s Status) Streaming() bool { return s.ReplicationState == StateStreaming }

// Cluster is GET /cluster: every member as the DCS knows it.
type Cluster struct {
	Scope               string               `json:"scope"`
	Members             []Member             `json:"members"` // sorted by name
	Pause               bool                 `json:"pause"`
	ScheduledSwitchover *ScheduledSwitchover `json:"scheduled_switchover"`
}

// Member is one member of GET /cluster.
type Member struct {
	Name string `json:"name"`
	// Role is leader, standby_leader, sync_standby, quorum_standby or replica.
	Role string `json:"role"`
	// State is the replication state of a replica ("streaming", "in
	// archive recovery") when it has one, else Patroni's state ("running",
	// "starting", "stopped", …).
	State          string         `json:"state"`
	APIURL         string         `json:"api_url"`
	Host           string         `json:"host"`
	Port           int            `json:"port"`
	Timeline       int            `json:"timeline"`
	PendingRestart bool           `json:"pending_restart"`
	Tags           map[string]any `json:"tags"`
	// Lags are in bytes behind the leader; replicas only.
	Lag        Lag    `json:"lag"`
	ReceiveLag Lag    `json:"receive_lag"`
	ReplayLag  Lag    `json:"replay_lag"`
	LSN        string `json:"lsn"`
	ReceiveLSN string `json:"receive_lsn"`
	ReplayLSN  string `json:"replay_lsn"`
}

// IsLeader reports whether the member holds the cluster's leader lock.
func (m Member) IsLeader() bool { return m.Role == MemberLeader || m.Role == MemberStandbyLeader }

// Streaming reports whether the member is a replica streaming WAL.
func (m Member) Streaming() bool { return m.State == StateStreaming }

// Leader is the member holding the leader lock, or nil.
func (c Cluster) Leader() *Member {
	for i := range c.Members {
		if c.Members[i].IsLeader() {
			return &c.Members[i]
		}
	}
	return nil
}

// ScheduledSwitchover is a switchover waiting for its time.
type ScheduledSwitchover struct {
	At   time.Time `json:"at"`
	From string    `json:"from"`
	To   string    `json:"to"`
}

// Lag is a replication lag in bytes. Patroni reports "unknown" for a
// member without a WAL position, and nothing for the leader: Known is
// false then.
type Lag struct {
	Bytes int64
	Known bool
}

func (l *Lag) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		v, err := n.Int64()
		if err != nil {
			return fmt.Errorf("lag %s: %w", b, err)
		}
		*l = Lag{Bytes: v, Known: true}
		return nil
	}
	// "unknown", or null
	*l = Lag{}
	return nil
}

// HistoryEntry is one timeline switch of GET /history.
type HistoryEntry struct {
	Timeline  int       // the timeline that ended
	LSN       int64     // where it ended
	Reason    string    // as written in the timeline history file
	Time      time.Time // when the new timeline began; zero if Patroni did not record it
	NewLeader string    // the member promoted; "" if Patroni did not record it
}

// UnmarshalJSON reads Patroni's [timeline, lsn, reason, timestamp,
// new_leader] array, whose last items older entries lack.
func (h *HistoryEntry) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("history entry: %w", err)
	}
	if len(raw) < 3 {
		return fmt.Errorf("history entry %s: want at least timeline, lsn and reason", b)
	}
	var e HistoryEntry
	if err := json.Unmarshal(raw[0], &e.Timeline); err != nil {
		return fmt.Errorf("history entry %s: timeline: %w", b, err)
	}
	if err := json.Unmarshal(raw[1], &e.LSN); err != nil {
		return fmt.Errorf("history entry %s: lsn: %w", b, err)
	}
	if err := json.Unmarshal(raw[2], &e.Reason); err != nil {
		return fmt.Errorf("history entry %s: reason: %w", b, err)
	}
	if len(raw) > 3 {
		var ts *string
		if err := json.Unmarshal(raw[3], &ts); err != nil {
			return fmt.Errorf("history entry %s: timestamp: %w", b, err)
		}
		if ts != nil {
			var err error
			if e.Time, err = time.Parse(time.RFC3339Nano, *ts); err != nil {
				return fmt.Errorf("history entry %s: timestamp: %w", b, err)
			}
		}
	}
	if len(raw) > 4 {
		var leader *string
		if err := json.Unmarshal(raw[4], &leader); err != nil {
			return fmt.Errorf("history entry %s: new leader: %w", b, err)
		}
		if leader != nil {
			e.NewLeader = *leader
		}
	}
	*h = e
	return nil
}

// Patroni is GET /patroni.
func (c *Client) Patroni(ctx context.Context) (Status, error) {
	var s Status
	err := c.getJSON(ctx, "/patroni", &s)
	return s, err
}

// Cluster is GET /cluster.
func (c *Client) Cluster(ctx context.Context) (Cluster, error) {
	var cl Cluster
	err := c.getJSON(ctx, "/cluster", &cl)
	return cl, err
}

// History is GET /history, oldest first.
func (c *Client) History(ctx context.Context) ([]HistoryEntry, error) {
	var h []HistoryEntry
	err := c.getJSON(ctx, "/history", &h)
	return h, err
}
