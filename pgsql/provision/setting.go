package provision

import (
	"fmt"
	"sort"
	"strings"

	"pigsty/pgsql/inventory"
)

// listSettings are the parameters PostgreSQL reads as a list of quoted
// names (GUC_LIST_QUOTE): a single string constant would become one
// element, so "app,public" is given as 'app', 'public'.
var listSettings = map[string]bool{
	"search_path":               true,
	"temp_tablespaces":          true,
	"session_preload_libraries": true,
	"local_preload_libraries":   true,
}

// setting renders ALTER <target> SET for one role or database parameter;
// the value DEFAULT (any case) resets it instead.
func setting(target, key string, value inventory.Scalar) string {
	key = strings.ToLower(key)
	name := ident(strings.Split(key, ".")...)
	v := string(value)
	if strings.EqualFold(v, "DEFAULT") {
		return fmt.Sprintf("ALTER %s RESET %s;", target, name)
	}
	if !listSettings[key] {
		return fmt.Sprintf("ALTER %s SET %s = %s;", target, name, literal(v))
	}
	var items []string
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if len(item) >= 2 && item[0] == '"' && item[len(item)-1] == '"' {
			item = item[1 : len(item)-1]
		}
		items = append(items, literal(item))
	}
	return fmt.Sprintf("ALTER %s SET %s = %s;", target, name, strings.Join(items, ", "))
}

func sortedKeys(m map[string]inventory.Scalar) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func hasKey(m map[string]inventory.Scalar, key string) bool {
	for k := range m {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// withKey returns a copy of m with one more entry: the inventory's maps
// are shared and must not change.
func withKey(m map[string]inventory.Scalar, key string, v inventory.Scalar) map[string]inventory.Scalar {
	out := make(map[string]inventory.Scalar, len(m)+1)
	for k, val := range m {
		out[k] = val
	}
	out[key] = v
	return out
}
