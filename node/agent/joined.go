package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"
)

// Joined is what `pigsty join` leaves on a host for its agent: who the
// host is and where the control plane is. `pigsty node` reads it (with
// PIGSTY_IP, PIGSTY_INFRA, PIGSTY_ETCD and PIGSTY_ETCD_PASSWORD
// overriding it).
type Joined struct {
	IP    string   `yaml:"ip" mapstructure:"ip"`
	Infra string   `yaml:"infra" mapstructure:"infra"` // the infra host's trust port
	Etcd  []string `yaml:"etcd" mapstructure:"etcd"`   // etcd client endpoints
	// EtcdPassword is the agents' etcd password (user AgentUser).
	EtcdPassword string `yaml:"etcd_password" mapstructure:"etcd_password"`
}

// JoinedPath is the agent's file of a joined host.
func JoinedPath(root string) string { return filepath.Join(State(root), "agent.yml") }

// PKIDir holds a joined host's key, its certificate and the CA.
func PKIDir(root string) string { return filepath.Join(State(root), "pki") }

// WriteJoined saves what a join returned (0600: the state directory is
// root's).
func WriteJoined(root string, j Joined) error {
	b, err := yaml.Marshal(j)
	if err != nil {
		return err
	}
	if _, err := write(File{Path: JoinedPath(root), Data: b, Mode: 0o600}); err != nil {
		return fmt.Errorf("save join: %w", err)
	}
	return nil
}

// ReadJoined reads the agent's file of a joined host.
func ReadJoined(root string) (Joined, error) {
	v := viper.New()
	v.SetConfigFile(JoinedPath(root))
	v.SetConfigType("yaml")
	v.SetEnvPrefix("pigsty")
	v.AutomaticEnv()
	for _, k := range []string{"ip", "infra", "etcd", "etcd_password"} {
		_ = v.BindEnv(k)
	}
	if err := v.ReadInConfig(); err != nil {
		if _, ok := err.(*os.PathError); ok || os.IsNotExist(err) {
			return Joined{}, fmt.Errorf("this host has not joined: run pigsty join <infra> --token <token> (%s missing)", JoinedPath(root))
		}
		return Joined{}, fmt.Errorf("read %s: %w", JoinedPath(root), err)
	}
	var j Joined
	if err := v.Unmarshal(&j); err != nil {
		return Joined{}, fmt.Errorf("read %s: %w", JoinedPath(root), err)
	}
	if s := v.GetString("etcd"); len(j.Etcd) == 0 && s != "" {
		j.Etcd = strings.Split(s, ",")
	}
	if j.IP == "" || len(j.Etcd) == 0 {
		return Joined{}, fmt.Errorf("%s: ip and etcd are required", JoinedPath(root))
	}
	return j, nil
}
