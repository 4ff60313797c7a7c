package join

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"pigsty/infra/pki"
	"pigsty/pgsql/inventory"
)

// Request is what a joining host sends.
type Request struct {
	IP       string `json:"ip"`       // its address in the inventory
	Hostname string `json:"hostname"` // for the certificate and logs
	CSR      []byte `json:"csr"`      // PEM certificate request for its key
}

// Bundle is what a joined host receives.
type Bundle struct {
	CA   []byte   `json:"ca"`   // PEM
	Cert []byte   `json:"cert"` // PEM: server and client certificate of the host
	Etcd []string `json:"etcd"` // client endpoints of the DCS
	// EtcdPassword is the agents' etcd password.
	EtcdPassword string `json:"etcd_password"`
}

// Server answers joins on the infra host.
type Server struct {
	CA     *pki.CA
	Secret string
	// EtcdPassword is the agents' etcd password, handed to joined hosts.
	EtcdPassword string
	// Desired returns the desired inventory: a host may join only if it
	// is in it.
	Desired func(ctx context.Context) (*inventory.Inventory, error)
	Log     *slog.Logger
}

// Handler serves GET /v1/ca (public) and POST /v1/join (with the secret).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ca", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(s.CA.PEM)
	})
	mux.HandleFunc("POST /v1/join", s.join)
	return mux
}

func (s *Server) join(w http.ResponseWriter, r *http.Request) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !sameSecret(secret, s.Secret) {
		s.Log.Warn("join refused: bad token", "from", r.RemoteAddr)
		http.Error(w, "bad join token", http.StatusUnauthorized)
		return
	}
	var req Request
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	b, status, err := s.issue(r.Context(), req)
	if err != nil {
		s.Log.Warn("join refused", "ip", req.IP, "from", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), status)
		return
	}
	s.Log.Info("host joined", "ip", req.IP, "hostname", req.Hostname)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(b)
}

// issue signs the host's request: CN is its instance name when it runs
// one (PostgreSQL's certificate, as Pigsty's), else its address.
func (s *Server) issue(ctx context.Context, req Request) (Bundle, int, error) {
	inv, err := s.Desired(ctx)
	if err != nil {
		return Bundle{}, http.StatusServiceUnavailable, fmt.Errorf("no desired state: %w", err)
	}
	h := inv.Host(req.IP)
	if h == nil {
		return Bundle{}, http.StatusForbidden, fmt.Errorf("%s is not a host of the inventory: add it to pigsty.yml and apply first", req.IP)
	}
	block, _ := pem.Decode(req.CSR)
	if block == nil {
		return Bundle{}, http.StatusBadRequest, errors.New("no certificate request")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil || csr.CheckSignature() != nil {
		return Bundle{}, http.StatusBadRequest, fmt.Errorf("bad certificate request: %v", err)
	}
	cn, names := req.IP, []string{"localhost"}
	if req.Hostname != "" {
		names = append(names, req.Hostname)
	}
	if i := h.Instance; i != nil {
		cn = i.Name
		n, _ := pki.InstanceNames(i.Cluster, i.Name, i.IP)
		names = append(names, n[1:]...)
	}
	ips := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(req.IP)}
	cert, err := s.CA.Sign(csr, cn, names, ips)
	if err != nil {
		return Bundle{}, http.StatusInternalServerError, err
	}
	return Bundle{CA: s.CA.PEM, Cert: cert, Etcd: inv.EtcdEndpoints(), EtcdPassword: s.EtcdPassword}, http.StatusOK, nil
}
