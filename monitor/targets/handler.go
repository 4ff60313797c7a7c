package targets

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
)

// Handler serves the targets of a job, GET <prefix>/{job}, in Prometheus'
// HTTP service discovery format; the metrics store polls it every few
// seconds.
type Handler struct {
	jobs atomic.Pointer[map[string][]Group]
}

// Set replaces every job's targets.
func (h *Handler) Set(jobs map[string][]Group) { h.jobs.Store(&jobs) }

// Get returns a job's targets, nil before the first Set.
func (h *Handler) Get(job string) []Group {
	if m := h.jobs.Load(); m != nil {
		return (*m)[job]
	}
	return nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := h.jobs.Load()
	if m == nil {
		// Not known yet: an error keeps the store's current targets,
		// where an empty list would drop them.
		http.Error(w, "targets not known yet", http.StatusServiceUnavailable)
		return
	}
	groups, ok := (*m)[r.PathValue("job")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(groups)
}
