package patroni

import (
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Patroni reads its configuration with PyYAML, which follows YAML 1.1: a
// plain "on", "0640", "1:30" or "2024-01-01" is a bool, a number or a date
// there, while the Go encoder (YAML 1.2) may leave some of them plain. These
// are PyYAML's implicit resolvers; a string scalar matching one is quoted.
var pyYAMLImplicit = regexp.MustCompile(`^(?:` + strings.Join([]string{
	// bool
	`yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF`,
	// float
	`[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)`,
	// int
	`[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+`,
	// merge, null, value
	`<<|~|null|Null|NULL|=|`,
	// timestamp
	`[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?`,
}, "|") + `)$`)

// quoteForPyYAML double-quotes every plain string scalar of the tree that
// PyYAML would not read back as that string.
func quoteForPyYAML(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Style == 0 && n.ShortTag() == "!!str" && pyYAMLImplicit.MatchString(n.Value) {
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		quoteForPyYAML(c)
	}
}
