package harness

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// WriterConfig says where a Writer writes. Zero fields take the defaults.
type WriterConfig struct {
	Hosts    []*Host       // whose Port it connects to, the first to answer wins; default every host
	Port     int           // default 5433, the primary service
	User     string        // default test (the Topology's user)
	Password string        // default test
	DB       string        // default test
	Table    string        // created if missing; default harness_writes
	Interval time.Duration // one INSERT per interval; default 100 ms
	Timeout  time.Duration // for one INSERT; default 3 s
}

// Writer inserts one row per interval through a service port, with a
// fresh id each time, reconnecting on any error, and records which
// inserts were acknowledged and when: the failover measurement of the
// feasibility study, as a test helper.
type Writer struct {
	cfg  WriterConfig
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu           sync.Mutex
	writes       []Write
	connectFails int
	started      time.Time
}

// Write is one INSERT the writer sent.
type Write struct {
	ID    int64
	Start time.Time // sent
	End   time.Time // acknowledged or failed
	Acked bool
	Host  string // whose port the session went through
	Err   string
}

// Window is a stretch without acknowledged writes: from the last
// acknowledged write before it to the first after it.
type Window struct {
	From, To time.Time
	Failed   int // inserts that failed within it
}

func (w Window) Duration() time.Duration { return w.To.Sub(w.From) }

// Report is what a writer saw, checked against the final primary.
type Report struct {
	Writes       []Write
	Acked        int
	ConnectFails int           // connection attempts that reached no host
	Unavailable  []Window      // gaps between acknowledged writes longer than three intervals
	MaxGap       time.Duration // the longest gap between acknowledged writes
	Lost         []int64       // acknowledged, missing on the final primary
	InDoubt      []int64       // not acknowledged, present on the final primary
	Primary      string        // the host whose port the check went through
}

// UnavailableAfter is the time from t to the end of the first
// acknowledged write sent at or after t: how long writes were
// unavailable after a fault injected at t. It is -1 if none was.
func (r *Report) UnavailableAfter(t time.Time) time.Duration {
	for _, w := range r.Writes {
		if w.Acked && !w.Start.Before(t) {
			return w.End.Sub(t)
		}
	}
	return -1
}

func (r *Report) String() string {
	return fmt.Sprintf("%d writes, %d acknowledged, %d connect failures, max gap %s, %d unavailable windows, lost %v, in doubt %v",
		len(r.Writes), r.Acked, r.ConnectFails, r.MaxGap.Round(time.Millisecond), len(r.Unavailable), r.Lost, r.InDoubt)
}

// StartWriter creates the table if needed and starts writing. Close stops
// a writer left running.
func (c *Cluster) StartWriter(cfg WriterConfig) (*Writer, error) {
	if len(cfg.Hosts) == 0 {
		cfg.Hosts = c.Hosts
	}
	if cfg.Port == 0 {
		cfg.Port = 5433
	}
	if cfg.User == "" {
		cfg.User, cfg.Password = TestUser, TestPassword
	}
	if cfg.DB == "" {
		cfg.DB = TestDB
	}
	if cfg.Table == "" {
		cfg.Table = "harness_writes"
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 100 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	w := &Writer{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	// A service port may lead elsewhere for a moment (HAProxy just
	// started): the table is made through whichever session can.
	var next int64
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; {
		if next, err = w.setup(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("writer: %w", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	w.started = time.Now()
	c.mu.Lock()
	c.writers = append(c.writers, w)
	c.mu.Unlock()
	go w.loop(next)
	return w, nil
}

// setup creates the table if needed and returns the first free id.
func (w *Writer) setup() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, host, err := w.connect(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	table := pgx.Identifier{w.cfg.Table}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+table+
		" (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())"); err != nil {
		return 0, fmt.Errorf("create %s through %s:%d: %w", w.cfg.Table, host, w.cfg.Port, err)
	}
	var next int64
	err = conn.QueryRow(ctx, "SELECT coalesce(max(id), 0) + 1 FROM "+table).Scan(&next)
	return next, err
}

func (w *Writer) loop(id int64) {
	defer close(w.done)
	tick := time.NewTicker(w.cfg.Interval) // drops ticks while an INSERT hangs
	defer tick.Stop()
	var conn *pgx.Conn
	var host string
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	sql := "INSERT INTO " + pgx.Identifier{w.cfg.Table}.Sanitize() + " (id) VALUES ("
	for {
		// Stop lets the INSERT in flight finish: cutting it short would
		// make a row in doubt that no fault caused.
		if conn == nil {
			var err error
			if conn, host, err = w.connect(context.Background()); err != nil {
				w.mu.Lock()
				w.connectFails++
				w.mu.Unlock()
			}
		}
		if conn != nil {
			wr := Write{ID: id, Start: time.Now(), Host: host}
			id++
			ctx, cancel := context.WithTimeout(context.Background(), w.cfg.Timeout)
			_, err := conn.Exec(ctx, sql+strconv.FormatInt(wr.ID, 10)+")")
			cancel()
			wr.End = time.Now()
			if err == nil {
				wr.Acked = true
			} else {
				wr.Err = err.Error()
				conn.Close(context.Background())
				conn = nil
			}
			w.mu.Lock()
			w.writes = append(w.writes, wr)
			w.mu.Unlock()
		}
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
	}
}

// connect opens sessions to every host's port at once and keeps the first
// that answers, so that a host that is cut off costs nothing.
func (w *Writer) connect(ctx context.Context) (*pgx.Conn, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	type result struct {
		conn *pgx.Conn
		host string
		err  error
	}
	results := make(chan result, len(w.cfg.Hosts))
	for _, h := range w.cfg.Hosts {
		go func() {
			c, err := h.Connect(ctx, w.cfg.Port, w.cfg.User, w.cfg.Password, w.cfg.DB)
			results <- result{c, h.Name, err}
		}()
	}
	var errs []error
	for n := range len(w.cfg.Hosts) {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		cancel() // the others give up; close those that made it anyway
		go func() {
			for range len(w.cfg.Hosts) - n - 1 {
				if late := <-results; late.err == nil {
					late.conn.Close(context.Background())
				}
			}
		}()
		return r.conn, r.host, nil
	}
	cancel()
	return nil, "", errors.Join(errs...)
}

// halt stops the writing loop without checking anything.
func (w *Writer) halt() {
	w.once.Do(func() { close(w.stop); <-w.done })
}

// Stop stops writing and checks every write against the final primary,
// through the same port, waiting up to a minute for one to answer.
func (w *Writer) Stop() (*Report, error) {
	w.halt()
	w.mu.Lock()
	r := &Report{Writes: slices.Clone(w.writes), ConnectFails: w.connectFails}
	w.mu.Unlock()
	last := w.started
	for _, wr := range r.Writes {
		if !wr.Acked {
			continue
		}
		r.Acked++
		if gap := wr.End.Sub(last); gap > r.MaxGap {
			r.MaxGap = gap
		}
		last = wr.End
	}
	r.Unavailable = windows(r.Writes, 3*w.cfg.Interval)

	present, primary, err := w.final()
	if err != nil {
		return r, err
	}
	r.Primary = primary
	for _, wr := range r.Writes {
		switch {
		case wr.Acked && !present[wr.ID]:
			r.Lost = append(r.Lost, wr.ID)
		case !wr.Acked && present[wr.ID]:
			r.InDoubt = append(r.InDoubt, wr.ID)
		}
	}
	return r, nil
}

// windows are the gaps longer than min between consecutive acknowledged
// writes, in the order they were sent.
func windows(writes []Write, min time.Duration) []Window {
	var out []Window
	var prev *Write
	failed := 0
	for i := range writes {
		wr := &writes[i]
		if !wr.Acked {
			failed++
			continue
		}
		if prev != nil && (wr.End.Sub(prev.End) > min || failed > 0) {
			out = append(out, Window{From: prev.End, To: wr.End, Failed: failed})
		}
		prev, failed = wr, 0
	}
	return out
}

// final reads the ids present on the primary the writer's port leads to.
func (w *Writer) final() (map[int64]bool, string, error) {
	deadline := time.Now().Add(time.Minute)
	var err error
	for time.Now().Before(deadline) {
		var present map[int64]bool
		var host string
		if present, host, err = w.read(); err == nil {
			return present, host, nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return nil, "", fmt.Errorf("writer: check against the final primary: %w", err)
}

func (w *Writer) read() (map[int64]bool, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, host, err := w.connect(ctx)
	if err != nil {
		return nil, "", err
	}
	defer conn.Close(context.Background())
	var recovery bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&recovery); err != nil {
		return nil, "", err
	}
	if recovery {
		return nil, "", fmt.Errorf("%s:%d leads to a replica", host, w.cfg.Port)
	}
	rows, err := conn.Query(ctx, "SELECT id FROM "+pgx.Identifier{w.cfg.Table}.Sanitize())
	if err != nil {
		return nil, "", err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, "", err
	}
	present := make(map[int64]bool, len(ids))
	for _, id := range ids {
		present[id] = true
	}
	return present, host, nil
}
