package inventory

import (
	"reflect"
)

// Vars returns the host's parameters by name, as Ansible's hostvars: what
// service selectors and `config show` see.
func (p *Params) Vars() map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(p).Elem()
	for i := 0; i < paramsType.NumField(); i++ {
		name := yamlName(paramsType.Field(i))
		if name == "" {
			continue
		}
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && f.IsNil() {
			continue
		}
		out[name] = f.Interface()
	}
	return out
}

// selectorVars is what a service selector sees of a member: its
// variables as JSON values, and its address as inventory_hostname.
func (i *Instance) selectorVars() map[string]any {
	m := i.Params.Vars()
	m["inventory_hostname"] = i.IP
	m["ip"] = i.IP
	out, err := jsonVars(m)
	if err != nil {
		// Params holds only JSON-encodable values; keep the identity at least.
		return map[string]any{"inventory_hostname": i.IP, "ip": i.IP, "pg_role": i.Role, "pg_seq": float64(i.Seq)}
	}
	return out
}
