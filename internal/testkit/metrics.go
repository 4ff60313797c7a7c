package testkit

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Sample is one series of a scrape.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Metrics are the samples of a scrape in the Prometheus text format.
type Metrics []Sample

// ParseMetrics reads an exposition in the text format; comments are
// skipped. It is strict about what pigsty's exporters write, so that a
// malformed line fails the test that scraped it.
func ParseMetrics(text string) (Metrics, error) {
	var out Metrics
	for i, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w: %q", i+1, err, line)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseSample(line string) (Sample, error) {
	s := Sample{Labels: map[string]string{}}
	end := strings.IndexAny(line, "{ ")
	if end <= 0 {
		return s, fmt.Errorf("no metric name")
	}
	s.Name, line = line[:end], line[end:]
	if line[0] == '{' {
		line = line[1:]
		for !strings.HasPrefix(line, "}") {
			eq := strings.Index(line, `="`)
			if eq <= 0 {
				return s, fmt.Errorf("bad label")
			}
			name := line[:eq]
			line = line[eq+2:]
			var v strings.Builder
			for {
				if line == "" {
					return s, fmt.Errorf("unterminated label value")
				}
				c := line[0]
				line = line[1:]
				if c == '"' {
					break
				}
				if c == '\\' && line != "" {
					switch line[0] {
					case 'n':
						c = '\n'
					default:
						c = line[0]
					}
					line = line[1:]
				}
				v.WriteByte(c)
			}
			s.Labels[name] = v.String()
			line = strings.TrimPrefix(line, ",")
		}
		line = line[1:]
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(line), 64)
	if err != nil {
		return s, fmt.Errorf("bad value")
	}
	s.Value = f
	return s, nil
}

// Find returns the samples of a metric whose labels include want.
func (m Metrics) Find(name string, want map[string]string) Metrics {
	var out Metrics
	for _, s := range m {
		if s.Name != name {
			continue
		}
		ok := true
		for k, v := range want {
			if s.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// One is the value of the single sample of name with labels want; it
// fails the test when there is not exactly one.
func (m Metrics) One(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	found := m.Find(name, want)
	if len(found) != 1 {
		t.Fatalf("%s%v: %d samples, want 1", name, want, len(found))
		return 0
	}
	return found[0].Value
}

// Names is the set of metric names.
func (m Metrics) Names() map[string]int {
	out := map[string]int{}
	for _, s := range m {
		out[s.Name]++
	}
	return out
}

// Promtool runs `promtool check metrics` (Debian's prometheus package) on
// an exposition. The exposition must parse; lint findings are returned,
// minus those allowed: pattern → why, for names the exporters keep
// because dashboards and rules use them. A test without promtool skips.
func Promtool(t *testing.T, text string, allowed map[string]string) []string {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian: apt-get install prometheus)")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 3) {
		// 3 is lint findings; anything else is an exposition promtool cannot read
		t.Fatalf("promtool check metrics: %v\n%s", err, out.String())
	}
	var res []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		ok := false
		for pattern := range allowed {
			if regexp.MustCompile(pattern).MatchString(line) {
				ok = true
				break
			}
		}
		if !ok {
			res = append(res, line)
		}
	}
	return res
}
