package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Access is how a client reaches the cluster: its endpoints, the CA that
// signed the members' certificates (https), and the user it
// authenticates as once authentication is on.
type Access struct {
	Endpoints          []string
	CAFile             string // "" for plain http
	Username, Password string // "" while authentication is off
}

// TLS is the client TLS configuration, nil for plain http.
func (a Access) TLS() (*tls.Config, error) {
	if a.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(a.CAFile)
	if err != nil {
		return nil, fmt.Errorf("etcd: CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("etcd: %s holds no certificate", a.CAFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// Config is a clientv3 configuration for this access.
func (a Access) Config() (clientv3.Config, error) {
	if len(a.Endpoints) == 0 {
		return clientv3.Config{}, errors.New("etcd: no endpoints")
	}
	t, err := a.TLS()
	if err != nil {
		return clientv3.Config{}, err
	}
	return clientv3.Config{Endpoints: a.Endpoints, TLS: t, Username: a.Username, Password: a.Password, DialTimeout: 5 * time.Second,
		// A cut link leaves a connection that answers nothing: the pings find
		// it (no more often than etcd's 5 s keepalive floor allows).
		DialKeepAliveTime: 10 * time.Second, DialKeepAliveTimeout: 5 * time.Second}, nil
}

// Client connects a clientv3 client.
func (a Access) Client(ctx context.Context) (*clientv3.Client, error) {
	cfg, err := a.Config()
	if err != nil {
		return nil, err
	}
	cfg.Context = ctx
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd: connect %v: %w", a.Endpoints, err)
	}
	return cli, nil
}

// As is the same access for another user.
func (a Access) As(user, password string) Access {
	a.Username, a.Password = user, password
	return a
}
