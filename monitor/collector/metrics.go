package collector

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"pigsty/monitor/promtext"
)

// Result is what a branch's query returned. A cell is nil (NULL), int64,
// float64, bool, string, time.Time or []float64 (an array, for HISTOGRAM
// columns); the exporters convert their drivers' values to these.
type Result struct {
	Columns []string
	Rows    [][]any
}

// Collect adds the metrics of a result to set: one sample per row and
// value column, labelled by the LABEL columns, then by extra (datname
// for the per-database branches) unless a column already gives that
// label. It returns the number of samples added.
func (b *Branch) Collect(set *promtext.Set, res Result, extra ...promtext.Label) (int, error) {
	index := make(map[string]int, len(res.Columns))
	for i, c := range res.Columns {
		index[c] = i
	}
	type value struct {
		col *Column
		at  int
		fam *promtext.Family
	}
	var labels, values []value
	names := map[string]bool{}
	for i := range b.Columns {
		c := &b.Columns[i]
		if c.Usage == Discard {
			continue
		}
		at, ok := index[c.Name]
		if !ok {
			return 0, fmt.Errorf("%s: column %q is not in the result (%s)", b.Key, c.Name, strings.Join(res.Columns, ", "))
		}
		switch c.Usage {
		case Label:
			labels = append(labels, value{col: c, at: at})
			names[c.Key()] = true
		case Gauge:
			values = append(values, value{col: c, at: at, fam: set.Family(b.Name+"_"+c.Key(), c.Description, promtext.Gauge)})
		case Counter:
			values = append(values, value{col: c, at: at, fam: set.Family(b.Name+"_"+c.Key(), c.Description, promtext.Counter)})
		case Histogram:
			values = append(values, value{col: c, at: at, fam: set.Family(b.Name+"_"+c.Key(), c.Description, promtext.Histogram)})
		}
	}
	var keep []promtext.Label
	for _, l := range extra {
		if !names[l.Name] {
			keep = append(keep, l)
		}
	}
	n := 0
	for _, row := range res.Rows {
		ls := make([]promtext.Label, 0, len(labels)+len(keep))
		for _, l := range labels {
			ls = append(ls, promtext.Label{Name: l.col.Key(), Value: labelValue(row[l.at])})
		}
		ls = append(ls, keep...)
		for _, v := range values {
			if v.col.Usage == Histogram {
				k, err := histogram(v.fam, v.col, row[v.at], ls)
				if err != nil {
					return n, fmt.Errorf("%s: column %s: %w", b.Key, v.col.Name, err)
				}
				n += k
				continue
			}
			f, err := number(row[v.at], v.col)
			if err != nil {
				return n, fmt.Errorf("%s: column %s: %w", b.Key, v.col.Name, err)
			}
			v.fam.Samples = append(v.fam.Samples, promtext.Sample{Labels: ls, Value: f})
			n++
		}
	}
	return n, nil
}

// number is a cell as a metric value: scaled, a NULL as the column's
// default or NaN.
func number(cell any, c *Column) (float64, error) {
	var f float64
	switch v := cell.(type) {
	case nil:
		if c.Default == nil {
			return math.NaN(), nil
		}
		f = *c.Default
	case float64:
		f = v
	case int64:
		f = float64(v)
	case bool:
		if v {
			f = 1
		}
	case time.Time:
		f = float64(v.UnixNano()) / 1e9
	case string:
		p, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", v)
		}
		f = p
	default:
		return 0, fmt.Errorf("a %T is not a number", cell)
	}
	if c.Scale != 0 {
		f *= c.Scale
	}
	return f, nil
}

func labelValue(cell any) string {
	switch v := cell.(type) {
	case nil:
		return ""
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(cell)
}

// histogram adds one histogram: the cell is an array of cumulative counts,
// one per bucket of the column, optionally followed by the total (the
// +Inf bucket); without it the last bucket's count is the total.
func histogram(fam *promtext.Family, c *Column, cell any, ls []promtext.Label) (int, error) {
	counts, ok := cell.([]float64)
	if cell == nil {
		return 0, nil
	}
	if !ok || len(counts) != len(c.Buckets) && len(counts) != len(c.Buckets)+1 {
		return 0, fmt.Errorf("want an array of %d or %d cumulative counts, got %v", len(c.Buckets), len(c.Buckets)+1, cell)
	}
	total := counts[len(counts)-1]
	for i, le := range c.Buckets {
		bl := append(append(make([]promtext.Label, 0, len(ls)+1), ls...), promtext.Label{Name: "le", Value: strconv.FormatFloat(le, 'g', -1, 64)})
		fam.Samples = append(fam.Samples, promtext.Sample{Suffix: "_bucket", Labels: bl, Value: counts[i]})
	}
	inf := append(append(make([]promtext.Label, 0, len(ls)+1), ls...), promtext.Label{Name: "le", Value: "+Inf"})
	fam.Samples = append(fam.Samples,
		promtext.Sample{Suffix: "_bucket", Labels: inf, Value: total},
		promtext.Sample{Suffix: "_count", Labels: ls, Value: total})
	return len(c.Buckets) + 2, nil
}
