package runner

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"pigsty/monitor/collector"
)

// Conn runs queries on a pgx connection, converting the driver's values
// into the cells a collector.Result holds.
type Conn struct{ *pgx.Conn }

// Query runs sql and reads every row.
func (c Conn) Query(ctx context.Context, sql string) (collector.Result, error) {
	rows, err := c.Conn.Query(ctx, sql)
	if err != nil {
		return collector.Result{}, err
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	res := collector.Result{Columns: make([]string, len(fds))}
	for i, fd := range fds {
		res.Columns[i] = fd.Name
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return res, err
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = Cell(v, fds[i].DataTypeOID)
		}
		res.Rows = append(res.Rows, row)
	}
	return res, rows.Err()
}

// Cell converts a value pgx decoded (column type oid) into a result cell.
func Cell(v any, oid uint32) any {
	switch x := v.(type) {
	case nil, string, bool, float64, int64, time.Time:
		return x
	case int32:
		if oid == pgtype.QCharOID {
			return string(rune(x)) // "char", e.g. relkind
		}
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x > math.MaxInt64 {
			return float64(x)
		}
		return int64(x)
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	case pgtype.Numeric:
		if !x.Valid {
			return nil
		}
		f, err := x.Float64Value()
		if err != nil || !f.Valid {
			return math.NaN()
		}
		return f.Float64
	case pgtype.Interval:
		if !x.Valid {
			return nil
		}
		return (float64(x.Microseconds) + float64(x.Days)*86400e6 + float64(x.Months)*30*86400e6) / 1e6
	case netip.Prefix:
		if x.IsSingleIP() {
			return x.Addr().String()
		}
		return x.String()
	case netip.Addr:
		return x.String()
	case []any:
		out := make([]float64, 0, len(x))
		for _, e := range x {
			switch f := Cell(e, 0).(type) {
			case float64:
				out = append(out, f)
			case int64:
				out = append(out, float64(f))
			default:
				return fmt.Sprint(v)
			}
		}
		return out
	}
	return fmt.Sprint(v)
}
