package join

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Serve runs the trust port until ctx ends: /get over plain HTTP, and the
// join API plus /get over HTTPS with cert (the infra host's certificate).
func (s *Server) Serve(ctx context.Context, addr string, cert tls.Certificate) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("join: listen %s: %w", addr, err)
	}
	plain, secure := Split(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	get := GetHandler()
	api := http.NewServeMux()
	api.Handle("/v1/", s.Handler())
	api.Handle("/get", get)
	api.Handle("/get/", get)
	servers := []*http.Server{
		{Handler: get, ReadHeaderTimeout: 10 * time.Second},
		{Handler: api, ReadHeaderTimeout: 10 * time.Second},
	}
	errc := make(chan error, 2)
	go func() { errc <- servers[0].Serve(plain) }()
	go func() { errc <- servers[1].Serve(secure) }()
	s.Log.Info("trust port listening", "addr", addr)
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(shut)
	}
	ln.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("join: serve %s: %w", addr, err)
	}
	return nil
}
