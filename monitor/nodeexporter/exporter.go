// Package nodeexporter is pigsty's node_exporter: the host's CPU, memory,
// load, filesystems, disk and network I/O, TCP statistics and clock, read
// from /proc, statfs and adjtimex and answered under node_exporter's
// metric names and labels, which Pigsty's dashboards and alert rules use.
// Every scrape reads afresh; a filesystem whose statfs hangs (a dead NFS
// server) is reported as a device error instead of stalling the scrape.
package nodeexporter

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"pigsty/monitor/promtext"
)

// Options configure an exporter; the zero value reads this host.
type Options struct {
	// Proc is where procfs is mounted, "/proc" by default; tests point it
	// at a fixture.
	Proc string
	// Statfs, Timex, Uname and Now are the system calls and the clock;
	// nil means the real ones.
	Statfs func(path string, st *unix.Statfs_t) error
	Timex  func(tx *unix.Timex) (state int, err error)
	Uname  func(u *unix.Utsname) error
	Now    func() time.Time
	// MountTimeout is how long a scrape waits for statfs of a mount
	// point, 1 s by default.
	MountTimeout time.Duration
	// Version labels node_exporter_build_info.
	Version string
	Log     *slog.Logger
}

// Exporter reads the host on every scrape. It is safe for concurrent use.
type Exporter struct {
	opt Options
	log *slog.Logger

	mu    sync.Mutex
	stuck map[string]bool // mount points whose statfs has not returned yet
}

// collector adds one group of metrics; an error fails only its group.
type collector struct {
	name string
	fn   func(e *Exporter, ctx context.Context, set *promtext.Set) error
}

// collectors in node_exporter's names
var collectors = []collector{
	{"cpu", (*Exporter).cpu},
	{"stat", (*Exporter).stat},
	{"loadavg", (*Exporter).loadavg},
	{"meminfo", (*Exporter).meminfo},
	{"vmstat", (*Exporter).vmstat},
	{"filefd", (*Exporter).filefd},
	{"filesystem", (*Exporter).filesystem},
	{"diskstats", (*Exporter).diskstats},
	{"netdev", (*Exporter).netdev},
	{"netstat", (*Exporter).netstat},
	{"sockstat", (*Exporter).sockstat},
	{"time", (*Exporter).time},
	{"timex", (*Exporter).timex},
	{"uname", (*Exporter).uname},
	{"process", (*Exporter).process},
}

// New prepares an exporter.
func New(opt Options) *Exporter {
	if opt.Proc == "" {
		opt.Proc = "/proc"
	}
	if opt.Statfs == nil {
		opt.Statfs = unix.Statfs
	}
	if opt.Timex == nil {
		opt.Timex = unix.Adjtimex
	}
	if opt.Uname == nil {
		opt.Uname = unix.Uname
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MountTimeout <= 0 {
		opt.MountTimeout = time.Second
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Exporter{opt: opt, log: opt.Log.With("exporter", "node"), stuck: map[string]bool{}}
}

// Scrape reads every collector now. A collector that fails is reported
// by node_scrape_collector_success 0 and logged; the others still answer.
func (e *Exporter) Scrape(ctx context.Context) *promtext.Set {
	out := &promtext.Set{}
	self := &promtext.Set{}
	for _, c := range collectors {
		start := time.Now()
		err := c.fn(e, ctx, out)
		ls := promtext.Label{Name: "collector", Value: c.name}
		self.Add("node_scrape_collector_duration_seconds", "node_exporter: duration of a collector scrape", promtext.Gauge,
			time.Since(start).Seconds(), ls)
		self.Add("node_scrape_collector_success", "node_exporter: whether a collector succeeded", promtext.Gauge, b2f(err == nil), ls)
		if err != nil {
			e.log.Warn("node collector failed", "collector", c.name, "err", err)
		}
	}
	self.Add("node_exporter_build_info", "pigsty's node exporter, labelled with its version", promtext.Gauge, 1,
		promtext.Label{Name: "version", Value: e.opt.Version}, promtext.Label{Name: "goversion", Value: runtime.Version()},
		promtext.Label{Name: "goos", Value: runtime.GOOS}, promtext.Label{Name: "goarch", Value: runtime.GOARCH})
	out.Merge(self)
	return out
}

// Handler serves /metrics on its own mux.
func (e *Exporter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		e.Scrape(r.Context()).ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><body><h1>node exporter</h1><a href=\"/metrics\">/metrics</a></body></html>\n")
	})
	return mux
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
