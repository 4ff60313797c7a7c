package etcd_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"pigsty/infra/etcd"
)

func TestConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, filepath.Join(dir, "data"))
	cfg.QuotaBytes = 1 << 30
	path := filepath.Join(dir, "etcd.yml")
	if err := etcd.WriteConfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := etcd.ReadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cfg) {
		t.Errorf("read back %+v, want %+v", got, cfg)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config file mode: %v %v", fi.Mode(), err)
	}
}

func TestReadConfigJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etcd.json")
	data := `{"name":"etcd-1","data_dir":"/data/etcd","client_urls":["http://10.10.10.10:2379","http://127.0.0.1:2379"],
"peer_urls":["http://10.10.10.10:2380"],"initial_cluster":"etcd-1=http://10.10.10.10:2380","cluster_state":"new","token":"etcd"}`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := etcd.ReadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "etcd-1" || len(cfg.ClientURLs) != 2 {
		t.Errorf("cfg = %+v", cfg)
	}
}

func TestReadConfigRejects(t *testing.T) {
	valid := "name: etcd-1\ndata_dir: /data/etcd\nclient_urls: [http://10.10.10.10:2379]\npeer_urls: [http://10.10.10.10:2380]\n" +
		"initial_cluster: etcd-1=http://10.10.10.10:2380\ntoken: etcd\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"relative data dir", strings.Replace(valid, "/data/etcd", "data/etcd", 1), "not an absolute path"},
		{"unknown key", valid + "quota: 1\n", "field quota not found"},
		{"https without TLS", strings.Replace(valid, "http://10.10.10.10:2379", "https://10.10.10.10:2379", 1), "want http with these TLS settings"},
		{"TLS without key and CA", valid + "client_tls: {cert_file: /etc/etcd/server.crt}\n", "client_tls.key_file \"\": want an absolute path"},
		{"TLS on an http URL", valid + "client_tls: {cert_file: /a.crt, key_file: /a.key, trusted_ca_file: /ca.crt}\n", "want https with these TLS settings"},
		{"bad state", valid + "cluster_state: join\n", "want new or existing"},
		{"no port", strings.Replace(valid, "http://10.10.10.10:2380]", "http://10.10.10.10]", 1), "want http://<ip>:<port>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "etcd.yml")
			if err := os.WriteFile(path, []byte(c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := etcd.ReadConfig(path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
	if _, err := etcd.ReadConfig("etcd.yml"); err == nil {
		t.Error("relative config path accepted")
	}
}
