package patroni

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Client talks to one member's Patroni REST API.
type Client struct {
	base           string // scheme://host:port
	user, password string
	http           *http.Client
}

// How long a call may take when the caller's context allows longer. A
// switchover waits for the new leader (Patroni polls for up to
// 2 × max(10 s, loop_wait)); a restart waits for postgres to come up.
const (
	queryTimeout      = 5 * time.Second
	actionTimeout     = 30 * time.Second
	leaderTimeout     = 2 * time.Minute
	restartTimeout    = 5 * time.Minute
	maxResponseLength = 4 << 20
	maxErrorBody      = 512
)

// NewClient is a client of the REST API at addr ("host:port", or a URL
// with scheme). user and password are Patroni's restapi.authentication,
// sent with the unsafe calls only. A nil tlsConfig means plain HTTP.
func NewClient(addr string, user, password string, tlsConfig *tls.Config) *Client {
	base := strings.TrimSuffix(addr, "/")
	if !strings.Contains(base, "://") {
		scheme := "http"
		if tlsConfig != nil {
			scheme = "https"
		}
		base = scheme + "://" + base
	}
	transport := &http.Transport{
		// The agent talks to members directly: an HTTP proxy from the
		// environment must never sit between it and a failover.
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: 3 * time.Second,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{base: base, user: user, password: password, http: &http.Client{Transport: transport}}
}

// Error is a response Patroni answered with a status the call did not
// expect; Body is the start of what Patroni said, which names the reason
// ("candidate name does not match with sync_standby", …).
type Error struct {
	Method, Path string
	StatusCode   int
	Body         string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("patroni %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// request is one call: method and path, an optional JSON body, the
// statuses that mean success and how long it may take.
type request struct {
	method, path string
	body         any
	ok           []int
	timeout      time.Duration
}

// do performs r and returns the response body of a successful call.
func (c *Client) do(ctx context.Context, r request) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()

	var body io.Reader
	if r.body != nil {
		data, err := json.Marshal(r.body)
		if err != nil {
			return 0, nil, fmt.Errorf("patroni %s %s: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.base+r.path, body)
	if err != nil {
		return 0, nil, fmt.Errorf("patroni %s %s: %w", r.method, r.path, err)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if unsafe(r.method) && c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("patroni %s %s: %w", r.method, c.base+r.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseLength))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("patroni %s %s: reading the response: %w", r.method, r.path, err)
	}
	if r.ok != nil && !slices.Contains(r.ok, resp.StatusCode) {
		return resp.StatusCode, data, &Error{Method: r.method, Path: r.path, StatusCode: resp.StatusCode, Body: clip(data)}
	}
	return resp.StatusCode, data, nil
}

// getJSON decodes the answer of a GET into v.
func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	_, data, err := c.do(ctx, request{method: http.MethodGet, path: path, ok: []int{http.StatusOK}, timeout: queryTimeout})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("patroni GET %s: %w: %s", path, err, clip(data))
	}
	return nil
}

// Check asks a health-check endpoint (/primary, /replica, /read-only,
// /health, /sync, …, with a query string if wanted) and returns its status
// code: 200 when the member is what the path asks, 503 when it is not. It
// uses OPTIONS, as HAProxy does, so Patroni sends no status document.
func (c *Client) Check(ctx context.Context, path string) (int, error) {
	if !strings.HasPrefix(path, "/") {
		return 0, fmt.Errorf("patroni OPTIONS %q: the path must start with /", path)
	}
	code, _, err := c.do(ctx, request{method: http.MethodOptions, path: path, timeout: queryTimeout})
	return code, err
}

func unsafe(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// clip keeps error messages readable when Patroni answers with a page.
func clip(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > maxErrorBody {
		s = s[:maxErrorBody] + "…"
	}
	return s
}
