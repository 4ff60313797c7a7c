package vmsingle

import (
	"net"
	"net/http"
	"strings"

	"github.com/VictoriaMetrics/VictoriaMetrics/app/vminsert"
	"github.com/VictoriaMetrics/VictoriaMetrics/app/vmselect"
	"github.com/VictoriaMetrics/VictoriaMetrics/app/vmstorage"
	"github.com/VictoriaMetrics/VictoriaMetrics/lib/appmetrics"
)

// newHandler serves VictoriaMetrics' own API without its HTTP server,
// whose built-in routes (pprof, flags) need no authentication. Anyone who
// reaches the port may read (query, export, targets, the UI); writes,
// deletions, snapshots and reloads are taken only from this host: its
// listen addresses and loopback.
func newHandler(listen []string) http.Handler {
	local := map[string]bool{}
	for _, a := range listen {
		if host, _, err := net.SplitHostPort(a); err == nil {
			local[host] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.ReplaceAll(r.URL.Path, "//", "/")
		switch {
		case path == "/health" || path == "/-/healthy" || path == "/-/ready":
			w.Write([]byte("OK"))
			return
		case path == "/metrics":
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			appmetrics.WritePrometheusMetrics(w)
			return
		case strings.HasPrefix(path, "/debug/") || path == "/flags":
			http.NotFound(w, r)
			return
		case !readOnly(path) && !fromHere(r, local):
			http.Error(w, "writes are accepted from the infra host only", http.StatusForbidden)
			return
		}
		if vminsert.RequestHandler(w, r) || vmselect.RequestHandler(w, r) || vmstorage.RequestHandler(w, r) {
			return
		}
		http.NotFound(w, r)
	})
}

// readPrefixes are the read-only routes (Prometheus' API, export, the
// scrape targets, the UI), also under VictoriaMetrics' /prometheus prefix.
var readPrefixes = []string{
	"/api/v1/query", "/api/v1/series", "/api/v1/labels", "/api/v1/label/", "/api/v1/status/",
	"/api/v1/metadata", "/api/v1/export", "/api/v1/targets", "/api/v1/rules", "/api/v1/alerts",
	"/api/v1/format_query", "/federate", "/targets", "/service-discovery", "/vmui", "/graph",
	"/static", "/favicon.ico", "/expand-with-exprs", "/prettify-query", "/metric-relabel-debug",
	"/target-relabel-debug",
}

func readOnly(path string) bool {
	path = strings.TrimPrefix(path, "/prometheus")
	if path == "/" || path == "" {
		return true
	}
	for _, p := range readPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func fromHere(r *http.Request, local map[string]bool) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || local[ip.String()])
}
