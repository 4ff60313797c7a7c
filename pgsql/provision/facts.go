package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Facts is what a plan needs to know of the live server.
type Facts struct {
	Version int // server major version (15, 16, …); 0 means pg_version
	// Extensions are those the server can install; nil means every one.
	Extensions map[string]bool
	Roles      map[string]bool         // roles that exist
	Databases  map[string]DatabaseFact // databases that exist
	// PendingRestart are the settings changed in the configuration that
	// the running server applies only when restarted.
	PendingRestart []string
}

// DatabaseFact is one database as the server has it.
type DatabaseFact struct {
	Owner          string `json:"owner"`
	Encoding       string `json:"encoding"`
	Collate        string `json:"collate"`
	Ctype          string `json:"ctype"`
	LocaleProvider string `json:"locale_provider"` // libc, icu, builtin
	IcuLocale      string `json:"icu_locale"`
	IsTemplate     bool   `json:"is_template"`
	AllowConn      bool   `json:"allow_conn"`
	Tablespace     string `json:"tablespace"`
}

// factsQuery reads the facts as one JSON document. Columns that differ
// between majors (daticulocale became datlocale in 17) are read from the
// row as JSON, so one query serves every version.
const factsQuery = `SELECT json_build_object(
  'version', current_setting('server_version_num')::int / 10000,
  'extensions', (SELECT coalesce(json_agg(name), '[]') FROM pg_catalog.pg_available_extensions),
  'roles', (SELECT coalesce(json_agg(rolname), '[]') FROM pg_catalog.pg_roles),
  'pending_restart', (SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM pg_catalog.pg_settings WHERE pending_restart),
  'databases', (SELECT coalesce(json_object_agg(d.datname, json_build_object(
      'owner', pg_catalog.pg_get_userbyid(d.datdba),
      'encoding', pg_catalog.pg_encoding_to_char(d.encoding),
      'collate', d.datcollate, 'ctype', d.datctype,
      'locale_provider', CASE to_jsonb(d)->>'datlocprovider' WHEN 'i' THEN 'icu' WHEN 'b' THEN 'builtin' ELSE 'libc' END,
      'icu_locale', coalesce(to_jsonb(d)->>'daticulocale', to_jsonb(d)->>'datlocale', ''),
      'is_template', d.datistemplate, 'allow_conn', d.datallowconn, 'tablespace', t.spcname)), '{}')
    FROM pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace))::text`

// ReadFacts reads the facts of the server conn is connected to.
func ReadFacts(ctx context.Context, conn Conn) (Facts, error) {
	var raw struct {
		Version        int                     `json:"version"`
		Extensions     []string                `json:"extensions"`
		Roles          []string                `json:"roles"`
		PendingRestart []string                `json:"pending_restart"`
		Databases      map[string]DatabaseFact `json:"databases"`
	}
	var doc string
	if err := conn.QueryRow(ctx, factsQuery).Scan(&doc); err != nil {
		return Facts{}, fmt.Errorf("read the server's roles and databases: %w", err)
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return Facts{}, fmt.Errorf("read the server's roles and databases: %w", err)
	}
	f := Facts{Version: raw.Version, Extensions: map[string]bool{}, Roles: map[string]bool{},
		Databases: raw.Databases, PendingRestart: raw.PendingRestart}
	for _, e := range raw.Extensions {
		f.Extensions[e] = true
	}
	for _, r := range raw.Roles {
		f.Roles[r] = true
	}
	if f.Databases == nil {
		f.Databases = map[string]DatabaseFact{}
	}
	return f, nil
}

// sameEncoding compares encoding names as PostgreSQL does (UTF-8 = utf8).
func sameEncoding(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "")) }
	return norm(a) == norm(b)
}

// sameLocale compares locale names up to the spelling of the codeset
// (en_US.UTF-8 = en_US.utf8).
func sameLocale(a, b string) bool {
	norm := func(s string) string {
		name, codeset, ok := strings.Cut(s, ".")
		if !ok {
			return s
		}
		return name + "." + strings.ToLower(strings.ReplaceAll(codeset, "-", ""))
	}
	return norm(a) == norm(b)
}
