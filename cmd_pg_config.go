package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/patroni"
)

func init() {
	pgSubcommand(&cli.Command{
		Name:      "edit-config",
		Usage:     "change the cluster's dynamic configuration in Patroni (postgresql.parameters and DCS settings)",
		ArgsUsage: "<cls>",
		Description: "-p sets a PostgreSQL parameter for every member (postgresql.parameters), -s a key of Patroni's\n" +
			"dynamic configuration (synchronous_mode=true, postgresql.use_pg_rewind=true); an empty value or null\n" +
			"removes it. The change goes to the DCS through Patroni's PATCH /config; the members apply it on their\n" +
			"next loop, and parameters that need a restart are reported as pending (pigsty pg restart <cls> --pending).\n" +
			"Keys pigsty manages from the inventory (ttl, loop_wait, synchronous_mode, standby_cluster, …) are\n" +
			"brought back to pg_rto/pg_rpo/pg_upstream by the leader's agent: change those in the inventory.",
		Flags: append(inventoryFlags(),
			&cli.StringSliceFlag{Name: "pg", Aliases: []string{"p"}, Usage: "a PostgreSQL parameter: `name=value`"},
			&cli.StringSliceFlag{Name: "set", Aliases: []string{"s"}, Usage: "a dynamic configuration key: `key=value` (dotted for nested keys)"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			&cli.DurationFlag{Name: "wait", Value: 20 * time.Second, Usage: "how long to wait for the members to report pending restarts (0: do not wait)"},
		),
		Action: pgEditConfig,
	})
}

func pgEditConfig(c *cli.Context) error {
	cls, err := pgCluster(c)
	if err != nil {
		return err
	}
	patch, err := configPatch(c.StringSlice("pg"), c.StringSlice("set"))
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if len(patch) == 0 {
		return cli.Exit("nothing to change: give -p name=value or -s key=value", 2)
	}
	_, member, err := anyMember(c.Context, cls)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	client := memberClient(member)
	cur, err := client.Config(c.Context)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	changes := configChanges(cur, patch, "")
	if len(changes) == 0 {
		fmt.Fprintf(c.App.Writer, "%s: the dynamic configuration already says so; nothing to change\n", cls.Name)
		return nil
	}
	fmt.Fprintf(c.App.Writer, "%s: dynamic configuration changes\n", cls.Name)
	for _, ch := range changes {
		fmt.Fprintf(c.App.Writer, "  %s\n", ch)
	}
	if err := confirm(c, "Apply these changes?"); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		err = client.PatchConfig(c.Context, patch)
		var pe *patroni.Error
		if errors.As(err, &pe) && pe.StatusCode == http.StatusConflict && attempt < 3 {
			continue // the configuration changed under us: Patroni asks to retry
		}
		break
	}
	if err != nil {
		return cli.Exit(fmt.Sprintf("%s: %v", cls.Name, err), 1)
	}
	fmt.Fprintf(c.App.Writer, "%s: dynamic configuration changed\n", cls.Name)
	return reportPending(c, cls, paramNames(patch), c.Duration("wait"), c.App.Writer)
}

// configPatch builds Patroni's PATCH /config body: -p into
// postgresql.parameters, -s as (dotted) keys; an empty value or null
// removes the key. Values are read as YAML scalars, so true and 5 are a
// boolean and a number where Patroni wants them.
func configPatch(params, settings []string) (map[string]any, error) {
	patch := map[string]any{}
	set := func(path []string, raw string) {
		m := patch
		for _, k := range path[:len(path)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[path[len(path)-1]] = scalar(raw)
	}
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("-p %q: want name=value", p)
		}
		set([]string{"postgresql", "parameters", strings.TrimSpace(k)}, v)
	}
	for _, s := range settings {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("-s %q: want key=value", s)
		}
		set(strings.Split(strings.TrimSpace(k), "."), v)
	}
	return patch, nil
}

func scalar(raw string) any {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "null" || raw == "~" {
		return nil
	}
	var v any
	if err := yaml.Unmarshal([]byte(raw), &v); err != nil {
		return raw
	}
	switch v.(type) {
	case bool, int, float64:
		return v
	}
	return raw
}

// configChanges lists what the patch changes in cur, as "key: old → new".
func configChanges(cur, patch map[string]any, prefix string) []string {
	var out []string
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := patch[k]
		old, had := cur[k]
		if sub, ok := v.(map[string]any); ok {
			oldSub, _ := old.(map[string]any)
			out = append(out, configChanges(oldSub, sub, prefix+k+".")...)
			continue
		}
		if had && fmt.Sprint(old) == fmt.Sprint(v) {
			continue
		}
		switch {
		case v == nil && !had:
		case v == nil:
			out = append(out, fmt.Sprintf("%s%s: %s → (removed)", prefix, k, show(old)))
		case !had:
			out = append(out, fmt.Sprintf("%s%s: (unset) → %s", prefix, k, show(v)))
		default:
			out = append(out, fmt.Sprintf("%s%s: %s → %s", prefix, k, show(old), show(v)))
		}
	}
	return out
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func paramNames(patch map[string]any) []string {
	pg, _ := patch["postgresql"].(map[string]any)
	params, _ := pg["parameters"].(map[string]any)
	var out []string
	for k := range params {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// reportPending waits for the members to take the change on their next
// loop and reports the parameters each holds pending a restart. It stops
// waiting early once every changed parameter is reported pending on every
// member.
func reportPending(c *cli.Context, cls *inventory.Cluster, changed []string, wait time.Duration, out io.Writer) error {
	if wait <= 0 || len(changed) == 0 {
		return nil
	}
	deadline := time.Now().Add(wait)
	pending := map[string][]string{}
	for {
		all := true
		for _, i := range cls.Instances {
			st, err := memberClient(i).Patroni(c.Context)
			if err != nil {
				all = false
				continue
			}
			var names []string
			for k := range st.PendingRestartReason {
				names = append(names, k)
			}
			sort.Strings(names)
			pending[i.Name] = names
			for _, k := range changed {
				if _, ok := st.PendingRestartReason[k]; !ok {
					all = false
				}
			}
		}
		if all || time.Now().After(deadline) {
			break
		}
		select {
		case <-c.Context.Done():
			return c.Context.Err()
		case <-time.After(time.Second):
		}
	}
	for _, i := range cls.Instances {
		if names := pending[i.Name]; len(names) > 0 {
			fmt.Fprintf(out, "%s: pending restart: %s (pigsty pg restart %s --pending)\n", i.Name, strings.Join(names, ", "), cls.Name)
		} else {
			fmt.Fprintf(out, "%s: nothing pending a restart\n", i.Name)
		}
	}
	return nil
}
