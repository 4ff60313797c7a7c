package metrics

import (
	"fmt"
	"strings"
	"time"
)

// Job is one scrape job of the store.
type Job struct {
	Name   string
	Scheme string // "" is http
	CAFile string // https: the CA that signed the targets' certificates
}

// ScrapeConfig renders the store's Prometheus scrape config: one job per
// entry of jobs, whose targets come from the HTTP service discovery
// endpoint sd/<job> (see package targets), so that no target file is
// ever written by hand.
func ScrapeConfig(interval, timeout time.Duration, sd string, jobs []Job) []byte {
	var b strings.Builder
	b.WriteString("# written by pigsty: the jobs of the metrics store; targets come from the infra API\n")
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n", promDuration(interval), promDuration(timeout))
	b.WriteString("scrape_configs:\n")
	sd = strings.TrimSuffix(sd, "/")
	for _, job := range jobs {
		fmt.Fprintf(&b, "  - job_name: %s\n", job.Name)
		if job.Scheme != "" && job.Scheme != "http" {
			fmt.Fprintf(&b, "    scheme: %s\n", job.Scheme)
		}
		if job.CAFile != "" {
			fmt.Fprintf(&b, "    tls_config:\n      ca_file: %s\n", job.CAFile)
		}
		fmt.Fprintf(&b, "    http_sd_configs:\n      - url: %s/%s\n", sd, job.Name)
	}
	return []byte(b.String())
}

// promDuration writes d as Prometheus does (10s, 1m30s, 500ms).
func promDuration(d time.Duration) string {
	if d%time.Second != 0 {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	s := int64(d / time.Second)
	var out string
	for _, u := range []struct {
		n    int64
		unit string
	}{{3600, "h"}, {60, "m"}, {1, "s"}} {
		if s >= u.n {
			out += fmt.Sprintf("%d%s", s/u.n, u.unit)
			s %= u.n
		}
	}
	if out == "" {
		return "0s"
	}
	return out
}
