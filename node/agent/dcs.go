package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"

	"gopkg.in/yaml.v3"
)

func init() { register(350, "dcs", (*run).dcs) }

// managedDCS are the keys of Patroni's dynamic configuration that the
// inventory decides (pg_rto, pg_rpo, pg_conf, pg_upstream, pg_delay).
// bootstrap.dcs applies only when a cluster is created; afterwards the
// leader's agent brings the live configuration to these values, so that a
// changed pg_rto or pg_upstream — or a standby cluster's promotion, by
// removing pg_upstream — takes effect. Other keys (postgresql.parameters
// set with `pigsty pg edit-config`) are left alone.
var managedDCS = []string{
	"ttl", "loop_wait", "retry_timeout", "primary_start_timeout", "primary_stop_timeout",
	"maximum_lag_on_failover", "maximum_lag_on_syncnode", "synchronous_mode", "synchronous_mode_strict",
	"failsafe_mode", "standby_cluster",
}

// dcs patches the live dynamic configuration on the leader: the member
// holding the leader key, also a standby cluster's standby leader, whose
// /primary check never passes — its upstream changes and its promotion
// are patches of standby_cluster.
func (r *run) dcs(ctx context.Context) error {
	if len(r.patroniConfig) == 0 {
		return nil
	}
	if code, err := r.client().Check(ctx, "/leader"); err != nil || code != http.StatusOK {
		return nil
	}
	want, err := desiredDCS(r.patroniConfig)
	if err != nil {
		return err
	}
	cur, err := r.client().Config(ctx)
	if err != nil {
		return err
	}
	patch := dcsPatch(want, cur)
	if len(patch) == 0 {
		return nil
	}
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	r.log.Info("patching the cluster's dynamic configuration", "keys", keys)
	return r.client().PatchConfig(ctx, patch)
}

// desiredDCS reads the managed keys of bootstrap.dcs from a rendered
// Patroni config, as the JSON values Patroni's /config holds.
func desiredDCS(config []byte) (map[string]any, error) {
	var doc struct {
		Bootstrap struct {
			DCS map[string]any `yaml:"dcs"`
		} `yaml:"bootstrap"`
	}
	if err := yaml.Unmarshal(config, &doc); err != nil {
		return nil, fmt.Errorf("read rendered patroni config: %w", err)
	}
	out := map[string]any{}
	for _, k := range managedDCS {
		if v, ok := doc.Bootstrap.DCS[k]; ok {
			out[k] = v
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	var norm map[string]any
	return norm, json.Unmarshal(b, &norm)
}

// dcsPatch is what turns cur into want for the managed keys: changed
// values, and null for a managed key want does not have (a standby
// cluster promoted by removing pg_upstream).
func dcsPatch(want, cur map[string]any) map[string]any {
	patch := map[string]any{}
	for _, k := range managedDCS {
		w, inWant := want[k]
		c, inCur := cur[k]
		switch {
		case inWant && (!inCur || !reflect.DeepEqual(w, c)):
			patch[k] = w
		case !inWant && inCur && c != nil:
			patch[k] = nil
		}
	}
	return patch
}
