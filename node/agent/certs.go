package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"pigsty/infra/pki"
)

// certificates gives the instance Pigsty's /pg/cert: the CA, and a server
// certificate for PostgreSQL (CN <ins>, SANs localhost, <cls>, <ins>,
// 127.0.0.1 and the IP), issued once and kept.
func (r *run) certificates(ctx context.Context) error {
	crt, key, ca := filepath.Join(r.l.Cert(), "server.crt"), filepath.Join(r.l.Cert(), "server.key"), filepath.Join(r.l.Cert(), "ca.crt")
	if exists(crt) && exists(key) && exists(ca) {
		return nil
	}
	if r.cfg.CADir == "" || !exists(filepath.Join(r.cfg.CADir, "ca.key")) {
		return r.joinedCertificates(ca, crt, key)
	}
	authority, err := pki.LoadOrCreate(r.cfg.CADir)
	if err != nil {
		return err
	}
	names, ips := pki.InstanceNames(r.inst.Cluster, r.inst.Name, r.inst.IP)
	iss, err := authority.Issue(r.inst.Name, names, ips)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{{ca, authority.PEM, 0o644}, {crt, iss.Cert, 0o644}, {key, iss.Key, 0o600}} {
		if _, err := r.file(f.path, f.data, f.mode, true); err != nil {
			return err
		}
	}
	return nil
}

// joinedCertificates installs the certificate a joined host received from
// the infra host (signed for its key, CN its instance name).
func (r *run) joinedCertificates(ca, crt, key string) error {
	dir := PKIDir(r.cfg.Root)
	if !exists(filepath.Join(dir, "node.crt")) {
		return fmt.Errorf("no certificate for %s: this host has neither the CA nor a join certificate (run pigsty join)", r.inst.Name)
	}
	for _, f := range []struct {
		from, to string
		mode     os.FileMode
	}{{"ca.crt", ca, 0o644}, {"node.crt", crt, 0o644}, {"node.key", key, 0o600}} {
		data, err := os.ReadFile(filepath.Join(dir, f.from))
		if err != nil {
			return err
		}
		if _, err := r.file(f.to, data, f.mode, true); err != nil {
			return err
		}
	}
	return nil
}
