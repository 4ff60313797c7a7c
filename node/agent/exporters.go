package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"pigsty/monitor/collector"
	"pigsty/monitor/nodeexporter"
	"pigsty/monitor/pgexporter"
	"pigsty/pgsql/inventory"
)

// The exporters run early in the pass, so that a host whose PostgreSQL
// does not come up still exports its node metrics and pg_up 0 rather than
// nothing; they never stop the pass. What went wrong with them is
// reported by a phase at the end, once the rest has converged.
func init() {
	register(150, "exporters-start", (*run).startExporters)
	register(900, "exporters", (*run).exportersReady)
}

// exporterSet is the exporters the agent runs in its own process — pg on
// pg_exporter_port, pgbouncer on pgbouncer_exporter_port, node on
// node_exporter_port — kept across passes, replaced when what one is
// started with changes, and stopped when the agent exits.
type exporterSet struct {
	mu       sync.Mutex
	running  map[string]*runningExporter // by name: pg, pgbouncer, node
	config   *collector.Config           // the collector configuration last loaded
	problems []error                     // of the last pass
	armed    bool                        // the shutdown at the agent's exit waits
}

type runningExporter struct {
	key    string // what it was started with
	port   int
	srv    *http.Server
	closer io.Closer // the exporter's sessions; nil for node
}

// exporterSpec is an exporter as the desired state wants it.
type exporterSpec struct {
	name string
	port int
	key  string // a digest of everything it is started with
	open func() (http.Handler, io.Closer, error)
}

// startExporters starts, replaces and stops the exporters of this
// instance's host. Problems are kept for exportersReady; the pass goes on.
func (r *run) startExporters(context.Context) error {
	s := &r.exporters
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Agent.armExporters()
	specs, problems := r.exporterSpecs(s)
	s.problems = append(problems, s.apply(specs, r.log)...)
	return nil
}

// hostExporters serves the exporters of a host without an instance — an
// infra-only host, a node joined for later: its node exporter, as its
// parameters ask, and nothing for a host the inventory does not list (no
// target points at it). An instance removed from the host takes its pg
// and pgbouncer exporters with it here.
func (a *Agent) hostExporters(h *inventory.Host) {
	s := &a.exporters
	s.mu.Lock()
	defer s.mu.Unlock()
	a.armExporters()
	var specs []exporterSpec
	if h != nil {
		if sp, ok := a.nodeExporter(h.Params); ok {
			specs = append(specs, sp)
		}
	}
	s.problems = s.apply(specs, a.log)
	for _, err := range s.problems {
		a.log.Error("exporter not running", "err", err)
	}
}

// armExporters stops the exporters when the agent exits; s.mu is held.
func (a *Agent) armExporters() {
	s := &a.exporters
	if s.armed {
		return
	}
	s.armed = true
	go func(agent context.Context) {
		<-agent.Done()
		s.stopAll(a.log)
	}(a.runCtx)
}

// nodeExporter is the node exporter a host's parameters ask for.
func (a *Agent) nodeExporter(p *inventory.Params) (exporterSpec, bool) {
	if !p.NodeExporterEnabled {
		return exporterSpec{}, false
	}
	return exporterSpec{name: "node", port: p.NodeExporterPort, key: digest(a.cfg.Version),
		open: func() (http.Handler, io.Closer, error) {
			return nodeexporter.New(nodeexporter.Options{Version: a.cfg.Version, Log: a.log}).Handler(), nil, nil
		}}, true
}

// exportersReady reports what kept an exporter from running as wanted.
func (r *run) exportersReady(context.Context) error {
	s := &r.exporters
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.problems...)
}

// exporterSpecs are the exporters the instance's parameters ask for. A
// configuration that does not load leaves the pg and pgbouncer exporters
// as they run.
func (r *run) exporterSpecs(s *exporterSet) ([]exporterSpec, []error) {
	p := r.inst.Params
	var specs []exporterSpec
	var problems []error
	if sp, ok := r.Agent.nodeExporter(p); ok {
		specs = append(specs, sp)
	}
	wantPg := p.PgExporterEnabled
	wantPgbouncer := p.PgbouncerEnabled && p.PgbouncerExporterEnabled
	if !wantPg && !wantPgbouncer {
		return specs, nil
	}
	cfg, err := s.loadConfig(r.cfg.Root, p.PgExporterConfig, p.PgExporterCacheTTLs)
	if err != nil {
		problems = append(problems, fmt.Errorf("pg and pgbouncer exporters keep their configuration: %w", err))
		for _, name := range []string{"pg", "pgbouncer"} {
			if old := s.running[name]; old != nil {
				specs = append(specs, exporterSpec{name: name, port: old.port, key: old.key})
			}
		}
		return specs, problems
	}
	if wantPg {
		url := p.PgExporterURL
		if url == "" {
			url = pgexporter.URL(r.l.Socket(), p.PgPort, p.PgMonitorUsername, p.PgMonitorPassword, "postgres", p.PgExporterParams)
		}
		opt := pgexporter.Options{URL: url, Config: cfg, AutoDiscovery: p.PgExporterAutoDiscovery,
			IncludeDatabases: list(p.PgExporterIncludeDatabase), ExcludeDatabases: list(p.PgExporterExcludeDatabase),
			ConnectTimeout: time.Duration(p.PgExporterConnectTimeout) * time.Millisecond, Version: r.cfg.Version, Log: r.log}
		specs = append(specs, pgSpec("pg", p.PgExporterPort, opt))
	}
	if wantPgbouncer {
		url := p.PgbouncerExporterURL
		if url == "" {
			url = pgexporter.URL(r.l.Socket(), p.PgbouncerPort, p.PgMonitorUsername, p.PgMonitorPassword, "pgbouncer", p.PgExporterParams)
		}
		opt := pgexporter.Options{URL: url, Config: cfg, ConnectTimeout: time.Duration(p.PgExporterConnectTimeout) * time.Millisecond,
			Version: r.cfg.Version, Log: r.log}
		specs = append(specs, pgSpec("pgbouncer", p.PgbouncerExporterPort, opt))
	}
	return specs, problems
}

func pgSpec(name string, port int, opt pgexporter.Options) exporterSpec {
	key := digest(opt.URL, opt.Config.Fingerprint, strconv.FormatBool(opt.AutoDiscovery), strings.Join(opt.IncludeDatabases, ","),
		strings.Join(opt.ExcludeDatabases, ","), opt.ConnectTimeout.String(), opt.Version)
	return exporterSpec{name: name, port: port, key: key, open: func() (http.Handler, io.Closer, error) {
		e, err := pgexporter.New(opt)
		if err != nil {
			return nil, nil, err
		}
		return e.Handler(), e, nil
	}}
}

// loadConfig loads the collector configuration, parsing it again only
// when its files or TTL tiers changed: the pass reads them every time, so
// that an edited /etc/pg_exporter.yml takes effect within one interval.
func (s *exporterSet) loadConfig(root, name, ttls string) (*collector.Config, error) {
	files, err := pgexporter.ConfigFiles(root, name)
	if err != nil {
		return nil, err
	}
	tiers, err := collector.ParseTTLs(ttls)
	if err != nil {
		return nil, err
	}
	if s.config != nil && s.config.Fingerprint == collector.Fingerprint(files, tiers) {
		return s.config, nil
	}
	cfg, err := collector.Parse(files, tiers)
	if err != nil {
		return nil, err
	}
	s.config = cfg
	return cfg, nil
}

// apply stops the exporters not wanted or changed, and starts the missing
// ones; an exporter that cannot start (its port is taken) is tried again
// on the next pass.
func (s *exporterSet) apply(specs []exporterSpec, log *slog.Logger) []error {
	if s.running == nil {
		s.running = map[string]*runningExporter{}
	}
	want := map[string]exporterSpec{}
	for _, sp := range specs {
		want[sp.name] = sp
	}
	for name, re := range s.running {
		if sp, ok := want[name]; ok && sp.key == re.key && sp.port == re.port {
			continue
		}
		s.stop(name, re, log)
	}
	var problems []error
	for _, sp := range specs {
		if s.running[sp.name] != nil || sp.open == nil {
			continue
		}
		re, err := start(sp, log)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s exporter on port %d: %w", sp.name, sp.port, err))
			continue
		}
		s.running[sp.name] = re
		log.Info("exporter started", "exporter", sp.name, "port", sp.port)
	}
	return problems
}

func start(sp exporterSpec, log *slog.Logger) (*runningExporter, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(sp.port)))
	if err != nil {
		return nil, err
	}
	h, closer, err := sp.open()
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("exporter stopped serving", "exporter", sp.name, "port", sp.port, "err", err)
		}
	}()
	return &runningExporter{key: sp.key, port: sp.port, srv: srv, closer: closer}, nil
}

func (s *exporterSet) stop(name string, re *runningExporter, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	re.srv.Shutdown(ctx)
	if re.closer != nil {
		re.closer.Close()
	}
	delete(s.running, name)
	log.Info("exporter stopped", "exporter", name, "port", re.port)
}

func (s *exporterSet) stopAll(log *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, re := range s.running {
		s.stop(name, re, log)
	}
}

// digest keys an exporter by what it is started with; the monitor user's
// password is in it, and so is kept only as a hash.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// list splits Pigsty's comma-separated database lists.
func list(csv string) []string {
	var out []string
	for _, x := range strings.Split(csv, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
