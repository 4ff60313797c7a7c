package ha

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"pigsty/build/harness"
)

// A watch samples, from inside each host's namespace, whether the host
// accepts writes: directly on 5432 (pg_is_in_recovery() of a session
// kept open, reopened after any error) and through the primary service
// on 5433 (a new session each time, as a new client would get). Inside
// the namespace the host answers also while its link is cut, so the old
// primary of a failover is watched as closely as the new one.
type watch struct {
	f    *fleet
	stop chan struct{}
	wg   sync.WaitGroup

	mu  sync.Mutex
	obs []observation
}

// observation is one sample of one probe.
type observation struct {
	Probe    string // host:port
	At       time.Time
	Backend  *harness.Host // whose PostgreSQL answered; nil on an error
	Writable bool          // it answered pg_is_in_recovery() = false
	Err      string
}

// startWatch samples every probe every interval until Stop.
func (f *fleet) startWatch(interval time.Duration) *watch {
	w := &watch{f: f, stop: make(chan struct{})}
	for _, h := range f.c.Hosts {
		for _, port := range []int{5432, 5433} {
			w.wg.Add(1)
			go w.probe(h, port, interval)
		}
	}
	return w
}

func (w *watch) probe(h *harness.Host, port int, interval time.Duration) {
	defer w.wg.Done()
	name := fmt.Sprintf("%s:%d", h.Name, port)
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		o := observation{Probe: name}
		var err error
		if conn == nil {
			conn, err = connectIn(ctx, h, port)
		}
		if err == nil {
			var recovery bool
			var dir string
			if err = conn.QueryRow(ctx, whoQuery).Scan(&recovery, &dir); err == nil {
				o.Backend, o.Writable = w.f.backend(dir), !recovery
				if o.Backend == nil {
					err = fmt.Errorf("data directory %s of no host", dir)
				}
			}
		}
		cancel()
		o.At = time.Now()
		if err != nil {
			o.Err = err.Error()
		}
		if conn != nil && (err != nil || port != 5432) {
			conn.Close(context.Background())
			conn = nil
		}
		w.mu.Lock()
		w.obs = append(w.obs, o)
		w.mu.Unlock()
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
	}
}

// Stop ends sampling and returns every observation in time order.
func (w *watch) Stop() []observation {
	close(w.stop)
	w.wg.Wait()
	return w.take()
}

// take returns the observations so far, in time order, and forgets them.
func (w *watch) take() []observation {
	w.mu.Lock()
	obs := w.obs
	w.obs = nil
	w.mu.Unlock()
	sort.Slice(obs, func(i, j int) bool { return obs[i].At.Before(obs[j].At) })
	return obs
}

// span is a stretch during which a host was seen accepting writes: from
// the first of a run of writable answers to the last, a run ending at the
// first answer of that host that was not writable or at an error of its
// own direct probe.
type span struct {
	Host      *harness.Host
	From, To  time.Time
	Samples   int
	ViaProbes map[string]bool
}

func (s span) String() string {
	var via []string
	for p := range s.ViaProbes {
		via = append(via, p)
	}
	sort.Strings(via)
	return fmt.Sprintf("%s writable %s → %s (%d samples via %s)", s.Host.Name,
		s.From.Format("15:04:05.000"), s.To.Format("15:04:05.000"), s.Samples, strings.Join(via, ","))
}

// spans are the writable stretches of each host in the observations.
func spans(obs []observation) []span {
	var out []span
	open := map[*harness.Host]*span{}
	closeSpan := func(h *harness.Host) {
		if s := open[h]; s != nil {
			out = append(out, *s)
			delete(open, h)
		}
	}
	for _, o := range obs {
		if o.Backend == nil {
			// The host's own direct probe failing ends its run: it
			// is down or unreachable even from inside.
			if strings.HasSuffix(o.Probe, ":5432") {
				for h := range open {
					if h.Name+":5432" == o.Probe {
						closeSpan(h)
					}
				}
			}
			continue
		}
		if !o.Writable {
			closeSpan(o.Backend)
			continue
		}
		s := open[o.Backend]
		if s == nil {
			s = &span{Host: o.Backend, From: o.At, ViaProbes: map[string]bool{}}
			open[o.Backend] = s
		}
		s.To = o.At
		s.Samples++
		s.ViaProbes[o.Probe] = true
	}
	for h := range open {
		closeSpan(h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From.Before(out[j].From) })
	return out
}

// splitBrain returns the pairs of writable stretches of different hosts
// that overlap: two hosts seen accepting writes at once.
func splitBrain(obs []observation) [][2]span {
	ss := spans(obs)
	var out [][2]span
	for i := range ss {
		for j := i + 1; j < len(ss); j++ {
			if ss[i].Host != ss[j].Host && !ss[j].From.After(ss[i].To) && !ss[i].From.After(ss[j].To) {
				out = append(out, [2]span{ss[i], ss[j]})
			}
		}
	}
	return out
}

// handover is the time between the last writable answer of one host and
// the first of another: how long no host at all was seen accepting
// writes when the primary moved. It is 0 when the writer never moved.
func handover(obs []observation) (from, to *harness.Host, gap time.Duration) {
	ss := spans(obs)
	for i := 1; i < len(ss); i++ {
		if ss[i].Host != ss[i-1].Host {
			return ss[i-1].Host, ss[i].Host, ss[i].From.Sub(ss[i-1].To)
		}
	}
	return nil, nil, 0
}

// summary counts the samples per probe: answers, writable ones, errors.
func summary(obs []observation) string {
	type count struct{ n, writable, errs int }
	per := map[string]*count{}
	for _, o := range obs {
		c := per[o.Probe]
		if c == nil {
			c = &count{}
			per[o.Probe] = c
		}
		c.n++
		if o.Writable {
			c.writable++
		}
		if o.Err != "" {
			c.errs++
		}
	}
	var keys []string
	for k := range per {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		c := per[k]
		out = append(out, fmt.Sprintf("%s %d samples (%d writable, %d errors)", k, c.n, c.writable, c.errs))
	}
	return strings.Join(out, "; ")
}
