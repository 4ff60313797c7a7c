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
		return fmt.Errorf("no CA on this host to issue the certificate of %s (certificates of other hosts come with `pigsty join`)", r.inst.Name)
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
