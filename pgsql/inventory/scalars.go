package inventory

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Scalar is a parameter value PostgreSQL (or pgBackRest) reads as text,
// whatever YAML type the user wrote it as: 1000, "64MB", true.
type Scalar string

func (s *Scalar) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "allowed: a single value", "must be a single value, not %s", shown(n))
		return
	}
	*s = Scalar(n.Value)
}

// Size is a byte size written the way Pigsty writes it: 64MiB, 8GiB, or
// a plain number of bytes.
type Size int64

var reSize = regexp.MustCompile(`^(\d+)\s*([KMGT]i?B?|B)?$`)

func ParseSize(s string) (Size, error) {
	m := reSize.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, err
	}
	unit := strings.TrimSuffix(strings.TrimSuffix(m[2], "B"), "i")
	shift := map[string]uint{"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[unit]
	return Size(n << shift), nil
}

func (s *Size) decodeNode(d *decoder, n *yaml.Node, path string) {
	v, ok := d.scalar(n, path, "a size")
	if !ok {
		return
	}
	sz, err := ParseSize(v)
	if err != nil {
		d.fail(n, path, "allowed: a size such as 64MiB, 8GiB or a number of bytes", "invalid size")
		return
	}
	*s = sz
}

func (s Size) String() string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if s != 0 && s%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", s>>u.shift, u.name)
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

func (s Size) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MaxConn is pg_max_conn: "auto" (0 here) or a connection count.
type MaxConn int

func (m *MaxConn) decodeNode(d *decoder, n *yaml.Node, path string) {
	v, ok := d.scalar(n, path, "auto or an integer")
	if !ok {
		return
	}
	if v == "auto" {
		*m = 0
		return
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		d.fail(n, path, "allowed: auto, or an integer (values below 20 mean auto)", "invalid max connections")
		return
	}
	*m = MaxConn(i)
}

func (m MaxConn) MarshalJSON() ([]byte, error) {
	if m == 0 {
		return json.Marshal("auto")
	}
	return json.Marshal(int(m))
}

// Strings is a list of names that Pigsty lets users write either as a YAML
// list or as one string separated by commas or spaces.
type Strings []string

func (s *Strings) decodeNode(d *decoder, n *yaml.Node, path string) {
	var out []string
	switch n.Kind {
	case yaml.ScalarNode:
		out = splitNames(n.Value)
	case yaml.SequenceNode:
		for i, item := range n.Content {
			item = resolve(item)
			if item.Kind != yaml.ScalarNode {
				d.fail(item, fmt.Sprintf("%s[%d]", path, i), "allowed: names", "must be a name, not %s", shown(item))
				continue
			}
			out = append(out, splitNames(item.Value)...)
		}
	default:
		d.fail(n, path, "allowed: a list of names or one comma-separated string", "must be a list")
		return
	}
	*s = out
}

func splitNames(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}
