package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Notifier posts alerts to a webhook in Alertmanager's webhook format
// (version 4), so that receivers written for Alertmanager work as they
// are: one request with the firing alerts, one with the resolved.
type Notifier struct {
	HTTP *http.Client
}

// NewNotifier returns a notifier with a 10 s timeout.
func NewNotifier() *Notifier {
	return &Notifier{HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// Message is the body of one webhook request.
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"` // firing | resolved
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Notification    `json:"alerts"`
}

// Notification is one alert of a Message.
type Notification struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Send posts the alerts, firing and resolved in a request each.
func (n *Notifier) Send(ctx context.Context, url string, alerts []Alert) error {
	for _, status := range []State{Firing, Resolved} {
		var batch []Notification
		for _, a := range alerts {
			if a.State != status {
				continue
			}
			nt := Notification{Status: string(status), Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.FiredAt, Fingerprint: a.Fingerprint}
			if nt.StartsAt.IsZero() {
				nt.StartsAt = a.ActiveAt
			}
			if status == Resolved {
				nt.EndsAt = a.ResolvedAt
			}
			batch = append(batch, nt)
		}
		if len(batch) == 0 {
			continue
		}
		slices.SortFunc(batch, func(a, b Notification) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
		if err := n.post(ctx, url, message(string(status), batch)); err != nil {
			return err
		}
	}
	return nil
}

func message(status string, alerts []Notification) Message {
	common := func(get func(Notification) map[string]string) map[string]string {
		out := maps.Clone(get(alerts[0]))
		for _, a := range alerts[1:] {
			m := get(a)
			for k, v := range out {
				if m[k] != v {
					delete(out, k)
				}
			}
		}
		return out
	}
	return Message{
		Version: "4", GroupKey: "{}:{}", Status: status, Receiver: "pigsty", GroupLabels: map[string]string{},
		CommonLabels:      common(func(n Notification) map[string]string { return n.Labels }),
		CommonAnnotations: common(func(n Notification) map[string]string { return n.Annotations }),
		Alerts:            alerts,
	}
}

func (n *Notifier) post(ctx context.Context, url string, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s: HTTP %d: %s", req.URL.Redacted(), resp.StatusCode, bytes.TrimSpace(text))
	}
	return nil
}
