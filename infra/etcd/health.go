package etcd

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// client is the HTTP client of the health checks, trusting the CA of an
// https member. It never goes through a proxy from the environment: the
// endpoint is a member on this host or its network.
func client(tlsConfig *tls.Config) *http.Client {
	return &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true, TLSClientConfig: tlsConfig},
		Timeout:   10 * time.Second,
	}
}

// Healthy tells whether the member at endpoint (e.g.
// "http://127.0.0.1:2379") is ready for Patroni: /health says it has a
// leader and answers a linearizable read, and /version names a decided
// cluster version. The supervisor uses it for readiness; a member without
// quorum is unhealthy but must not be restarted for that.
func Healthy(ctx context.Context, endpoint string, tlsConfig *tls.Config) error {
	base := strings.TrimSuffix(endpoint, "/")
	var h struct {
		Health string `json:"health"`
		Reason string `json:"reason"`
	}
	code, err := getJSON(ctx, client(tlsConfig), base+"/health", &h)
	if err != nil {
		return err
	}
	if code != http.StatusOK || h.Health != "true" {
		return fmt.Errorf("etcd health %s: unhealthy (HTTP %d): %s", endpoint, code, h.Reason)
	}
	var v struct {
		Cluster string `json:"etcdcluster"`
	}
	if _, err := getJSON(ctx, client(tlsConfig), base+"/version", &v); err != nil {
		return err
	}
	if v.Cluster == "" || v.Cluster == "not_decided" {
		return fmt.Errorf("etcd health %s: cluster version not decided yet", endpoint)
	}
	return nil
}

// getJSON decodes the body whatever the status: /health explains itself
// in a 503 too.
func getJSON(ctx context.Context, hc *http.Client, url string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("etcd health: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("etcd health: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return 0, fmt.Errorf("etcd health: GET %s: %w", url, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return 0, fmt.Errorf("etcd health: GET %s: HTTP %d: %q", url, resp.StatusCode, body)
	}
	return resp.StatusCode, nil
}
