// Package promtext builds metric families and writes them in the
// Prometheus text exposition format (version 0.0.4), the format every
// pigsty exporter answers /metrics with.
package promtext

import (
	"bufio"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is what a family measures.
type Kind uint8

const (
	Gauge Kind = iota
	Counter
	Untyped
	Histogram
)

func (k Kind) String() string {
	switch k {
	case Gauge:
		return "gauge"
	case Counter:
		return "counter"
	case Histogram:
		return "histogram"
	}
	return "untyped"
}

// ContentType is what /metrics answers with.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Label is one name="value" pair of a sample.
type Label struct{ Name, Value string }

// Sample is one series of a family. Suffix is "_bucket", "_sum" or
// "_count" for the parts of a histogram, empty otherwise.
type Sample struct {
	Suffix string
	Labels []Label
	Value  float64
}

// Family is a metric name with its help text, kind and samples.
type Family struct {
	Name    string
	Help    string
	Kind    Kind
	Samples []Sample
}

// Set collects families in the order they first appear. The zero value is
// ready to use; it is not safe for concurrent use.
type Set struct {
	byName map[string]*Family
	order  []*Family
}

// Family returns the family of that name, creating it with help and kind
// on first use (a later help or kind for the same name is ignored).
func (s *Set) Family(name, help string, kind Kind) *Family {
	if f, ok := s.byName[name]; ok {
		return f
	}
	if s.byName == nil {
		s.byName = map[string]*Family{}
	}
	f := &Family{Name: name, Help: help, Kind: kind}
	s.byName[name] = f
	s.order = append(s.order, f)
	return f
}

// Add appends one sample to the family name.
func (s *Set) Add(name, help string, kind Kind, v float64, labels ...Label) {
	f := s.Family(name, help, kind)
	f.Samples = append(f.Samples, Sample{Labels: labels, Value: v})
}

// Merge appends every sample of o to s.
func (s *Set) Merge(o *Set) {
	for _, f := range o.order {
		mine := s.Family(f.Name, f.Help, f.Kind)
		mine.Samples = append(mine.Samples, f.Samples...)
	}
}

// Len is the number of samples.
func (s *Set) Len() int {
	n := 0
	for _, f := range s.order {
		n += len(f.Samples)
	}
	return n
}

// Get returns the family of that name, or nil.
func (s *Set) Get(name string) *Family { return s.byName[name] }

// ExposedKind is the TYPE a family is declared with. Pigsty's names come
// from pg_exporter and predate Prometheus' naming rules: counters without
// "_total" (pg_db_xact_commit) and gauges ending in "_count"
// (pg_activity_count). Declared as what they are, a Prometheus linter
// rejects them; renamed, every dashboard and alert rule breaks. They keep
// their names and are declared untyped, which PromQL and the stores treat
// the same (rate() works on them).
func ExposedKind(name string, k Kind) Kind {
	switch k {
	case Counter:
		if !strings.HasSuffix(name, "_total") {
			return Untyped
		}
	case Gauge:
		for _, reserved := range []string{"_count", "_sum", "_bucket"} {
			if strings.HasSuffix(name, reserved) {
				return Untyped
			}
		}
	}
	return k
}

// WriteTo writes the families in the text format: HELP and TYPE once per
// family, its samples together. A sample whose labels repeat an earlier
// sample of the family is dropped: a scraper rejects the whole target for
// one duplicate.
func (s *Set) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := &countWriter{w: bw}
	var buf []byte
	seen := map[string]struct{}{}
	for _, f := range s.order {
		if len(f.Samples) == 0 {
			continue
		}
		clear(seen)
		buf = append(buf[:0], "# HELP "...)
		buf = append(buf, f.Name...)
		buf = append(buf, ' ')
		buf = appendHelp(buf, f.Help)
		buf = append(buf, "\n# TYPE "...)
		buf = append(buf, f.Name...)
		buf = append(buf, ' ')
		buf = append(buf, ExposedKind(f.Name, f.Kind).String()...)
		buf = append(buf, '\n')
		for _, smp := range f.Samples {
			start := len(buf)
			buf = append(buf, f.Name...)
			buf = append(buf, smp.Suffix...)
			buf = appendLabels(buf, smp.Labels)
			key := string(buf[start:])
			if _, dup := seen[key]; dup {
				buf = buf[:start]
				continue
			}
			seen[key] = struct{}{}
			buf = append(buf, ' ')
			buf = appendValue(buf, smp.Value)
			buf = append(buf, '\n')
			if len(buf) > 32<<10 {
				if _, err := cw.Write(buf); err != nil {
					return cw.n, err
				}
				buf = buf[:0]
			}
		}
		if _, err := cw.Write(buf); err != nil {
			return cw.n, err
		}
		buf = buf[:0]
	}
	return cw.n, bw.Flush()
}

// ServeHTTP answers a scrape with the set.
func (s *Set) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", ContentType)
	s.WriteTo(w)
}

func appendLabels(buf []byte, labels []Label) []byte {
	if len(labels) == 0 {
		return buf
	}
	buf = append(buf, '{')
	n := 0
	for _, l := range labels {
		if l.Value == "" {
			continue // an empty value is the label's absence
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		n++
		buf = append(buf, l.Name...)
		buf = append(buf, '=', '"')
		buf = appendEscaped(buf, l.Value, true)
		buf = append(buf, '"')
	}
	if n == 0 {
		return buf[:len(buf)-1]
	}
	return append(buf, '}')
}

func appendHelp(buf []byte, help string) []byte { return appendEscaped(buf, help, false) }

// appendEscaped escapes backslash and newline (and the double quote in a
// label value); invalid UTF-8, which a parser rejects, is replaced.
func appendEscaped(buf []byte, s string, quote bool) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			buf = append(buf, '\\', '\\')
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c == '"' && quote:
			buf = append(buf, '\\', '"')
		default:
			buf = append(buf, c)
		}
	}
	return buf
}

func appendValue(buf []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(buf, "NaN"...)
	case math.IsInf(v, 1):
		return append(buf, "+Inf"...)
	case math.IsInf(v, -1):
		return append(buf, "-Inf"...)
	}
	return strconv.AppendFloat(buf, v, 'g', -1, 64)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
