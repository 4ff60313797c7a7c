package targets

import (
	"encoding/json"
	"os"
	"testing"

	"pigsty/internal/testkit"
	"pigsty/pgsql/inventory"
)

// Every instance, host, etcd member, remote exporter and store is a
// target of its job with cls, ins and ip; what a host does not run is
// not scraped.
func TestDiscover(t *testing.T) {
	raw, err := os.ReadFile("testdata/pg-test.yml")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Parse("pg-test.yml", raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs := Discover(inv, []Remote{{Cls: "pg-rds", Ins: "pg-rds-1", IP: "10.10.10.40", Addr: "10.10.10.10:20001"}}, 8428)
	for _, job := range Jobs {
		if _, ok := jobs[job]; !ok {
			t.Errorf("job %s missing", job)
		}
		for _, g := range jobs[job] {
			if g.Labels["cls"] == "" || g.Labels["ins"] == "" || g.Labels["ip"] == "" {
				t.Errorf("job %s: %v lacks cls, ins or ip", job, g)
			}
		}
	}
	out, err := json.MarshalIndent(jobs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "pg-test.targets.json", append(out, '\n'))
}
