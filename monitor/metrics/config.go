// Package metrics is the metrics store as the rest of pigsty sees it: the
// config file the infra agent writes for `pigsty run metrics`, the scrape
// jobs that config turns into, and a client of the store's
// Prometheus-compatible HTTP API. It does not import VictoriaMetrics: only
// the process of the store does (package vmsingle).
package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Pigsty's defaults for the store (vmetrics_port, vmetrics_scrape_interval,
// vmetrics_scrape_timeout and the -retentionPeriod of vmetrics_options).
const (
	Port           = 8428
	ScrapeInterval = 10 * time.Second
	ScrapeTimeout  = 8 * time.Second
	Retention      = "15d"
)

// Config is the store as the agent writes it to the file that
// `pigsty run metrics --config <file>` reads.
type Config struct {
	// Listen are the addresses of the HTTP API, e.g. the infra host's
	// 10.10.10.10:8428 and 127.0.0.1:8428. Writes and deletions are
	// accepted only from these addresses and loopback.
	Listen    []string `yaml:"listen"`
	DataDir   string   `yaml:"data_dir"`  // absolute
	Retention string   `yaml:"retention"` // VictoriaMetrics' -retentionPeriod: 15d, 6M, 1y; at least 1d
	// ScrapeConfig is the Prometheus scrape config file (see
	// ScrapeConfig), absolute.
	ScrapeConfig string `yaml:"scrape_config"`
	// MemoryPercent caps the caches at this share of the host's memory
	// (VictoriaMetrics' -memory.allowedPercent, 60 by default there): the
	// store shares its host with PostgreSQL.
	MemoryPercent int `yaml:"memory_percent"`
}

var retentionRE = regexp.MustCompile(`^[0-9]+(h|d|w|y|M)?$`)

// Validate reports what VictoriaMetrics would otherwise answer with
// os.Exit in the child.
func (c Config) Validate() error {
	var errs []error
	if len(c.Listen) == 0 {
		errs = append(errs, errors.New("listen is empty"))
	}
	for _, a := range c.Listen {
		host, port, err := net.SplitHostPort(a)
		if err != nil || net.ParseIP(host) == nil || port == "" {
			errs = append(errs, fmt.Errorf("listen %q: want ip:port", a))
		}
	}
	if !filepath.IsAbs(c.DataDir) {
		errs = append(errs, fmt.Errorf("data_dir %q is not an absolute path", c.DataDir))
	}
	if !filepath.IsAbs(c.ScrapeConfig) {
		errs = append(errs, fmt.Errorf("scrape_config %q is not an absolute path", c.ScrapeConfig))
	}
	if !retentionRE.MatchString(c.Retention) {
		errs = append(errs, fmt.Errorf("retention %q: want a number with h, d, w, y or M (months)", c.Retention))
	} else if d, ok := retentionHours(c.Retention); ok && d < 24 {
		errs = append(errs, fmt.Errorf("retention %q: at least 1d", c.Retention))
	}
	if c.MemoryPercent < 1 || c.MemoryPercent > 100 {
		errs = append(errs, fmt.Errorf("memory_percent %d: want 1 to 100", c.MemoryPercent))
	}
	return errors.Join(errs...)
}

// retentionHours is the retention in hours; a bare number means months.
func retentionHours(s string) (int, bool) {
	m := retentionRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimRight(s, "hdwyM"))
	if err != nil {
		return 0, false
	}
	per := map[string]int{"h": 1, "d": 24, "w": 24 * 7, "y": 24 * 365, "M": 24 * 30, "": 24 * 30}[m[1]]
	return n * per, true
}

// WriteConfig writes c to path, 0600, through a rename, unless the file
// holds it already; it reports whether the file changed.
func WriteConfig(path string, c Config) (bool, error) {
	if err := c.Validate(); err != nil {
		return false, fmt.Errorf("metrics config: %w", err)
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return false, fmt.Errorf("metrics config: %w", err)
	}
	return WriteFile(path, b)
}

// ReadConfig reads and validates the file WriteConfig wrote.
func ReadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("metrics config: %w", err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("metrics config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("metrics config %s: %w", path, err)
	}
	return c, nil
}

// WriteFile puts data at path (0600) unless it holds it already, through
// a temporary file and a rename so that the store never reads half a
// file. It reports whether the file changed.
func WriteFile(path string, data []byte) (bool, error) {
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, data) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}

// URL is the base URL of the store's API at the first listen address.
func (c Config) URL() string {
	if len(c.Listen) == 0 {
		return ""
	}
	return (&url.URL{Scheme: "http", Host: c.Listen[0]}).String()
}
