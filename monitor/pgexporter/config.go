package pgexporter

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"pigsty/assets"
	"pigsty/monitor/collector"
)

// DefaultConfigName is pg_exporter_config's default. With no file of that
// name on the host, the exporters run the built-in configuration.
const DefaultConfigName = "pg_exporter.yml"

// ConfigPath is where pigsty looks for the configuration pg_exporter_config
// names: a name is a file, or a directory of them, in /etc — Pigsty
// installs its pg_exporter.yml as /etc/pg_exporter.yml — and an absolute
// path is taken as it is; root prefixes both.
func ConfigPath(root, name string) string {
	if name == "" {
		name = DefaultConfigName
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join("/etc", name)
	}
	return filepath.Join(root, name)
}

// ConfigFiles reads the configuration pg_exporter_config names: the file
// or directory on the host, or the built-in configuration when the
// default name has none. Another name without a file is an error: the
// user asked for a configuration that is not there.
func ConfigFiles(root, name string) ([]collector.File, error) {
	path := ConfigPath(root, name)
	files, err := collector.Read(path)
	switch {
	case err == nil:
		return files, nil
	case errors.Is(err, fs.ErrNotExist) && (name == "" || name == DefaultConfigName):
		return []collector.File{{Name: "built-in " + DefaultConfigName, Data: assets.PgExporterConfig}}, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("pg_exporter_config %q: %s does not exist", name, path)
	}
	return nil, fmt.Errorf("pg_exporter_config %q: %w", name, err)
}

// LoadConfig loads the configuration pg_exporter_config names with the
// TTL tiers of pg_exporter_cache_ttls.
func LoadConfig(root, name, cacheTTLs string) (*collector.Config, error) {
	files, err := ConfigFiles(root, name)
	if err != nil {
		return nil, err
	}
	ttls, err := collector.ParseTTLs(cacheTTLs)
	if err != nil {
		return nil, err
	}
	return collector.Parse(files, ttls)
}
