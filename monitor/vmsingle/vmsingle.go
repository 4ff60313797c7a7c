// Package vmsingle runs VictoriaMetrics single-node (storage, query,
// ingestion and the Prometheus-compatible scraper) inside the process of
// `pigsty run metrics`. It is the only package of pigsty that imports
// VictoriaMetrics: VictoriaMetrics owns the global flag set, exits the
// process on fatal errors and starts only once per process, so it lives
// in a child of its own and everything it would exit on is checked here
// first, as errors.
package vmsingle

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/VictoriaMetrics/app/vminsert"
	vminsertcommon "github.com/VictoriaMetrics/VictoriaMetrics/app/vminsert/common"
	"github.com/VictoriaMetrics/VictoriaMetrics/app/vmselect"
	"github.com/VictoriaMetrics/VictoriaMetrics/app/vmselect/promql"
	"github.com/VictoriaMetrics/VictoriaMetrics/app/vmstorage"
	"github.com/VictoriaMetrics/VictoriaMetrics/lib/appmetrics"
	"github.com/VictoriaMetrics/VictoriaMetrics/lib/cgroup"
	"github.com/VictoriaMetrics/VictoriaMetrics/lib/fs"
	"github.com/VictoriaMetrics/VictoriaMetrics/lib/logger"
	"github.com/VictoriaMetrics/VictoriaMetrics/lib/promscrape"

	"pigsty/monitor/metrics"
)

// Main is `pigsty run metrics --config <file>`: it serves the store the
// file describes until ctx ends (SIGTERM), then flushes and closes it.
func Main(ctx context.Context, configFile string) error {
	cfg, err := metrics.ReadConfig(configFile)
	if err != nil {
		return err
	}
	return Run(ctx, cfg, slog.Default())
}

var started sync.Once

// Run serves the store until ctx ends. It may be called once per process.
func Run(ctx context.Context, cfg metrics.Config, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("metrics store: %w", err)
	}
	first := false
	started.Do(func() { first = true })
	if !first {
		return errors.New("metrics store: VictoriaMetrics starts only once per process")
	}
	if err := configure(cfg); err != nil {
		return fmt.Errorf("metrics store: %w", err)
	}
	if err := checkDataDir(cfg.DataDir); err != nil {
		return fmt.Errorf("metrics store: %w", err)
	}
	listeners, err := listen(cfg.Listen)
	if err != nil {
		return fmt.Errorf("metrics store: %w", err)
	}

	start := time.Now()
	const maxConcurrent, maxQueue = 8, 10 * time.Second
	vmstorage.Init(maxConcurrent, maxQueue, promql.ResetRollupResultCacheIfNeeded)
	appmetrics.MustCreateUncleanShutdownMarker(vmstorage.DataPath())
	vmselect.Init(maxConcurrent, maxQueue)
	vminsertcommon.StartIngestionRateLimiter(0)
	vminsert.Init()

	h := newHandler(cfg.Listen)
	servers := make([]*http.Server, len(listeners))
	errc := make(chan error, len(listeners))
	for i, ln := range listeners {
		servers[i] = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func(srv *http.Server, ln net.Listener) { errc <- srv.Serve(ln) }(servers[i], ln)
	}
	log.Info("metrics store ready", "listen", cfg.Listen, "data", cfg.DataDir, "retention", cfg.Retention,
		"took", time.Since(start).Round(time.Millisecond))

	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("metrics store: serve: %w", err)
	}
	start = time.Now()
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(shut)
	}
	vminsertcommon.StopIngestionRateLimiter()
	vminsert.Stop()
	vmstorage.Stop()
	vmselect.Stop()
	appmetrics.MustRemoveUncleanShutdownMarker(vmstorage.DataPath())
	log.Info("metrics store stopped", "took", time.Since(start).Round(time.Millisecond))
	return err
}

// configure sets VictoriaMetrics' flags from cfg. Nothing may call
// flag.Parse in this binary; parsing an empty argument list marks the
// flags parsed, which VictoriaMetrics requires.
func configure(cfg metrics.Config) error {
	settings := [][2]string{
		{"storageDataPath", cfg.DataDir},
		{"retentionPeriod", cfg.Retention},
		{"memory.allowedPercent", strconv.Itoa(cfg.MemoryPercent)},
		{"promscrape.config", cfg.ScrapeConfig},
		// The scrape config names our own target endpoints; mon add and
		// rm should be seen within seconds (Pigsty: fileSDCheckInterval=5s).
		{"promscrape.httpSDCheckInterval", "5s"},
		{"promscrape.configCheckInterval", "10s"},
		// Targets that are down show as up=0 and on /targets; one log line
		// per failed scrape every 10 s would drown the log.
		{"promscrape.suppressScrapeErrors", "true"},
		// One scraper writes every series, so nothing arrives late: the
		// newest samples may be shown (the default hides the last 30 s).
		{"search.latencyOffset", "2s"},
	}
	for _, kv := range settings {
		if err := flag.Set(kv[0], kv[1]); err != nil {
			return fmt.Errorf("-%s=%s: %w", kv[0], kv[1], err)
		}
	}
	if err := flag.CommandLine.Parse([]string{}); err != nil {
		return err
	}
	logger.InitNoLogFlags()
	// As VictoriaMetrics' own main does: less garbage kept around for a
	// process that allocates little per sample.
	cgroup.SetGOGC(30)
	if _, err := os.Stat(cfg.ScrapeConfig); err != nil {
		return fmt.Errorf("scrape config: %w", err)
	}
	if err := promscrape.CheckConfig(); err != nil {
		return fmt.Errorf("scrape config %s: %w", cfg.ScrapeConfig, err)
	}
	return nil
}

// checkDataDir makes the data directory and fails when it is not writable
// or another store holds its lock.
func checkDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, fs.FlockFilename), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("data dir %s: %w", dir, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("data dir %s is in use by another metrics store: %w", dir, err)
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

// listen opens every address before the store starts, so that a port in
// use is an error rather than an exit.
func listen(addrs []string) ([]net.Listener, error) {
	var out []net.Listener
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, err
		}
		out = append(out, ln)
	}
	return out, nil
}
