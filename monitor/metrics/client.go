package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Client talks to the store's HTTP API.
type Client struct {
	URL  string // e.g. http://127.0.0.1:8428
	HTTP *http.Client
}

// NewClient returns a client of the store at base that never goes through
// a proxy from the environment: the store is on the infra host.
func NewClient(base string) *Client {
	return &Client{URL: strings.TrimSuffix(base, "/"), HTTP: &http.Client{
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute},
		Timeout:   30 * time.Second,
	}}
}

// Sample is one series' value at one time.
type Sample struct {
	Labels map[string]string // with __name__ when the series has a name
	Value  float64
	Time   time.Time
}

// Name is the sample's metric name.
func (s Sample) Name() string { return s.Labels["__name__"] }

// Query evaluates a PromQL/MetricsQL expression at ts. It bypasses the
// store's result cache and latency offset: rule evaluation must see the
// newest samples.
func (c *Client) Query(ctx context.Context, expr string, ts time.Time) ([]Sample, error) {
	q := url.Values{}
	q.Set("query", expr)
	q.Set("time", strconv.FormatFloat(float64(ts.UnixMilli())/1000, 'f', 3, 64))
	q.Set("nocache", "1")
	q.Set("latency_offset", "1ms")
	var resp struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := c.get(ctx, "/api/v1/query?"+q.Encode(), &resp); err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("query %q: %s: %s", expr, resp.ErrorType, resp.Error)
	}
	switch resp.Data.ResultType {
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]json.RawMessage
		}
		if err := json.Unmarshal(resp.Data.Result, &vec); err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		out := make([]Sample, 0, len(vec))
		for _, v := range vec {
			s, err := point(v.Value)
			if err != nil {
				return nil, fmt.Errorf("query %q: %w", expr, err)
			}
			s.Labels = v.Metric
			out = append(out, s)
		}
		return out, nil
	case "scalar":
		var v [2]json.RawMessage
		if err := json.Unmarshal(resp.Data.Result, &v); err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		s, err := point(v)
		if err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		s.Labels = map[string]string{}
		return []Sample{s}, nil
	}
	return nil, fmt.Errorf("query %q: result type %q is not a vector", expr, resp.Data.ResultType)
}

// point decodes a [unix seconds, "value"] pair.
func point(p [2]json.RawMessage) (Sample, error) {
	var ts float64
	var val string
	if err := json.Unmarshal(p[0], &ts); err != nil {
		return Sample{}, fmt.Errorf("timestamp %s: %w", p[0], err)
	}
	if err := json.Unmarshal(p[1], &val); err != nil {
		return Sample{}, fmt.Errorf("value %s: %w", p[1], err)
	}
	v, err := strconv.ParseFloat(val, 64)
	if err != nil {
		return Sample{}, fmt.Errorf("value %q: %w", val, err)
	}
	return Sample{Value: v, Time: time.UnixMilli(int64(math.Round(ts * 1000)))}, nil
}

// Import writes samples into the store (its Prometheus text import). Each
// sample needs a __name__.
func (c *Client) Import(ctx context.Context, samples []Sample) error {
	if len(samples) == 0 {
		return nil
	}
	var b bytes.Buffer
	for _, s := range samples {
		if s.Name() == "" {
			return fmt.Errorf("import: a sample has no __name__: %v", s.Labels)
		}
		WriteSample(&b, s)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/api/v1/import/prometheus", &b)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("import %d samples: %w", len(samples), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("import %d samples: HTTP %d: %s", len(samples), resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

// WriteSample writes s in the Prometheus text format, with its timestamp
// in milliseconds and its labels in name order.
func WriteSample(b *bytes.Buffer, s Sample) {
	b.WriteString(s.Name())
	names := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		if k != "__name__" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	if len(names) > 0 {
		b.WriteByte('{')
		for i, k := range names {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k)
			b.WriteString(`="`)
			b.WriteString(escaper.Replace(s.Labels[k]))
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	switch {
	case math.IsNaN(s.Value):
		b.WriteString("NaN")
	case math.IsInf(s.Value, 1):
		b.WriteString("+Inf")
	case math.IsInf(s.Value, -1):
		b.WriteString("-Inf")
	default:
		b.WriteString(strconv.FormatFloat(s.Value, 'g', -1, 64))
	}
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(s.Time.UnixMilli(), 10))
	b.WriteByte('\n')
}

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// Healthy tells whether the store answers queries.
func (c *Client) Healthy(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("metrics store %s: %w", c.URL, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("metrics store %s: health: HTTP %d", c.URL, resp.StatusCode)
	}
	return nil
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
		}
		return err
	}
	return nil
}
