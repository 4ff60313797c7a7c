package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"sync"
	"time"

	"pigsty/monitor/metrics"
	"pigsty/monitor/rules"
)

// DefaultInterval is how often a group without its own interval is
// evaluated: Pigsty's vmalert evaluates every 10 s.
const DefaultInterval = 10 * time.Second

// Store is the metrics store: rules query it and recording rules write
// to it.
type Store interface {
	Query(ctx context.Context, expr string, ts time.Time) ([]metrics.Sample, error)
	Import(ctx context.Context, samples []metrics.Sample) error
}

// StateStore keeps the alerts across restarts; the value is opaque.
type StateStore interface {
	LoadAlerts(ctx context.Context) ([]byte, error) // nil when nothing was saved
	SaveAlerts(ctx context.Context, state []byte) error
}

// Evaluator evaluates rule groups. Set the fields, then Run.
type Evaluator struct {
	Groups   []rules.Group
	Interval time.Duration // for groups without one; DefaultInterval when 0
	Store    Store
	State    StateStore
	// Webhook returns where to post notifications, "" for nowhere. It is
	// asked before every delivery, so a change of the desired state
	// applies at once.
	Webhook func() string
	Notify  *Notifier
	Log     *slog.Logger

	mu      sync.Mutex
	alerts  map[string]*Alert // by fingerprint
	health  map[*rules.Rule]*ruleHealth
	groups  map[string]*groupHealth
	dirty   bool // alerts changed since the last save
	wake    chan struct{}
	running bool
}

type ruleHealth struct {
	LastEval time.Time
	Duration time.Duration
	Err      string
}

type groupHealth struct {
	LastEval time.Time
	Duration time.Duration
	Failed   int    // rules that failed, and the write of the recorded series
	FirstErr string // the first of those errors
}

// Run loads the saved alerts and evaluates every group on its interval
// until ctx ends; it saves the alerts before it returns.
func (e *Evaluator) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.running {
		e.mu.Unlock()
		return errors.New("alert: evaluator already running")
	}
	e.running = true
	e.alerts, e.health, e.groups = map[string]*Alert{}, map[*rules.Rule]*ruleHealth{}, map[string]*groupHealth{}
	e.wake = make(chan struct{}, 1)
	e.mu.Unlock()
	if e.Log == nil {
		e.Log = slog.Default()
	}
	if e.Notify == nil {
		e.Notify = NewNotifier()
	}
	e.restore(ctx)

	var wg sync.WaitGroup
	for i := range e.Groups {
		g := &e.Groups[i]
		wg.Go(func() { e.loop(ctx, g) })
	}
	wg.Go(func() { e.deliver(ctx) })
	wg.Wait()
	save, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	e.save(save)
	return nil
}

// restore loads the saved alerts. Alerts of rules that are gone resolve.
func (e *Evaluator) restore(ctx context.Context) {
	var data []byte
	var err error
	for attempt := 0; ; attempt++ {
		if data, err = e.State.LoadAlerts(ctx); err == nil || attempt == 10 || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		e.Log.Warn("alert state not loaded: alerts start afresh", "err", err)
		return
	}
	if data == nil {
		return
	}
	var saved []*Alert
	if err := json.Unmarshal(data, &saved); err != nil {
		e.Log.Warn("alert state unreadable: alerts start afresh", "err", err)
		return
	}
	known := map[[2]string]bool{}
	for _, g := range e.Groups {
		for _, r := range g.Rules {
			known[[2]string{g.Name, r.Alert}] = true
		}
	}
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range saved {
		a.Value = math.NaN()
		if !known[[2]string{a.Group, a.Name}] {
			switch a.State {
			case Pending:
				continue
			case Firing:
				a.State, a.ResolvedAt = Resolved, now
				e.dirty = true
			}
		}
		e.alerts[a.Fingerprint] = a
	}
	e.Log.Info("alert state restored", "alerts", len(e.alerts))
}

func (e *Evaluator) loop(ctx context.Context, g *rules.Group) {
	every := g.Interval
	if every <= 0 {
		every = e.Interval
	}
	if every <= 0 {
		every = DefaultInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		e.evalGroup(ctx, g, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// evalGroup evaluates the group's rules in order at ts and writes what
// its recording rules produced. A rule whose query fails leaves its
// alerts as they were.
func (e *Evaluator) evalGroup(ctx context.Context, g *rules.Group, ts time.Time) {
	ts = ts.Truncate(time.Millisecond)
	start := time.Now()
	var recorded []metrics.Sample
	failed, firstErr := 0, ""
	for _, r := range g.Rules {
		if ctx.Err() != nil {
			return
		}
		qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		t0 := time.Now()
		res, err := e.Store.Query(qctx, r.Expr, ts)
		cancel()
		h := ruleHealth{LastEval: ts, Duration: time.Since(t0)}
		if err != nil {
			h.Err = err.Error()
		} else if r.IsAlert() {
			if err := e.apply(g.Name, r, res, ts); err != nil {
				h.Err = err.Error()
			}
		} else {
			for _, s := range res {
				recorded = append(recorded, metrics.Sample{Labels: r.SeriesLabels(s.Labels), Value: s.Value, Time: ts})
			}
		}
		if h.Err != "" {
			if failed++; firstErr == "" {
				firstErr = r.Name() + ": " + h.Err
			}
		}
		e.mu.Lock()
		e.health[r] = &h
		e.mu.Unlock()
	}
	if err := e.Store.Import(ctx, recorded); err != nil && ctx.Err() == nil {
		failed, firstErr = failed+1, "writing recorded series: "+err.Error()
	}
	e.mu.Lock()
	prev := e.groups[g.Name]
	e.groups[g.Name] = &groupHealth{LastEval: ts, Duration: time.Since(start), Failed: failed, FirstErr: firstErr}
	e.mu.Unlock()
	// One line when a group starts or stops failing, not one per rule and
	// evaluation: the store being down fails every rule.
	switch {
	case failed > 0 && (prev == nil || prev.Failed != failed):
		e.Log.Warn("rule evaluation failed", "group", g.Name, "failed", failed, "rules", len(g.Rules), "first", firstErr)
	case failed == 0 && prev != nil && prev.Failed > 0:
		e.Log.Info("rule evaluation ok again", "group", g.Name)
	}
}

// apply moves the rule's alerts on from its result at ts.
func (e *Evaluator) apply(group string, r *rules.Rule, res []metrics.Sample, ts time.Time) error {
	type result struct {
		labels, annotations map[string]string
		value               float64
	}
	current := map[string]result{}
	var errs []error
	for _, s := range res {
		labels, ann, err := r.Expand(s.Labels, s.Value)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		current[fingerprint(labels)] = result{labels, ann, s.Value}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	changed := false
	for fp, c := range current {
		a := e.alerts[fp]
		if a == nil || a.State == Resolved {
			a = &Alert{Fingerprint: fp, Group: group, Name: r.Alert, Labels: c.labels, State: Pending, ActiveAt: ts}
			e.alerts[fp] = a
			changed = true
		}
		a.Value, a.Annotations = c.value, c.annotations
		if a.State == Pending && ts.Sub(a.ActiveAt) >= r.For {
			a.State, a.FiredAt = Firing, ts
			changed = true
			e.Log.Warn("alert firing", "alert", r.Alert, "cls", a.Labels["cls"], "ins", a.Labels["ins"], "summary", a.Annotations["summary"])
		}
	}
	for fp, a := range e.alerts {
		if a.Group != group || a.Name != r.Alert || a.State == Resolved {
			continue
		}
		if _, ok := current[fp]; ok {
			continue
		}
		changed = true
		if a.State == Pending {
			delete(e.alerts, fp)
			continue
		}
		a.State, a.ResolvedAt = Resolved, ts
		e.Log.Info("alert resolved", "alert", r.Alert, "cls", a.Labels["cls"], "ins", a.Labels["ins"])
	}
	if changed {
		e.dirty = true
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
	return errors.Join(errs...)
}

// deliver posts firing and resolved alerts the webhook has not heard of
// and saves the alerts when they changed: at once after a change, and
// every Interval to retry what failed.
func (e *Evaluator) deliver(ctx context.Context) {
	every := e.Interval
	if every <= 0 {
		every = DefaultInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-t.C:
		}
		if err := e.notify(ctx); err != nil {
			if err.Error() != lastErr {
				e.Log.Warn("alert webhook failed; retrying", "err", err)
			}
			lastErr = err.Error()
		} else if lastErr != "" {
			e.Log.Info("alert webhook delivered again")
			lastErr = ""
		}
		e.save(ctx)
	}
}

// notify sends what changed; delivered alerts are marked, delivered
// resolved ones forgotten. Without a webhook, resolved alerts are
// forgotten at once and firing ones wait for one.
func (e *Evaluator) notify(ctx context.Context) error {
	url := ""
	if e.Webhook != nil {
		url = e.Webhook()
	}
	e.mu.Lock()
	var todo []Alert
	for fp, a := range e.alerts {
		switch {
		case a.State == Resolved && (url == "" || a.Sent != Firing):
			// nobody was told it fired: nobody needs to hear it ended
			delete(e.alerts, fp)
			e.dirty = true
		case a.State == Pending || a.State == a.Sent || url == "":
		default:
			c := *a
			c.Labels, c.Annotations = maps.Clone(a.Labels), maps.Clone(a.Annotations)
			todo = append(todo, c)
		}
	}
	e.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	if err := e.Notify.Send(ctx, url, todo); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, sent := range todo {
		a := e.alerts[sent.Fingerprint]
		if a == nil || a.State != sent.State || !a.ActiveAt.Equal(sent.ActiveAt) {
			continue
		}
		a.Sent = sent.State
		if a.State == Resolved {
			delete(e.alerts, sent.Fingerprint)
		}
		e.dirty = true
	}
	return nil
}

func (e *Evaluator) save(ctx context.Context) {
	e.mu.Lock()
	if !e.dirty {
		e.mu.Unlock()
		return
	}
	list := make([]*Alert, 0, len(e.alerts))
	for _, a := range e.alerts {
		c := *a
		list = append(list, &c)
	}
	e.dirty = false
	e.mu.Unlock()
	data, err := json.Marshal(list)
	if err == nil {
		err = e.State.SaveAlerts(ctx, data)
	}
	if err != nil {
		e.mu.Lock()
		e.dirty = true
		e.mu.Unlock()
		if ctx.Err() == nil {
			e.Log.Warn("alert state not saved", "err", fmt.Errorf("alert: %w", err))
		}
	}
}
