package metrics

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pigsty/internal/testkit"
)

func TestScrapeConfig(t *testing.T) {
	got := ScrapeConfig(ScrapeInterval, ScrapeTimeout, "http://10.10.10.10:9060/api/v1/sd/", []Job{
		{Name: "pgsql"}, {Name: "node"}, {Name: "etcd", Scheme: "https", CAFile: "/var/lib/pigsty/pki/ca.crt"}, {Name: "pgrds"}, {Name: "infra"},
	})
	testkit.Golden(t, "scrape.yml", got)
	if d := promDuration(90*time.Second + 500*time.Millisecond); d != "90500ms" {
		t.Errorf("promDuration: %s", d)
	}
	if d := promDuration(90 * time.Second); d != "1m30s" {
		t.Errorf("promDuration: %s", d)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	good := Config{Listen: []string{"10.10.10.10:8428", "127.0.0.1:8428"}, DataDir: "/data/infra/metrics", Retention: Retention,
		ScrapeConfig: "/var/lib/pigsty/metrics/scrape.yml", MemoryPercent: 10}
	path := filepath.Join(dir, "metrics.yml")
	if changed, err := WriteConfig(path, good); err != nil || !changed {
		t.Fatalf("first write: %v %v", changed, err)
	}
	if changed, err := WriteConfig(path, good); err != nil || changed {
		t.Fatalf("same config again: %v %v", changed, err)
	}
	back, err := ReadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.URL() != "http://10.10.10.10:8428" || back.Retention != "15d" || len(back.Listen) != 2 {
		t.Errorf("read back %+v", back)
	}
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Retention = "12h" }, `retention "12h": at least 1d`},
		{func(c *Config) { c.Retention = "15 days" }, `retention "15 days": want a number`},
		{func(c *Config) { c.Listen = []string{":8428"} }, `listen ":8428": want ip:port`},
		{func(c *Config) { c.DataDir = "data" }, `data_dir "data" is not an absolute path`},
		{func(c *Config) { c.MemoryPercent = 0 }, "memory_percent 0"},
	} {
		c := good
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	for _, ok := range []string{"1d", "24h", "2w", "3M", "1y", "1"} {
		c := good
		c.Retention = ok
		if err := c.Validate(); err != nil {
			t.Errorf("retention %s: %v", ok, err)
		}
	}
}

func TestWriteSample(t *testing.T) {
	var b bytes.Buffer
	ts := time.UnixMilli(1700000000123)
	WriteSample(&b, Sample{Labels: map[string]string{"__name__": "pg:db:age", "ins": "pg-meta-1", "datname": "a\"b\\c\nd"}, Value: 0.5, Time: ts})
	WriteSample(&b, Sample{Labels: map[string]string{"__name__": "x"}, Value: math.NaN(), Time: ts})
	WriteSample(&b, Sample{Labels: map[string]string{"__name__": "y", "a": "1"}, Value: math.Inf(-1), Time: ts})
	want := "pg:db:age{datname=\"a\\\"b\\\\c\\nd\",ins=\"pg-meta-1\"} 0.5 1700000000123\nx NaN 1700000000123\ny{a=\"1\"} -Inf 1700000000123\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
