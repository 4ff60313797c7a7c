package pgexporter

import (
	"context"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"pigsty/monitor/collector"
)

// Handler serves pg_exporter's endpoints on its own mux:
//
//	/metrics                                   the scrape
//	/up /health /liveness /readiness /read      200 when the server is up, else 503
//	/primary /leader /master /read-write /rw    200 on a primary, 404 on a replica, 503 when down
//	/replica /standby /slave /read-only /ro     200 on a replica, 404 on a primary, 503 when down
//	/explain                                   which collectors run where, and why not
//	/stat                                      per-collector statistics
func (e *Exporter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		e.Scrape(r.Context()).ServeHTTP(w, r)
	})
	for _, p := range []string{"/up", "/health", "/liveness", "/readiness", "/read"} {
		mux.HandleFunc("GET "+p, e.roleCheck("primary", "replica"))
	}
	for _, p := range []string{"/primary", "/leader", "/master", "/read-write", "/rw"} {
		mux.HandleFunc("GET "+p, e.roleCheck("primary"))
	}
	for _, p := range []string{"/replica", "/standby", "/slave", "/read-only", "/ro"} {
		mux.HandleFunc("GET "+p, e.roleCheck("replica"))
	}
	mux.HandleFunc("GET /explain", e.explain)
	mux.HandleFunc("GET /stat", e.stat)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><body><h1>pg exporter</h1><a href=\"/metrics\">/metrics</a> <a href=\"/explain\">/explain</a> <a href=\"/stat\">/stat</a></body></html>\n")
	})
	return mux
}

// Role is the server's role as last seen: primary, replica or down. It
// probes the server when the last scrape or probe is older than a
// second, so that a storm of health checks costs the server at most one
// query a second.
func (e *Exporter) Role(ctx context.Context) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if time.Since(e.checked) < time.Second || e.closed {
		return e.role
	}
	e.checked = time.Now()
	if err := e.main.refresh(ctx, e.tags); err != nil {
		e.role = "down"
	} else if e.main.facts.Recovery {
		e.role = "replica"
	} else {
		e.role = "primary"
	}
	return e.role
}

func (e *Exporter) roleCheck(ok ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		role := e.Role(r.Context())
		switch {
		case role == "down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case role == ok[0] || len(ok) > 1 && role == ok[1]:
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
		fmt.Fprintln(w, role)
	}
}

func (e *Exporter) explain(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, s := range append([]*server{e.main}, e.discovered()...) {
		fmt.Fprintf(w, "# database %s (version %d, recovery %v, cluster level %v)\n", s.cfg.Database, s.facts.Version, s.facts.Recovery, s.cluster)
		if s.facts.Version == 0 {
			fmt.Fprintln(w, "not scraped yet")
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, d := range e.opt.Config.Explain(s.facts) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Branch.Key, d.Branch.Name, runs(d), d.Branch.Pos)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
}

func runs(d collector.Decision) string {
	if d.Run {
		return fmt.Sprintf("runs (ttl %s, timeout %s)", d.Branch.TTL, d.Branch.QueryTimeout())
	}
	return "skipped: " + d.Reason
}

func (e *Exporter) stat(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "datname\tquery\ttotal\thit\terror\tskip\tmetric\tttl/s\tduration/ms\t")
	for _, s := range append([]*server{e.main}, e.discovered()...) {
		for _, key := range s.run.Planned() {
			st, _ := s.run.Stats(key)
			b := e.opt.Config.Branch(key)
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%g\t%.3f\t\n", s.cfg.Database, key, st.Total, st.Hits, st.Errors, st.PredicateSkips, st.Metrics,
				b.TTL.Seconds(), float64(st.Duration.Microseconds())/1000)
		}
	}
	tw.Flush()
}
