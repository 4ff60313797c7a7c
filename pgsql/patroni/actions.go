package patroni

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Reload asks Patroni to re-read its configuration file (POST /reload),
// like SIGHUP. Patroni answers before it has reloaded.
func (c *Client) Reload(ctx context.Context) error {
	_, _, err := c.do(ctx, request{method: http.MethodPost, path: "/reload", ok: []int{http.StatusOK, http.StatusAccepted}, timeout: actionTimeout})
	return err
}

// RestartOptions are the conditions of a restart; the zero value restarts
// PostgreSQL now, unconditionally.
type RestartOptions struct {
	At              time.Time     // schedule the restart; zero means now
	Role            string        // only if the member runs as this role: primary, replica or standby_leader
	PostgresVersion string        // only if the running server is older than this, e.g. "15.9"
	Timeout         time.Duration // how long PostgreSQL may take to start; 0 means primary_start_timeout
	PendingOnly     bool          // only if a changed setting waits for a restart
}

// Restart restarts this member's PostgreSQL (POST /restart). Patroni
// answers when PostgreSQL is up again, or at once for a scheduled restart.
func (c *Client) Restart(ctx context.Context, o RestartOptions) error {
	body := map[string]any{}
	if !o.At.IsZero() {
		body["schedule"] = o.At.Format(time.RFC3339)
	}
	if o.Role != "" {
		body["role"] = o.Role
	}
	if o.PostgresVersion != "" {
		body["postgres_version"] = o.PostgresVersion
	}
	if o.Timeout > 0 {
		body["timeout"] = int(o.Timeout.Round(time.Second) / time.Second)
	}
	if o.PendingOnly {
		body["restart_pending"] = true
	}
	_, _, err := c.do(ctx, request{
		method: http.MethodPost, path: "/restart", body: body,
		ok: []int{http.StatusOK, http.StatusAccepted}, timeout: max(restartTimeout, o.Timeout+time.Minute),
	})
	return err
}

// Switchover hands the leader lock from leader to candidate (POST
// /switchover); an empty candidate lets the healthiest replica take it.
// A zero at switches now and returns once the new leader holds the lock;
// otherwise Patroni schedules it and returns at once.
func (c *Client) Switchover(ctx context.Context, leader, candidate string, at time.Time) error {
	if leader == "" {
		return errors.New("patroni switchover: the current leader must be named")
	}
	body := map[string]any{"leader": leader}
	if candidate != "" {
		body["candidate"] = candidate
	}
	if !at.IsZero() {
		body["scheduled_at"] = at.Format(time.RFC3339)
	}
	_, _, err := c.do(ctx, request{
		method: http.MethodPost, path: "/switchover", body: body,
		ok: []int{http.StatusOK, http.StatusAccepted}, timeout: leaderTimeout,
	})
	return err
}

// Failover promotes candidate whatever the state of the cluster (POST
// /failover), also without a healthy leader. Patroni skips its lag and
// synchronous-standby checks when there is no leader: writes can be lost.
func (c *Client) Failover(ctx context.Context, candidate string) error {
	if candidate == "" {
		return errors.New("patroni failover: a candidate must be named")
	}
	_, _, err := c.do(ctx, request{
		method: http.MethodPost, path: "/failover", body: map[string]any{"candidate": candidate},
		ok: []int{http.StatusOK}, timeout: leaderTimeout,
	})
	return err
}

// Reinitialize wipes this replica's data directory and clones it again
// (POST /reinitialize). force cancels whatever Patroni is doing on the
// member, such as a loop of failed starts.
func (c *Client) Reinitialize(ctx context.Context, force bool) error {
	_, _, err := c.do(ctx, request{
		method: http.MethodPost, path: "/reinitialize", body: map[string]any{"force": force},
		ok: []int{http.StatusOK}, timeout: actionTimeout,
	})
	return err
}

// Pause puts the cluster in maintenance mode: Patroni stops failing over
// and restarting PostgreSQL.
func (c *Client) Pause(ctx context.Context) error {
	return c.PatchConfig(ctx, map[string]any{"pause": true})
}

// Resume ends maintenance mode. Like patronictl, it removes the key from
// the dynamic configuration rather than setting it false.
func (c *Client) Resume(ctx context.Context) error {
	return c.PatchConfig(ctx, map[string]any{"pause": nil})
}

// Config is the cluster's dynamic configuration (GET /config).
func (c *Client) Config(ctx context.Context) (map[string]any, error) {
	var cfg map[string]any
	err := c.getJSON(ctx, "/config", &cfg)
	return cfg, err
}

// PatchConfig merges patch into the dynamic configuration (PATCH /config);
// a nil value removes a key. Patroni answers 409 when the configuration
// changed under it: read it again and retry.
func (c *Client) PatchConfig(ctx context.Context, patch map[string]any) error {
	if len(patch) == 0 {
		return errors.New("patroni PATCH /config: empty patch")
	}
	_, data, err := c.do(ctx, request{method: http.MethodPatch, path: "/config", body: patch, ok: []int{http.StatusOK}, timeout: actionTimeout})
	if err != nil {
		return err
	}
	if !json.Valid(data) {
		return fmt.Errorf("patroni PATCH /config: the answer is not the new configuration: %s", clip(data))
	}
	return nil
}
