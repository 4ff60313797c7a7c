package alert

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// APIAlert is an alert as Prometheus' /api/v1/alerts shows it.
type APIAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    time.Time         `json:"activeAt"`
	Value       string            `json:"value"`
}

// APIRule is a rule as Prometheus' /api/v1/rules shows it.
type APIRule struct {
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Duration       float64           `json:"duration,omitempty"` // for, in seconds
	Labels         map[string]string `json:"labels,omitempty"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	Alerts         []APIAlert        `json:"alerts,omitempty"`
	State          string            `json:"state,omitempty"` // alerting rules: inactive, pending or firing
	Health         string            `json:"health"`          // ok, err or unknown
	LastError      string            `json:"lastError,omitempty"`
	Type           string            `json:"type"` // alerting | recording
	LastEvaluation time.Time         `json:"lastEvaluation"`
	EvaluationTime float64           `json:"evaluationTime"`
}

// APIGroup is a group of /api/v1/rules.
type APIGroup struct {
	Name           string    `json:"name"`
	File           string    `json:"file"`
	Interval       float64   `json:"interval"`
	Rules          []APIRule `json:"rules"`
	LastEvaluation time.Time `json:"lastEvaluation"`
	EvaluationTime float64   `json:"evaluationTime"`
}

// Alerts lists the pending and firing alerts, firing first, then by name
// and instance.
func (e *Evaluator) Alerts() []APIAlert {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []APIAlert
	for _, a := range e.alerts {
		if a.State == Resolved {
			continue
		}
		out = append(out, apiAlert(a))
	}
	slices.SortFunc(out, func(a, b APIAlert) int {
		if a.State != b.State {
			return strings.Compare(a.State, b.State) // firing < pending
		}
		if c := strings.Compare(a.Labels["alertname"], b.Labels["alertname"]); c != 0 {
			return c
		}
		return strings.Compare(a.Labels["ins"], b.Labels["ins"])
	})
	return out
}

func apiAlert(a *Alert) APIAlert {
	return APIAlert{Labels: a.Labels, Annotations: a.Annotations, State: string(a.State), ActiveAt: a.ActiveAt,
		Value: strconv.FormatFloat(a.Value, 'e', -1, 64)}
}

// Rules describes every group and rule with its health and alerts.
func (e *Evaluator) Rules() []APIGroup {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]APIGroup, 0, len(e.Groups))
	for _, g := range e.Groups {
		every := g.Interval
		if every <= 0 {
			every = e.Interval
		}
		if every <= 0 {
			every = DefaultInterval
		}
		ag := APIGroup{Name: g.Name, File: g.File, Interval: every.Seconds(), Rules: []APIRule{}}
		if h := e.groups[g.Name]; h != nil {
			ag.LastEvaluation, ag.EvaluationTime = h.LastEval, h.Duration.Seconds()
		}
		for _, r := range g.Rules {
			ar := APIRule{Name: r.Name(), Query: r.Expr, Labels: r.Labels, Health: "unknown", Type: "recording"}
			if h := e.health[r]; h != nil {
				ar.LastEvaluation, ar.EvaluationTime, ar.Health = h.LastEval, h.Duration.Seconds(), "ok"
				if h.Err != "" {
					ar.Health, ar.LastError = "err", h.Err
				}
			}
			if r.IsAlert() {
				ar.Type, ar.Duration, ar.Annotations, ar.State = "alerting", r.For.Seconds(), r.Annotations, "inactive"
				for _, a := range e.alerts {
					if a.Group != g.Name || a.Name != r.Alert || a.State == Resolved {
						continue
					}
					ar.Alerts = append(ar.Alerts, apiAlert(a))
					if a.State == Firing || ar.State == "inactive" {
						ar.State = string(a.State)
					}
				}
			}
			ag.Rules = append(ag.Rules, ar)
		}
		out = append(out, ag)
	}
	return out
}

// AlertsHandler serves GET /api/v1/alerts as Prometheus does.
func (e *Evaluator) AlertsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		alerts := e.Alerts()
		if alerts == nil {
			alerts = []APIAlert{}
		}
		writeData(w, map[string]any{"alerts": alerts})
	})
}

// RulesHandler serves GET /api/v1/rules as Prometheus does; ?type=alert
// or ?type=record filters.
func (e *Evaluator) RulesHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		groups := e.Rules()
		if t := r.URL.Query().Get("type"); t == "alert" || t == "record" {
			want := map[string]string{"alert": "alerting", "record": "recording"}[t]
			for i := range groups {
				groups[i].Rules = slices.DeleteFunc(groups[i].Rules, func(r APIRule) bool { return r.Type != want })
			}
		}
		writeData(w, map[string]any{"groups": groups})
	})
}

func writeData(w http.ResponseWriter, data any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": data})
}
