package join

import (
	"fmt"
	"net/http"
	"os"
	"strings"
)

// installer is what `curl -fsSL http://<infra>:9443/get | sh -s -- join
// --token …` runs: it fetches this binary from the infra host and runs it,
// giving `join` the infra address it came from.
const installer = `#!/bin/sh
# pigsty installer, served by the infra host %[1]s
set -eu
bin=/usr/local/bin/pigsty
tmp=$(mktemp "$bin.XXXXXX")
trap 'rm -f "$tmp"' EXIT
echo "fetching pigsty from %[1]s"
curl -fsSL "http://%[1]s/get/pigsty" -o "$tmp"
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT
if [ "${1:-}" = join ]; then
	shift
	exec "$bin" join %[1]s "$@"
fi
exec "$bin" "$@"
`

// GetHandler serves the installer at /get and this binary at /get/pigsty.
func GetHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if host == "" || strings.ContainsAny(host, " '\"$`\\;&|<>") {
			http.Error(w, "bad Host header", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/x-shellscript")
		fmt.Fprintf(w, installer, host)
	})
	mux.HandleFunc("GET /get/pigsty", func(w http.ResponseWriter, r *http.Request) {
		exe, err := os.Executable()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeFile(w, r, exe)
	})
	return mux
}
