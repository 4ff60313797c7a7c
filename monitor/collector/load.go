package collector

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// File is one configuration file's text.
type File struct {
	Name string
	Data []byte
}

// Read reads a configuration: path is a YAML file, or a directory whose
// .yml and .yaml files are merged in name order, as pg_exporter does.
func Read(path string) ([]File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return []File{{Name: path, Data: data}}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []File
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || ext != ".yml" && ext != ".yaml" {
			continue
		}
		p := filepath.Join(path, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: p, Data: data})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .yml or .yaml file in the directory", path)
	}
	sort.Slice(files, func(a, b int) bool { return files[a].Name < files[b].Name })
	return files, nil
}

// Open loads the configuration at path; when nothing is there, builtin
// (named name) is used instead, and without a builtin that is an error.
func Open(path string, builtin *File, ttls TTLs) (*Config, error) {
	files, err := Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && builtin != nil:
		files = []File{*builtin}
	case err != nil:
		return nil, fmt.Errorf("collector config: %w", err)
	}
	return Parse(files, ttls)
}

// TTLs are the cache tiers the configuration refers to as {{ ttl_fast }},
// {{ ttl_norm }}, {{ ttl_slow }} and {{ ttl_slowest }}, Pigsty's
// pg_exporter_cache_ttls.
type TTLs [4]float64

// DefaultTTLs is Pigsty's '1,10,60,300'.
var DefaultTTLs = TTLs{1, 10, 60, 300}

// ParseTTLs reads pg_exporter_cache_ttls: four comma-separated numbers of
// seconds; empty means the default.
func ParseTTLs(s string) (TTLs, error) {
	if strings.TrimSpace(s) == "" {
		return DefaultTTLs, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return TTLs{}, fmt.Errorf("pg_exporter_cache_ttls %q: want four comma-separated seconds (fast,norm,slow,slowest), like '1,10,60,300'", s)
	}
	var t TTLs
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v < 0 {
			return TTLs{}, fmt.Errorf("pg_exporter_cache_ttls %q: %q is not a number of seconds", s, p)
		}
		t[i] = v
	}
	return t, nil
}

var ttlNames = [4]string{"ttl_fast", "ttl_norm", "ttl_slow", "ttl_slowest"}

var placeholder = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// render fills the TTL placeholders in place: a placeholder and its value
// stay on one line, so positions in later errors are those of the file.
// An unknown placeholder is an error at its place.
func (p *parser) render(data []byte, ttls TTLs) ([]byte, bool) {
	ok := true
	var out []byte
	last := 0
	for _, at := range placeholder.FindAllSubmatchIndex(data, -1) {
		start := bytes.LastIndexByte(data[:at[0]], '\n') + 1
		if bytes.HasPrefix(bytes.TrimLeft(data[start:at[0]], " \t"), []byte("#")) {
			continue // a comment line
		}
		name := string(data[at[2]:at[3]])
		i := slices.Index(ttlNames[:], name)
		if i < 0 {
			ok = false
			line := 1 + bytes.Count(data[:at[0]], []byte("\n"))
			p.errs = append(p.errs, &Error{Pos: Pos{File: p.name, Line: line, Col: 1 + at[0] - start},
				Msg:     fmt.Sprintf("unknown placeholder %q", data[at[0]:at[1]]),
				Allowed: "{{ ttl_fast }}, {{ ttl_norm }}, {{ ttl_slow }}, {{ ttl_slowest }} (pg_exporter_cache_ttls)"})
			continue
		}
		out = append(append(out, data[last:at[0]]...), strconv.FormatFloat(ttls[i], 'f', -1, 64)...)
		last = at[1]
	}
	return append(out, data[last:]...), ok
}

// Parse reads the files in order into one configuration, reporting every
// problem (as Errors) rather than the first.
func Parse(files []File, ttls TTLs) (*Config, error) {
	cfg := &Config{}
	p := &parser{seen: map[string]Pos{}}
	for _, f := range files {
		p.name = f.Name
		if data, ok := p.render(f.Data, ttls); ok {
			p.file(f.Name, data, cfg)
		}
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	if len(cfg.Branches) == 0 {
		return nil, Errors{{Pos: Pos{File: files[len(files)-1].Name}, Msg: "no collector branch defined"}}
	}
	cfg.Fingerprint = Fingerprint(files, ttls)
	return cfg, nil
}

// Fingerprint identifies a configuration's source: its files and TTL
// tiers. A caller compares it before parsing again.
func Fingerprint(files []File, ttls TTLs) string {
	h := sha256.New()
	for i, t := range ttls {
		fmt.Fprintf(h, "%s=%g;", ttlNames[i], t)
	}
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.Name, len(f.Data))
		h.Write(f.Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

type parser struct {
	name string
	errs Errors
	seen map[string]Pos
}

func (p *parser) errorf(n *yaml.Node, path, allowed, format string, args ...any) {
	at := Pos{File: p.name}
	if n != nil {
		at.Line, at.Col = n.Line, n.Column
	}
	p.errs = append(p.errs, &Error{Pos: at, Path: path, Msg: fmt.Sprintf(format, args...), Allowed: allowed})
}

func (p *parser) file(name string, data []byte, cfg *Config) {
	p.name = name
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.errs = append(p.errs, &Error{Pos: Pos{File: name}, Msg: err.Error()})
		return
	}
	if len(doc.Content) == 0 {
		return // an empty file adds nothing
	}
	inline(&doc, map[*yaml.Node]bool{})
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "", "", "want a mapping of collector branches")
		return
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if prev, dup := p.seen[k.Value]; dup {
			p.errorf(k, k.Value, "", "branch defined twice (first at %s)", prev)
			continue
		}
		p.seen[k.Value] = Pos{File: name, Line: k.Line, Col: k.Column}
		if b := p.branch(k, v); b != nil {
			cfg.Branches = append(cfg.Branches, b)
		}
	}
}

// inline replaces every alias by the node it names, so that a branch may
// reuse another's query or metrics (metrics: *pg_query_metrics).
func inline(n *yaml.Node, seen map[*yaml.Node]bool) {
	if seen[n] {
		return
	}
	seen[n] = true
	for i, c := range n.Content {
		if c.Kind == yaml.AliasNode && c.Alias != nil {
			n.Content[i] = c.Alias
		}
		inline(n.Content[i], seen)
	}
}

var branchFields = "name, desc, query, ttl, timeout, min_version, max_version, fatal, skip, tags, predicate_queries, metrics"

func (p *parser) branch(k, v *yaml.Node) *Branch {
	b := &Branch{Key: k.Value, Name: k.Value, Pos: Pos{File: p.name, Line: k.Line, Col: k.Column}}
	before := len(p.errs)
	if !promName(b.Key) {
		p.errorf(k, b.Key, "letters, digits and underscores, not starting with a digit", "invalid branch name")
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, b.Key, "", "want a mapping with %s", branchFields)
		return nil
	}
	var metrics *yaml.Node
	for i := 0; i+1 < len(v.Content); i += 2 {
		fk, fv := v.Content[i], v.Content[i+1]
		path := b.Key + "." + fk.Value
		switch fk.Value {
		case "name":
			b.Name = p.str(fv, path)
			if !promName(b.Name) {
				p.errorf(fv, path, "letters, digits and underscores, not starting with a digit", "invalid metric prefix %q", b.Name)
			}
		case "desc":
			b.Desc = p.str(fv, path)
		case "query":
			b.Query = strings.TrimSpace(p.str(fv, path))
		case "ttl":
			b.TTL = p.seconds(fv, path, false)
		case "timeout":
			b.Timeout = p.seconds(fv, path, true)
		case "min_version":
			b.MinVersion = p.version(fv, path)
		case "max_version":
			b.MaxVersion = p.version(fv, path)
		case "fatal":
			b.Fatal = p.boolean(fv, path)
		case "skip":
			b.Skip = p.boolean(fv, path)
		case "tags":
			b.Tags = p.tags(fv, path)
		case "predicate_queries":
			b.Predicates = p.predicates(fv, path)
		case "metrics":
			metrics = fv
		default:
			p.errorf(fk, path, suggest(fk.Value, branchFields), "unknown field %q", fk.Value)
		}
	}
	if b.Query == "" {
		p.errorf(v, b.Key+".query", "", "missing query")
	}
	if b.MinVersion > 0 && b.MaxVersion > 0 && b.MinVersion >= b.MaxVersion {
		p.errorf(v, b.Key+".max_version", "a version above min_version (the range is [min, max))", "max_version %d is not above min_version %d", b.MaxVersion, b.MinVersion)
	}
	if metrics == nil {
		p.errorf(v, b.Key+".metrics", "", "missing metrics: list the result columns")
	} else {
		b.Columns = p.columns(metrics, b)
	}
	if len(p.errs) > before {
		return nil
	}
	return b
}

var columnFields = "usage, rename, description, default, scale, bucket"

func (p *parser) columns(n *yaml.Node, b *Branch) []Column {
	path := b.Key + ".metrics"
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, path, "", "want a list of {column: {usage: …}}")
		return nil
	}
	var cols []Column
	keys := map[string]bool{}
	values, unknownUsage := 0, false
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode || len(item.Content) != 2 {
			p.errorf(item, path, "", "want one column per list item: - column: {usage: GAUGE}")
			continue
		}
		ck, cv := item.Content[0], item.Content[1]
		c := Column{Name: ck.Value, Pos: Pos{File: p.name, Line: ck.Line, Col: ck.Column}}
		cpath := path + "." + c.Name
		if cv.Kind != yaml.MappingNode {
			p.errorf(cv, cpath, columnFields, "want a mapping")
			continue
		}
		usageSeen := false
		for i := 0; i+1 < len(cv.Content); i += 2 {
			fk, fv := cv.Content[i], cv.Content[i+1]
			fpath := cpath + "." + fk.Value
			switch fk.Value {
			case "usage":
				u, ok := usages[strings.ToUpper(p.str(fv, fpath))]
				if !ok {
					p.errorf(fv, fpath, "DISCARD, LABEL, GAUGE, COUNTER, HISTOGRAM", "unknown usage %q", fv.Value)
					unknownUsage = true
				}
				c.Usage, usageSeen = u, true
			case "rename":
				c.Rename = p.str(fv, fpath)
			case "description":
				c.Description = p.str(fv, fpath)
			case "default":
				if f, ok := p.number(fv, fpath); ok {
					c.Default = &f
				}
			case "scale":
				if f, ok := p.number(fv, fpath); ok {
					c.Scale = f
				}
			case "bucket":
				c.Buckets = p.buckets(fv, fpath)
			default:
				// pg_exporter's own files write descriptions with commas in
				// flow mappings, {usage: COUNTER ,description: time, in ms},
				// which YAML reads as a key without value: the rest of it.
				if c.Description != "" && fv.Kind == yaml.ScalarNode && fv.Tag == "!!null" {
					c.Description += ", " + fk.Value
					continue
				}
				p.errorf(fk, fpath, suggest(fk.Value, columnFields), "unknown field %q", fk.Value)
			}
		}
		if !usageSeen {
			p.errorf(ck, cpath+".usage", "DISCARD, LABEL, GAUGE, COUNTER, HISTOGRAM", "missing usage")
		}
		if c.Usage == Histogram && len(c.Buckets) == 0 {
			p.errorf(ck, cpath+".bucket", "a list of increasing upper bounds", "a HISTOGRAM needs its buckets")
		}
		if c.Usage != Discard {
			if !promName(c.Key()) || strings.HasPrefix(c.Key(), "__") {
				p.errorf(ck, cpath, "letters, digits and underscores, not starting with a digit or __", "%q cannot name a metric or label", c.Key())
			}
			if keys[c.Key()] {
				p.errorf(ck, cpath, "", "%q is used by two columns", c.Key())
			}
			keys[c.Key()] = true
		}
		if c.Usage == Gauge || c.Usage == Counter || c.Usage == Histogram {
			values++
		}
		if c.Description == "" {
			c.Description = b.Desc
		}
		cols = append(cols, c)
	}
	if values == 0 && len(cols) > 0 && !unknownUsage {
		p.errorf(n, path, "", "no GAUGE, COUNTER or HISTOGRAM column: the branch would export nothing")
	}
	return cols
}

func (p *parser) predicates(n *yaml.Node, path string) []Predicate {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, path, "", "want a list of {name, predicate_query, ttl}")
		return nil
	}
	var out []Predicate
	for i, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if item.Kind != yaml.MappingNode {
			p.errorf(item, ipath, "", "want a mapping with name, predicate_query, ttl")
			continue
		}
		var pr Predicate
		for j := 0; j+1 < len(item.Content); j += 2 {
			fk, fv := item.Content[j], item.Content[j+1]
			switch fk.Value {
			case "name":
				pr.Name = p.str(fv, ipath+".name")
			case "predicate_query":
				pr.SQL = strings.TrimSpace(p.str(fv, ipath+".predicate_query"))
			case "ttl":
				pr.TTL = p.seconds(fv, ipath+".ttl", false)
			default:
				p.errorf(fk, ipath+"."+fk.Value, "name, predicate_query, ttl", "unknown field %q", fk.Value)
			}
		}
		if pr.SQL == "" {
			p.errorf(item, ipath+".predicate_query", "", "missing predicate_query")
		}
		out = append(out, pr)
	}
	return out
}

func (p *parser) tags(n *yaml.Node, path string) []string {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, path, "", "want a list of tags")
		return nil
	}
	var out []string
	for _, t := range n.Content {
		s := p.str(t, path)
		if i := strings.IndexByte(s, ':'); i >= 0 && (!isSpecialTag(s) || i == len(s)-1) {
			p.errorf(t, path, "cluster, primary, replica, pgbouncer, dbname:<db>, username:<user>, extension:<ext>, schema:<nsp>, not:<tag>, or a plain word", "unknown tag %q", s)
			continue
		}
		if s == "" {
			p.errorf(t, path, "", "empty tag")
			continue
		}
		out = append(out, s)
	}
	return out
}

func (p *parser) str(n *yaml.Node, path string) string {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, path, "", "want a string")
		return ""
	}
	return n.Value
}

func (p *parser) number(n *yaml.Node, path string) (float64, bool) {
	if n.Kind == yaml.ScalarNode {
		if f, err := strconv.ParseFloat(strings.TrimSpace(n.Value), 64); err == nil {
			return f, true
		}
	}
	p.errorf(n, path, "a number", "not a number: %q", n.Value)
	return 0, false
}

func (p *parser) seconds(n *yaml.Node, path string, negative bool) time.Duration {
	f, ok := p.number(n, path)
	if !ok {
		return 0
	}
	if f < 0 && !negative {
		p.errorf(n, path, "seconds ≥ 0", "negative: %v", f)
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// version reads server_version_num as written: decimal even with a
// leading zero (090600), which YAML would otherwise take for octal.
func (p *parser) version(n *yaml.Node, path string) int {
	v, err := strconv.Atoi(strings.TrimSpace(n.Value))
	if n.Kind != yaml.ScalarNode || err != nil || v < 0 {
		p.errorf(n, path, "a server_version_num such as 130000 (pgbouncer: 11800 for 1.18.0)", "not a version: %q", n.Value)
		return 0
	}
	return v
}

func (p *parser) boolean(n *yaml.Node, path string) bool {
	switch strings.ToLower(n.Value) {
	case "true", "yes", "on":
		return true
	case "false", "no", "off", "":
		return false
	}
	p.errorf(n, path, "true, false", "not a boolean: %q", n.Value)
	return false
}

func (p *parser) buckets(n *yaml.Node, path string) []float64 {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, path, "", "want a list of upper bounds")
		return nil
	}
	var out []float64
	for _, x := range n.Content {
		f, ok := p.number(x, path)
		if !ok {
			continue
		}
		if len(out) > 0 && f <= out[len(out)-1] {
			p.errorf(x, path, "increasing upper bounds", "bucket %v does not increase", f)
		}
		out = append(out, f)
	}
	return out
}

func promName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// suggest is the allowed list of an unknown field, led by the field it
// most likely meant.
func suggest(word, allowed string) string {
	best, dist := "", 3
	for _, f := range strings.Split(allowed, ", ") {
		if d := distance(word, f); d < dist {
			best, dist = f, d
		}
	}
	if best == "" {
		return allowed
	}
	return fmt.Sprintf("did you mean %q? (%s)", best, allowed)
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
