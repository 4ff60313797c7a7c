package inventory

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// The decoder turns YAML nodes into the typed parameter structs. It is our
// own, not yaml.v3's Decode, for three reasons: every problem must name
// file:line:col and the field path; unknown keys need a suggestion; and
// Pigsty inventories are read by Ansible, whose YAML 1.1 takes yes/no/on/off
// as booleans.
//
// Field tags understood besides `yaml`:
//
//	enum:"a,b,c"     the scalar must be one of these
//	check:"name"     the scalar must pass checks[name]
//	required:"true"  the key must be present (in a struct)
type decoder struct {
	c    *collector
	file string
}

// nodeDecoder is implemented by types with their own YAML forms, such as a
// role membership written as a string or as an object.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

// defaulter is implemented by list elements whose omitted fields are not
// Go's zero value (a user logs in unless told otherwise).
type defaulter interface{ setDefaults() }

var (
	originType = reflect.TypeOf(Origin{})
	fieldCache sync.Map // reflect.Type → *structInfo
)

type structInfo struct {
	byName map[string]int
	names  []string
}

func fieldsOf(t reflect.Type) *structInfo {
	if v, ok := fieldCache.Load(t); ok {
		return v.(*structInfo)
	}
	si := &structInfo{byName: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		name := yamlName(t.Field(i))
		if name == "" {
			continue
		}
		si.byName[name] = i
		si.names = append(si.names, name)
	}
	sort.Strings(si.names)
	fieldCache.Store(t, si)
	return si
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" || name == "" {
		return ""
	}
	return name
}

func (d *decoder) origin(n *yaml.Node, path string) Origin {
	return Origin{Pos: Pos{File: d.file, Line: n.Line, Col: n.Column}, Path: path}
}

func (d *decoder) fail(n *yaml.Node, path, allowed, format string, args ...any) {
	d.c.errorf(d.origin(n, path), shown(n), allowed, format, args...)
}

// shown renders a node for an error message: scalars as written, other
// nodes by their kind.
func shown(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return quote(n.Value)
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "an object"
	}
	return ""
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return n.Content[0]
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// decode stores n into v, which must be settable. tag carries the field's
// enum/check constraints.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if v.CanAddr() {
		switch u := v.Addr().Interface().(type) {
		case nodeDecoder:
			u.decodeNode(d, n, path)
			return
		case yaml.Unmarshaler:
			if err := u.UnmarshalYAML(n); err != nil {
				d.fail(n, path, "", "%v", err)
			}
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), path, tag)
		v.Set(elem)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			if d.constrain(n, s, path, tag) {
				v.SetString(s)
			}
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false"); ok {
			b, ok := parseBool(s)
			if !ok {
				d.fail(n, path, "allowed: true or false", "must be a boolean")
				return
			}
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if s, ok := d.scalar(n, path, "an integer"); ok {
			i, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				d.fail(n, path, "allowed: an integer", "must be an integer")
				return
			}
			if d.constrain(n, s, path, tag) {
				v.SetInt(i)
			}
		}
	case reflect.Float64:
		if s, ok := d.scalar(n, path, "a number"); ok {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				d.fail(n, path, "allowed: a number", "must be a number")
				return
			}
			v.SetFloat(f)
		}
	case reflect.Slice:
		d.decodeSlice(n, v, path, tag)
	case reflect.Map:
		d.decodeMap(n, v, path, tag)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.fail(n, path, "", "cannot read value: %v", err)
			return
		}
		v.Set(reflect.ValueOf(normalize(x)))
	default:
		d.fail(n, path, "", "unsupported parameter type %s", v.Type())
	}
}

func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "allowed: "+want, "must be %s, not %s", want, shown(n))
		return "", false
	}
	return n.Value, true
}

// constrain applies the enum and check tags of a field.
func (d *decoder) constrain(n *yaml.Node, s, path string, tag reflect.StructTag) bool {
	if enum := tag.Get("enum"); enum != "" {
		allowed := strings.Split(enum, ",")
		for _, a := range allowed {
			if s == a {
				return true
			}
		}
		d.fail(n, path, "allowed: "+strings.Join(allowed, ", "), "invalid value")
		return false
	}
	if name := tag.Get("check"); name != "" {
		chk, ok := checks[name]
		if !ok {
			d.fail(n, path, "", "internal error: no check named %q", name)
			return false
		}
		if err := chk.fn(s); err != nil {
			d.fail(n, path, chk.allowed, "%v", err)
			return false
		}
	}
	return true
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "allowed: a list", "must be a list")
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		elem := reflect.New(v.Type().Elem()).Elem()
		if df, ok := elem.Addr().Interface().(defaulter); ok {
			df.setDefaults()
		}
		d.decode(item, elem, fmt.Sprintf("%s[%d]", path, i), tag)
		out = reflect.Append(out, elem)
	}
	v.Set(out)
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "allowed: an object", "must be an object (key: value)")
		return
	}
	out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	kt := v.Type().Key()
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		key := reflect.New(kt).Elem()
		switch kt.Kind() {
		case reflect.String:
			key.SetString(kn.Value)
		case reflect.Int:
			k, err := strconv.Atoi(kn.Value)
			if err != nil {
				d.fail(kn, path, "allowed: an integer key", "key must be an integer")
				continue
			}
			key.SetInt(int64(k))
		default:
			d.fail(kn, path, "", "unsupported key type %s", kt)
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		if df, ok := elem.Addr().Interface().(defaulter); ok {
			df.setDefaults()
		}
		d.decode(vn, elem, keyPath(path, kn.Value), tag)
		out.SetMapIndex(key, elem)
	}
	v.Set(out)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "allowed: an object", "must be an object (key: value)")
		return
	}
	t := v.Type()
	si := fieldsOf(t)
	seen := map[string]bool{}
	at := d.origin(n, path)
	at.fields = map[string]Pos{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		idx, ok := si.byName[kn.Value]
		if !ok {
			d.unknownKey(kn, path, kn.Value, si.names)
			continue
		}
		seen[kn.Value] = true
		if r := resolve(vn); r != nil {
			at.fields[kn.Value] = Pos{File: d.file, Line: r.Line, Col: r.Column}
		}
		f := v.Field(idx)
		f.Set(reflect.Zero(f.Type()))
		d.decode(vn, f, keyPath(path, kn.Value), t.Field(idx).Tag)
	}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Type == originType {
			v.Field(i).Set(reflect.ValueOf(at))
		}
		if name := yamlName(sf); name != "" && sf.Tag.Get("required") == "true" && !seen[name] {
			d.c.errorf(d.origin(n, path), "", "", "missing required field %q", name)
		}
	}
}

func (d *decoder) unknownKey(kn *yaml.Node, path, key string, known []string) {
	allowed := ""
	if s := suggest(key, known); s != "" {
		allowed = fmt.Sprintf("did you mean %q?", s)
	} else if len(known) <= 24 {
		allowed = "allowed: " + strings.Join(known, ", ")
	}
	d.c.errorf(d.origin(kn, keyPath(path, key)), "", allowed, "unknown key %q", key)
}

// keyPath extends a field path. Keys holding dots (IP addresses) are
// bracketed so the path stays unambiguous.
func keyPath(path, key string) string {
	if strings.ContainsAny(key, ". ") {
		return path + "[" + key + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// parseBool accepts YAML 1.1 booleans as Ansible does.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "y":
		return true, true
	case "false", "no", "off", "n":
		return false, true
	}
	return false, false
}

// normalize turns yaml.v3's generic values into JSON-friendly ones.
func normalize(x any) any {
	switch t := x.(type) {
	case map[string]any:
		for k, v := range t {
			t[k] = normalize(v)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, v := range t {
			m[fmt.Sprint(k)] = normalize(v)
		}
		return m
	case []any:
		for i, v := range t {
			t[i] = normalize(v)
		}
		return t
	}
	return x
}
