// Package assets holds the files the binary carries: inventory templates
// and examples, and (later) collector configs, rules, SQL and scripts.
package assets

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed conf
var files embed.FS

// Conf returns an inventory template of conf/, by name with or without
// the .yml suffix ("meta", "ha", "standby", "delayed", "citus").
func Conf(name string) ([]byte, error) {
	return files.ReadFile("conf/" + strings.TrimSuffix(name, ".yml") + ".yml")
}

// Confs lists the inventory templates.
func Confs() []string {
	entries, _ := fs.ReadDir(files, "conf")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yml"))
	}
	sort.Strings(out)
	return out
}
