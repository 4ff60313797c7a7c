package pgbackrest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pigsty/internal/testkit"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
)

// ossRepo is the documentation's custom S3 repository (Aliyun OSS),
// with the cluster's name in its path.
const ossRepo = `{"pgbackrest_method": "oss", "pg_port": 15432, "pgbackrest_repo": {"oss": {
  "type": "s3", "s3_endpoint": "oss-cn-beijing-internal.aliyuncs.com", "s3_region": "oss-cn-beijing",
  "s3_bucket": "pigsty-oss", "s3_key": "xxxx", "s3_key_secret": "yyyy", "s3_uri_style": "host",
  "path": "/pgbackrest/${pg_cluster}", "bundle": "y", "cipher_type": "aes-256-cbc", "cipher_pass": "PG.${pg_cluster}",
  "retention_full_type": "time", "retention_full": 14}}}`

func TestGolden(t *testing.T) {
	for _, g := range []struct {
		name, root string
		cpu        int
		extra      []string
	}{
		{"local", "/", 2, nil},
		{"local-under-root", "/srv/hosts/n1", 16, nil},
		{"minio", "/", 8, []string{"pgbackrest_method=minio"}},
		{"oss", "/", 64, []string{ossRepo}},
	} {
		t.Run(g.name, func(t *testing.T) {
			i := testkit.Instance(t, "meta", "pg-meta-1", g.extra...)
			out, err := Render(Input{Instance: i, Layout: layout.New(g.root, i), CPU: g.cpu})
			if err != nil {
				t.Fatal(err)
			}
			testkit.Golden(t, g.name, out)
		})
	}
}

func TestRenderRefuses(t *testing.T) {
	for _, c := range []struct {
		name, extra, want string
	}{
		{"unknown method", `{"pgbackrest_enabled": false, "pgbackrest_method": "nas"}`, `pgbackrest_method "nas" names no repo`},
		{"bad key", `{"pgbackrest_repo": {"local": {"path": "/pg/backup", "Retention-Full": 2}}}`, `key "Retention-Full"`},
		{"two lines", `{"pgbackrest_repo": {"local": {"path": "/pg/backup\nrepo2-path=/x"}}}`, "path: a value must be one line"},
	} {
		t.Run(c.name, func(t *testing.T) {
			i := testkit.Instance(t, "meta", "pg-meta-1", c.extra)
			_, err := Render(Input{Instance: i, Layout: layout.New("/", i), CPU: 2})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestRepoOptionsPaths(t *testing.T) {
	i := testkit.Instance(t, "meta", "pg-meta-1")
	l := layout.New("/srv/h2", i)
	got, err := RepoOptions(map[string]inventory.Scalar{
		"type": "s3", "path": "/pgbackrest", "storage_ca_file": "/etc/pki/ca.crt",
	}, 2, "pg-meta", l)
	if err != nil {
		t.Fatal(err)
	}
	want := "repo2-path=/pgbackrest repo2-storage-ca-file=/srv/h2/etc/pki/ca.crt repo2-type=s3"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, " "), want)
	}
}

// TestGoldensLoad has the distribution's pgBackRest read every golden
// file: an option it does not know is reported as an invalid option.
func TestGoldensLoad(t *testing.T) {
	if _, err := os.Stat(Binary); err != nil {
		t.Skip("pgBackRest is not installed")
	}
	goldens, _ := filepath.Glob("testdata/*.golden")
	for _, g := range goldens {
		g, _ = filepath.Abs(g)
		cmd := exec.Command(Binary, "--config="+g, "--stanza=pg-meta", "--log-level-file=off", "--io-timeout=1", "info")
		cmd.Dir = t.TempDir()
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "stanza: pg-meta") || strings.Contains(string(out), "invalid") {
			t.Errorf("%s: pgbackrest info says:\n%s", g, out)
		}
	}
}
