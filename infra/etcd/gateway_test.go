package etcd_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// The calls Patroni's etcd3 DCS makes, over the gRPC gateway's JSON API.

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func post(t *testing.T, ctx context.Context, url string, body any) map[string]any {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d: %s", url, resp.StatusCode, out)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("POST %s: %v: %s", url, err, out)
	}
	return m
}

func TestGatewayPatroniAPI(t *testing.T) {
	cfg := testConfig(t, filepath.Join(t.TempDir(), "data"))
	start(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	base := cfg.ClientURLs[0]

	resp, err := http.Get(base + "/version")
	if err != nil {
		t.Fatal(err)
	}
	var ver struct{ Etcdserver, Etcdcluster string }
	if err := json.NewDecoder(resp.Body).Decode(&ver); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Patroni picks /v3 for cluster versions >= 3.4 and parses each dotted
	// part with int().
	if ver.Etcdserver != "3.6.16" || ver.Etcdcluster != "3.6.0" {
		t.Errorf("/version = %+v", ver)
	}

	lease := post(t, ctx, base+"/v3/lease/grant", map[string]any{"TTL": 30})
	id, _ := lease["ID"].(string) // int64 as a JSON string
	if id == "" {
		t.Fatalf("lease/grant = %v", lease)
	}
	post(t, ctx, base+"/v3/lease/keepalive", map[string]any{"ID": id})

	key := "/pg/pg-test/leader"
	// Patroni takes the leader key with a create-only transaction.
	txn := post(t, ctx, base+"/v3/kv/txn", map[string]any{
		"compare": []map[string]any{{"target": "CREATE", "key": b64(key), "create_revision": "0"}},
		"success": []map[string]any{{"request_put": map[string]any{"key": b64(key), "value": b64("pg-test-1"), "lease": id}}},
	})
	if txn["succeeded"] != true {
		t.Fatalf("txn = %v", txn)
	}

	rng := post(t, ctx, base+"/v3/kv/range", map[string]any{"key": b64(key)})
	kvs, _ := rng["kvs"].([]any)
	if len(kvs) != 1 {
		t.Fatalf("range = %v", rng)
	}
	kv := kvs[0].(map[string]any)
	if kv["value"] != b64("pg-test-1") || kv["lease"] != id {
		t.Errorf("range kv = %v", kv)
	}

	// Patroni's cache watches the cluster prefix.
	w := gatewayWatch(t, ctx, base, "/pg/pg-test/")
	post(t, ctx, base+"/v3/kv/put", map[string]any{"key": b64("/pg/pg-test/config"), "value": b64("{}")})
	ev := w.next(t)
	if ev["key"] != b64("/pg/pg-test/config") {
		t.Errorf("watch event kv = %v", ev)
	}
}

type gwWatch struct {
	lines *bufio.Scanner
}

// gatewayWatch opens a /v3/watch stream on prefix and waits until the
// watch is created.
func gatewayWatch(t *testing.T, ctx context.Context, base, prefix string) *gwWatch {
	t.Helper()
	end := []byte(prefix)
	end[len(end)-1]++
	body, _ := json.Marshal(map[string]any{"create_request": map[string]any{"key": b64(prefix), "range_end": base64.StdEncoding.EncodeToString(end)}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v3/watch", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch: HTTP %d", resp.StatusCode)
	}
	w := &gwWatch{lines: bufio.NewScanner(resp.Body)}
	created := w.read(t)
	if created["created"] != true {
		t.Fatalf("watch create = %v", created)
	}
	return w
}

func (w *gwWatch) read(t *testing.T) map[string]any {
	t.Helper()
	if !w.lines.Scan() {
		t.Fatalf("watch stream ended: %v", w.lines.Err())
	}
	var msg struct {
		Result map[string]any `json:"result"`
	}
	if err := json.Unmarshal(w.lines.Bytes(), &msg); err != nil {
		t.Fatalf("watch: %v: %s", err, w.lines.Bytes())
	}
	return msg.Result
}

// next returns the kv of the next event.
func (w *gwWatch) next(t *testing.T) map[string]any {
	t.Helper()
	for {
		res := w.read(t)
		events, _ := res["events"].([]any)
		if len(events) > 0 {
			return events[0].(map[string]any)["kv"].(map[string]any)
		}
	}
}
