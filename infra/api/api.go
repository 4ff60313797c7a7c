// Package api is the infra host's HTTP API (port 9060, see Port): one
// server on the infra host's address to which features add their routes
// – today the metrics store's target discovery, the alerts and the rules.
// It only reads: changes go through the desired state in etcd.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Port is the API's port. Pigsty has no equivalent; 9060 is free in its
// port table (9059 alertmanager, 9100/9101 node and HAProxy, 9630/9631
// exporters, 8428 the metrics store, 8880 vmalert).
const Port = 9060

// Server routes requests to the features' handlers.
type Server struct {
	mux *http.ServeMux
	log *slog.Logger
}

// New returns a server without routes.
func New(log *slog.Logger) *Server { return &Server{mux: http.NewServeMux(), log: log} }

// Handle adds a route; pattern is net/http's ("GET /api/v1/alerts").
// Routes may be added while the server serves.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Serve listens on every address, then serves in the background until
// ctx ends. A port that cannot be bound is an error at once; later
// failures are logged.
func (s *Server) Serve(ctx context.Context, addrs ...string) error {
	var lns []net.Listener
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("api: listen %s: %w", a, err)
		}
		lns = append(lns, ln)
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	for _, ln := range lns {
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("api: serve", "addr", ln.Addr().String(), "err", err)
			}
		}()
	}
	s.log.Info("infra API listening", "addr", addrs)
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	return nil
}

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
