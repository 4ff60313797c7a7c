package inventory

import (
	"strings"

	"pigsty/pgsql/tune"
)

// builtinTemplate reports whether pg_conf names one of the tuning
// templates (oltp.yml, olap.yml, crit.yml, tiny.yml).
func builtinTemplate(conf string) bool {
	return contains(tune.Templates(), TemplateName(conf))
}

// TemplateName is pg_conf without its .yml suffix, as the tuning engine
// names templates.
func TemplateName(conf string) string { return strings.TrimSuffix(conf, ".yml") }

func templateFiles() []string {
	var out []string
	for _, t := range tune.Templates() {
		out = append(out, t+".yml")
	}
	return out
}

func checkRTO(rto string) error {
	_, err := tune.ParsePlan(rto)
	return err
}
