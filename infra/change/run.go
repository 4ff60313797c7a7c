package change

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"pigsty/infra/store"
	"pigsty/node/agent"
	"pigsty/node/dbsu"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// Result is what a change did: the revision stored and each instance's
// report of it.
type Result struct {
	Revision  int64                   `json:"revision"`
	Stored    bool                    `json:"stored"` // false: nothing to change
	Instances map[string]store.Status `json:"instances,omitempty"`
	// PendingRestart are the settings each local instance applies only
	// when restarted.
	PendingRestart map[string][]string `json:"pending_restart,omitempty"`
}

// Apply stores the plan's desired state and waits until every instance of
// the plan reports it, printing a line per instance on progress. It
// returns an error naming each instance that failed and where.
func Apply(ctx context.Context, st *store.Store, p *Plan, timeout time.Duration, progress io.Writer) (Result, error) {
	if p.Empty() && p.Unchanged {
		return Result{Revision: p.Stored}, nil
	}
	d := p.Desired
	if p.Unchanged {
		// the live state drifted: a new revision makes the agents act
		d.Confirmed = append(d.Confirmed, reconcile())
	}
	rev, _, err := st.Put(ctx, d, p.Request.By)
	if err != nil {
		return Result{}, err
	}
	fmt.Fprintf(progress, "desired state stored: revision %d\n", rev)
	res := Result{Revision: rev, Stored: true, Instances: map[string]store.Status{}, PendingRestart: map[string][]string{}}
	var names []string
	for _, i := range p.Instances {
		names = append(names, i.Name)
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	statuses, err := waitEach(wctx, st, names, rev, func(s store.Status) {
		fmt.Fprintf(progress, "    %s\n", statusLine(s))
	})
	res.Instances = statuses
	if err != nil {
		return res, fmt.Errorf("%w (see pigsty status and the agent's log)", err)
	}
	var failed []string
	for _, name := range names {
		if s := statuses[name]; !s.OK {
			failed = append(failed, fmt.Sprintf("%s failed in %s: %s", name, s.Phase, s.Error))
		}
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("%s", strings.Join(failed, "\n"))
	}
	for _, i := range p.Instances {
		if !i.Local {
			continue
		}
		inst := p.instance(i.Name)
		if inst == nil || !exists(layout.New(p.Request.Root, inst).Data()) {
			continue
		}
		r, err := agent.DBSU(ctx, p.Request.Exe, inst, layout.New(p.Request.Root, inst), dbsu.Request{Facts: true}, nil)
		if err == nil && len(r.Facts.PendingRestart) > 0 {
			res.PendingRestart[i.Name] = r.Facts.PendingRestart
		}
	}
	return res, nil
}

// waitEach waits until every instance reported revision rev or later,
// calling report once per instance as its status arrives.
func waitEach(ctx context.Context, st *store.Store, names []string, rev int64, report func(store.Status)) (map[string]store.Status, error) {
	got := map[string]store.Status{}
	for {
		all, err := st.Statuses(ctx)
		if err == nil {
			for _, s := range all {
				if _, seen := got[s.Instance]; seen || s.Revision < rev || !contains(names, s.Instance) {
					continue
				}
				got[s.Instance] = s
				report(s)
			}
			if len(got) == len(names) {
				return got, nil
			}
		}
		select {
		case <-ctx.Done():
			var behind []string
			for _, n := range names {
				if _, ok := got[n]; !ok {
					behind = append(behind, n)
				}
			}
			sort.Strings(behind)
			return got, fmt.Errorf("%s did not report revision %d in time", strings.Join(behind, ", "), rev)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// statusLine is one instance's report, for the progress output.
func statusLine(s store.Status) string {
	if !s.OK {
		return fmt.Sprintf("%s: failed in %s: %s", s.Instance, s.Phase, s.Error)
	}
	var sql, files, other int
	for _, c := range s.Changes {
		switch {
		case strings.HasPrefix(c, "sql "):
			sql++
		case strings.HasPrefix(c, "file "), strings.HasPrefix(c, "remove "):
			files++
		default:
			other++
		}
	}
	if sql+files+other == 0 {
		return fmt.Sprintf("%s: %s at revision %d, nothing changed", s.Instance, s.Phase, s.Revision)
	}
	out := fmt.Sprintf("%s: %s at revision %d: %d SQL statements, %d files", s.Instance, s.Phase, s.Revision, sql, files)
	if other > 0 {
		out += fmt.Sprintf(", %d other changes", other)
	}
	return out
}

func (p *Plan) instance(name string) *inventory.Instance {
	for _, i := range p.inventory.Instances() {
		if i.Name == name {
			return i
		}
	}
	return nil
}
