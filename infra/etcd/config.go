package etcd

import (
	"bytes"
	"errors"
	"fmt"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	"net"
	"net/url"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// DefaultQuotaBytes is the backend quota used when Config.QuotaBytes is 0.
// etcd's own default is 2 GiB; Pigsty raises it to 16 GiB. 8 GiB is the
// largest size etcd still calls normal (above it, every start logs a
// warning), and with hourly compaction the DCS history stays far below it.
const DefaultQuotaBytes int64 = 8 << 30

// Config is one etcd member as the agent writes it to the file that
// `pigsty run etcd --config <file>` reads. YAML or JSON.
type Config struct {
	Name           string   `yaml:"name"`            // member name: etcd_cluster-etcd_seq
	DataDir        string   `yaml:"data_dir"`        // absolute
	ClientURLs     []string `yaml:"client_urls"`     // http://<ip>:2379 (+ http://127.0.0.1:2379)
	PeerURLs       []string `yaml:"peer_urls"`       // http://<ip>:2380
	InitialCluster string   `yaml:"initial_cluster"` // name=peerURL,…
	ClusterState   string   `yaml:"cluster_state"`   // new | existing; "" means new
	Token          string   `yaml:"token"`           // initial cluster token (Pigsty: etcd_cluster)
	QuotaBytes     int64    `yaml:"quota_bytes,omitempty"`

	// TLS is reserved for certificate-based transport security (issue #5).
	// The fields are part of the file format already so the agent can write
	// them once it issues certificates; until then a config that sets them
	// is rejected rather than silently served in plain text.
	ClientTLS TLSFiles `yaml:"client_tls,omitempty"`
	PeerTLS   TLSFiles `yaml:"peer_tls,omitempty"`
}

// TLSFiles names the PEM files of one transport (client or peer).
type TLSFiles struct {
	CertFile       string `yaml:"cert_file,omitempty"`
	KeyFile        string `yaml:"key_file,omitempty"`
	TrustedCAFile  string `yaml:"trusted_ca_file,omitempty"`
	ClientCertAuth bool   `yaml:"client_cert_auth,omitempty"`
}

func (t TLSFiles) empty() bool { return t == TLSFiles{} }

// validate checks what etcd would otherwise report late or not at all.
func (c Config) validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	if c.DataDir == "" || !filepath.IsAbs(c.DataDir) {
		errs = append(errs, fmt.Errorf("data_dir %q is not an absolute path", c.DataDir))
	}
	if len(c.ClientURLs) == 0 {
		errs = append(errs, errors.New("client_urls is empty"))
	}
	if len(c.PeerURLs) == 0 {
		errs = append(errs, errors.New("peer_urls is empty"))
	}
	for _, u := range append(append([]string{}, c.ClientURLs...), c.PeerURLs...) {
		if err := checkURL(u); err != nil {
			errs = append(errs, err)
		}
	}
	if c.InitialCluster == "" {
		errs = append(errs, errors.New("initial_cluster is empty"))
	}
	switch c.ClusterState {
	case "", "new", "existing":
	default:
		errs = append(errs, fmt.Errorf("cluster_state %q: want new or existing", c.ClusterState))
	}
	if c.Token == "" {
		errs = append(errs, errors.New("token is empty"))
	}
	if c.QuotaBytes < 0 {
		errs = append(errs, fmt.Errorf("quota_bytes %d is negative", c.QuotaBytes))
	}
	clientScheme, peerScheme := "http", "http"
	if !c.ClientTLS.empty() {
		clientScheme = "https"
		errs = append(errs, c.ClientTLS.validate("client_tls")...)
	}
	if !c.PeerTLS.empty() {
		peerScheme = "https"
		errs = append(errs, c.PeerTLS.validate("peer_tls")...)
	}
	for _, u := range c.ClientURLs {
		if err := checkScheme(u, clientScheme); err != nil {
			errs = append(errs, err)
		}
	}
	for _, u := range c.PeerURLs {
		if err := checkScheme(u, peerScheme); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("etcd config: %w", err)
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("url %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url %q: scheme must be http or https", s)
	}
	if u.Port() == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("url %q: want %s://<ip>:<port>", s, u.Scheme)
	}
	return nil
}

// checkScheme: a transport with TLS files serves https, one without http.
func checkScheme(s, scheme string) error {
	u, err := url.Parse(s)
	if err == nil && u.Scheme != scheme {
		return fmt.Errorf("url %q: want %s with these TLS settings", s, scheme)
	}
	return nil
}

func (t TLSFiles) validate(field string) []error {
	var errs []error
	for name, f := range map[string]string{"cert_file": t.CertFile, "key_file": t.KeyFile} {
		if f == "" || !filepath.IsAbs(f) {
			errs = append(errs, fmt.Errorf("%s.%s %q: want an absolute path", field, name, f))
		}
	}
	// The CA verifies the other side's certificate; etcd then requires
	// one, which is what peers do and clients (Patroni) do not.
	if t.ClientCertAuth && (t.TrustedCAFile == "" || !filepath.IsAbs(t.TrustedCAFile)) {
		errs = append(errs, fmt.Errorf("%s.trusted_ca_file %q: client_cert_auth needs an absolute path", field, t.TrustedCAFile))
	}
	return errs
}

func (t TLSFiles) info() transport.TLSInfo {
	return transport.TLSInfo{CertFile: t.CertFile, KeyFile: t.KeyFile, TrustedCAFile: t.TrustedCAFile, ClientCertAuth: t.ClientCertAuth}
}

// advertisedClientURLs drops loopback URLs: members and clients that sync
// the member list elsewhere must not be told to dial their own 127.0.0.1.
// A loopback-only member (tests, a one-host sandbox) advertises what it has.
func advertisedClientURLs(urls []string) []string {
	var out []string
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
			continue
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return urls
	}
	return out
}

// ReadConfig reads a member config written by WriteConfig (or by hand, in
// YAML or JSON). Unknown keys are errors so a typo cannot go unnoticed.
func ReadConfig(path string) (Config, error) {
	if !filepath.IsAbs(path) {
		return Config{}, fmt.Errorf("etcd config %q: not an absolute path", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("etcd config: %w", err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("etcd config %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// WriteConfig validates c and writes it as YAML, atomically, so the child
// never reads a half-written file.
func WriteConfig(path string, c Config) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("etcd config %q: not an absolute path", path)
	}
	if err := c.validate(); err != nil {
		return err
	}
	data, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("etcd config: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("etcd config: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("etcd config: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("etcd config: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("etcd config: close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("etcd config: %w", err)
	}
	return nil
}
