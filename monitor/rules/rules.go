// Package rules reads recording and alert rules in Prometheus' rule file
// format (groups of rules with record or alert, expr, for, labels and
// annotations), checks every expression with the MetricsQL parser and
// every template with text/template, and expands an alert's labels and
// annotations for one result series. Evaluating them is package alert's
// job.
package rules

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"text/template"
	"time"
)

// Group is a named list of rules evaluated in order, every Interval.
type Group struct {
	Name     string
	File     string        // the file it came from
	Interval time.Duration // 0: the evaluator's default
	Rules    []*Rule
}

// Rule is one recording rule (Record is set) or alerting rule (Alert).
type Rule struct {
	Record      string
	Alert       string
	Expr        string
	For         time.Duration // how long a result must persist before it fires
	Labels      map[string]string
	Annotations map[string]string
	Pos         string // file:line, for messages

	labels, annotations map[string]*template.Template
}

// Name is the series written or the alert raised.
func (r *Rule) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

// IsAlert tells an alerting rule from a recording rule.
func (r *Rule) IsAlert() bool { return r.Alert != "" }

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// templateHeader gives templates Prometheus' variables: $labels (the
// alert's labels) and $value (the result's value).
const templateHeader = "{{$labels := .Labels}}{{$value := .Value}}"

type templateData struct {
	Labels map[string]string
	Value  float64
}

func parseTemplate(name, text string) (*template.Template, error) {
	return template.New(name).Option("missingkey=zero").Parse(templateHeader + text)
}

// Expand returns the labels and annotations of the alert raised for a
// result series with these labels and value: the series' labels without
// __name__, the rule's labels (expanded) over them, and alertname.
func (r *Rule) Expand(series map[string]string, value float64) (labels, annotations map[string]string, err error) {
	labels = make(map[string]string, len(series)+len(r.Labels)+1)
	for k, v := range series {
		if k != "__name__" {
			labels[k] = v
		}
	}
	data := templateData{Labels: maps.Clone(labels), Value: value}
	for k, t := range r.labels {
		if labels[k], err = execute(t, data); err != nil {
			return nil, nil, fmt.Errorf("%s: label %s: %w", r.Name(), k, err)
		}
	}
	labels["alertname"] = r.Alert
	data.Labels = labels
	annotations = make(map[string]string, len(r.annotations))
	for k, t := range r.annotations {
		if annotations[k], err = execute(t, data); err != nil {
			return nil, nil, fmt.Errorf("%s: annotation %s: %w", r.Name(), k, err)
		}
	}
	return labels, annotations, nil
}

// SeriesLabels are the labels of the series a recording rule writes for
// a result series: its labels with the rule's over them, named Record.
func (r *Rule) SeriesLabels(series map[string]string) map[string]string {
	out := make(map[string]string, len(series)+len(r.Labels)+1)
	maps.Copy(out, series)
	maps.Copy(out, r.Labels)
	out["__name__"] = r.Record
	return out
}

func execute(t *template.Template, data templateData) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}
