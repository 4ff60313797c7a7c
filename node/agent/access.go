package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"pigsty/infra/etcd"
)

// EtcdSecret is the file of PKIDir holding the agents' etcd password: the
// infra host creates it, joined hosts receive it at join (agent.yml).
const EtcdSecret = "etcd.secret"

// Access is how this host's agent and the CLI reach etcd: https trusting
// the CA in PKIDir, as the agents' user (AgentUser).
func Access(root string, endpoints []string) (etcd.Access, error) {
	a := etcd.Access{Endpoints: endpoints, CAFile: filepath.Join(PKIDir(root), "ca.crt"), Username: AgentUser}
	b, err := os.ReadFile(filepath.Join(PKIDir(root), EtcdSecret))
	switch {
	case err == nil:
		a.Password = strings.TrimSpace(string(b))
		return a, nil
	case !errors.Is(err, os.ErrNotExist):
		return etcd.Access{}, fmt.Errorf("etcd password: %w", err)
	}
	j, err := ReadJoined(root)
	if err != nil {
		return etcd.Access{}, fmt.Errorf("this host is neither an infra host nor joined: %w", err)
	}
	if j.EtcdPassword == "" {
		return etcd.Access{}, fmt.Errorf("%s holds no etcd_password: join again (pigsty join)", JoinedPath(root))
	}
	a.Password = j.EtcdPassword
	return a, nil
}
