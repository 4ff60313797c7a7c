package pgexporter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadConfig: the built-in configuration unless the host has a file
// where pg_exporter_config says, which then replaces it entirely.
func TestLoadConfig(t *testing.T) {
	root := t.TempDir()
	cfg, err := LoadConfig(root, "pg_exporter.yml", "1,10,60,300")
	if err != nil || cfg.Branch("pg_db") == nil {
		t.Fatalf("built-in: %v", err)
	}
	if got := ConfigPath(root, "pg_exporter.yml"); got != filepath.Join(root, "etc/pg_exporter.yml") {
		t.Errorf("ConfigPath %s", got)
	}
	if got := ConfigPath(root, "/opt/exporter/conf.d"); got != filepath.Join(root, "opt/exporter/conf.d") {
		t.Errorf("ConfigPath of an absolute path %s", got)
	}

	if _, err := LoadConfig(root, "pg_exporter_basic.yml", ""); err == nil ||
		err.Error() != `pg_exporter_config "pg_exporter_basic.yml": `+filepath.Join(root, "etc/pg_exporter_basic.yml")+" does not exist" {
		t.Errorf("a named file that is not there: %v", err)
	}

	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	own := "pg_up_only:\n  name: pg_mine\n  query: SELECT 1 AS v\n  ttl: {{ ttl_slow }}\n  metrics:\n    - v: { usage: GAUGE }\n"
	os.WriteFile(filepath.Join(root, "etc/pg_exporter.yml"), []byte(own), 0o644)
	cfg, err = LoadConfig(root, "", "2,20,120,600")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Branches) != 1 || cfg.Branch("pg_up_only").TTL.Seconds() != 120 {
		t.Errorf("the host's file: %d branches", len(cfg.Branches))
	}

	os.WriteFile(filepath.Join(root, "etc/pg_exporter.yml"), []byte(strings.Replace(own, "GAUGE", "GUAGE", 1)), 0o644)
	if _, err := LoadConfig(root, "", ""); err == nil || !strings.Contains(err.Error(), filepath.Join(root, "etc/pg_exporter.yml")+":6:") {
		t.Errorf("a bad file on the host: %v", err)
	}
	if _, err := LoadConfig(root, "", "1,10"); err == nil || !strings.Contains(err.Error(), "pg_exporter_cache_ttls") {
		t.Errorf("bad pg_exporter_cache_ttls: %v", err)
	}
}
