package infra

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"pigsty/assets"
	"pigsty/infra/api"
	"pigsty/infra/store"
	"pigsty/monitor/alert"
	"pigsty/monitor/metrics"
	"pigsty/monitor/pgexporter"
	"pigsty/monitor/remote"
	"pigsty/monitor/rules"
	"pigsty/monitor/targets"
	"pigsty/node/supervisor"
	"pigsty/pgsql/inventory"
)

// The infra host's monitoring files: the store's data under Pigsty's infra
// data directory, its config with pigsty's own state, and the rules
// directory whose files replace the shipped rules of the same name.
func metricsData(root string) string   { return filepath.Join(root, "data/infra/metrics") }
func metricsConfig(root string) string { return filepath.Join(State(root), "metrics", "metrics.yml") }
func metricsScrape(root string) string { return filepath.Join(State(root), "metrics", "scrape.yml") }

// RulesDir holds the infra host's own rule files.
func RulesDir(root string) string { return filepath.Join(root, "data/infra/rules") }

// memoryPercent caps the store's caches: it shares the host with
// PostgreSQL (VictoriaMetrics would take 60 %).
const memoryPercent = 10

// storeAddrs are where the metrics store listens: the infra host's address
// and loopback.
func storeAddrs(ip string) []string {
	addrs := []string{net.JoinHostPort(ip, strconv.Itoa(metrics.Port))}
	if ip != "127.0.0.1" {
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(metrics.Port)))
	}
	return addrs
}

// startMetrics writes the store's config and scrape jobs and keeps
// `pigsty run metrics` running under the supervisor (adopting one that
// runs already). It does not wait for the store to be ready.
func startMetrics(ctx context.Context, sup *supervisor.Supervisor, root, exe string, inv *inventory.Inventory, h *inventory.Host) error {
	cfg := metrics.Config{
		Listen: storeAddrs(h.IP), DataDir: metricsData(root), Retention: metrics.Retention,
		ScrapeConfig: metricsScrape(root), MemoryPercent: memoryPercent,
	}
	sd := (&url.URL{Scheme: "http", Host: net.JoinHostPort(h.IP, strconv.Itoa(api.Port)), Path: "/api/v1/sd"}).String()
	var jobs []metrics.Job
	for _, name := range targets.Jobs {
		j := metrics.Job{Name: name}
		if eps := inv.EtcdEndpoints(); name == targets.JobEtcd && len(eps) > 0 && strings.HasPrefix(eps[0], "https://") {
			j.Scheme, j.CAFile = "https", filepath.Join(State(root), "pki", "ca.crt")
		}
		jobs = append(jobs, j)
	}
	if _, err := metrics.WriteFile(cfg.ScrapeConfig, metrics.ScrapeConfig(metrics.ScrapeInterval, metrics.ScrapeTimeout, sd, jobs)); err != nil {
		return fmt.Errorf("metrics store: %w", err)
	}
	changed, err := metrics.WriteConfig(metricsConfig(root), cfg)
	if err != nil {
		return err
	}
	if err := sup.Start(ctx, metricsSpec(root, exe, cfg.URL())); err != nil {
		return fmt.Errorf("start metrics store: %w", err)
	}
	// The store reads its config when it starts (its scrape jobs it
	// rereads): one started by an earlier agent restarts on a change.
	for _, c := range sup.Status() {
		if c.Name == "metrics" && c.Adopted && changed {
			return sup.Restart(ctx, "metrics")
		}
	}
	return nil
}

// metricsSpec is how the supervisor runs the store: this binary,
// re-executed as `pigsty run metrics`.
func metricsSpec(root, exe, storeURL string) supervisor.Spec {
	client := metrics.NewClient(storeURL)
	return supervisor.Spec{
		Name: "metrics", Path: exe, Args: []string{"run", "metrics", "--config", metricsConfig(root)},
		Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/",
		LogFile:     filepath.Join(State(root), "log", "metrics.log"),
		StopSignal:  syscall.SIGTERM,
		StopTimeout: 30 * time.Second, // flushing takes milliseconds; a large store may take seconds
		Ready:       client.Healthy,
	}
}

// adoptMetrics takes over a store left running by an agent that is gone,
// for `pigsty stop`.
func adoptMetrics(ctx context.Context, sup *supervisor.Supervisor, root, exe string, h *inventory.Host) error {
	_, err := sup.Adopt(ctx, metricsSpec(root, exe, "http://"+storeAddrs(h.IP)[0]))
	return err
}

// serveMonitoring runs, until ctx ends, what the infra host does for
// monitoring besides the store: the infra API (port api.Port) with the
// store's scrape targets derived from the desired state, the alerts and
// the rules; the rule evaluator; and the exporters of the remote
// instances `pigsty mon add` enabled. The shipped rules and those of
// RulesDir must load, or nothing starts.
func serveMonitoring(ctx context.Context, st *store.Store, root string, h *inventory.Host, log *slog.Logger) error {
	shipped, err := fs.Sub(assets.Rules, "rules")
	if err != nil {
		return err
	}
	groups, err := rules.Load(shipped, RulesDir(root))
	if err != nil {
		return fmt.Errorf("alert rules: %w", err)
	}
	var webhook atomic.Pointer[string]
	local := metrics.NewClient("http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(metrics.Port)))
	ev := &alert.Evaluator{
		Groups: groups,
		Store:  local,
		State:  alertState{st: st, ip: h.IP},
		Webhook: func() string {
			if u := webhook.Load(); u != nil {
				return *u
			}
			return ""
		},
		Log: log,
	}
	sd := &targets.Handler{}
	srv := api.New(log)
	srv.Handle("GET /api/v1/sd/{job}", sd)
	srv.Handle("GET /api/v1/alerts", ev.AlertsHandler())
	srv.Handle("GET /api/v1/rules", ev.RulesHandler())
	addrs := []string{net.JoinHostPort(h.IP, strconv.Itoa(api.Port))}
	if h.IP != "127.0.0.1" {
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(api.Port)))
	}
	if err := srv.Serve(ctx, addrs...); err != nil {
		return err
	}
	go func() {
		// The store starts with the agent: evaluating before it answers
		// would only report every rule failed.
		for deadline := time.Now().Add(time.Minute); local.Healthy(ctx) != nil && time.Now().Before(deadline); {
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
		ev.Run(ctx)
	}()
	exporters := make(chan []remote.Instance, 1)
	if open, err := remoteExporter(root, h.Params, log); err != nil {
		log.Error("remote instances are not monitored", "err", err)
	} else {
		go (&remote.Manager{Open: open, Log: log}).Run(ctx, exporters, 10*time.Second)
	}
	go followTargets(ctx, st, h.IP, sd, &webhook, exporters, log)
	return nil
}

// remoteExporter opens pg exporters of remote instances with the collector
// configuration pg_exporter_config names on this host.
func remoteExporter(root string, p *inventory.Params, log *slog.Logger) (remote.Open, error) {
	cfg, err := pgexporter.LoadConfig(root, p.PgExporterConfig, p.PgExporterCacheTTLs)
	if err != nil {
		return nil, err
	}
	return func(in remote.Instance) (remote.Exporter, error) {
		return pgexporter.New(pgexporter.Options{
			URL: in.URL, Config: cfg, ConnectTimeout: in.ConnectTimeout, AutoDiscovery: in.AutoDiscovery,
			IncludeDatabases: in.IncludeDatabases, ExcludeDatabases: in.ExcludeDatabases,
			Log: log.With("cls", in.Cls, "ins", in.Ins),
		})
	}, nil
}

// followTargets keeps the scrape targets, the webhook and the remote
// exporters of this host in step with the desired state and the
// monitored remote instances.
func followTargets(ctx context.Context, st *store.Store, ip string, sd *targets.Handler, webhook *atomic.Pointer[string],
	exporters chan []remote.Instance, log *slog.Logger) {
	desired, monitors := st.WatchDesired(ctx), st.WatchMonitors(ctx)
	var inv *inventory.Inventory
	var monitored map[string]bool
	for {
		select {
		case d, ok := <-desired:
			if !ok {
				return
			}
			next, err := inventory.Parse("desired state", d.Inventory, d.ExtraVars)
			if err != nil {
				log.Error("desired state unreadable: scrape targets unchanged", "revision", d.Revision, "err", err)
				continue
			}
			inv = next
		case ms, ok := <-monitors:
			if !ok {
				return
			}
			monitored = map[string]bool{}
			for _, m := range ms {
				monitored[m.Instance] = true
			}
		}
		if inv == nil || monitored == nil {
			continue
		}
		remotes := remote.Monitored(remote.Declared(inv), monitored)
		sd.Set(targets.Discover(inv, remote.Targets(remotes), metrics.Port))
		url := ""
		if h := inv.Host(ip); h != nil {
			url = h.Params.AlertWebhookURL
		}
		webhook.Store(&url)
		var mine []remote.Instance
		for _, in := range remotes {
			if in.Infra == ip {
				mine = append(mine, in)
			}
		}
		select {
		case <-exporters:
		default:
		}
		exporters <- mine
	}
}

// alertState keeps this infra host's alerts in etcd.
type alertState struct {
	st *store.Store
	ip string
}

func (a alertState) LoadAlerts(ctx context.Context) ([]byte, error) {
	return a.st.LoadAlerts(ctx, a.ip)
}
func (a alertState) SaveAlerts(ctx context.Context, b []byte) error {
	return a.st.SaveAlerts(ctx, a.ip, b)
}
