package install

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// fakeApt answers from recorded apt-cache output and refuses to change
// anything.
type fakeApt struct {
	policy  map[string]candidate
	names   []string
	targets []indexTarget
	updates int
}

func (f *fakeApt) Policy(_ context.Context, names []string) (map[string]candidate, error) {
	out := map[string]candidate{}
	for _, n := range names {
		if c, ok := f.policy[n]; ok {
			out[n] = c
		}
	}
	return out, nil
}

func (f *fakeApt) Names(_ context.Context, prefix string) ([]string, error) {
	var out []string
	for _, n := range f.names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (f *fakeApt) Targets(context.Context) ([]indexTarget, error) { return f.targets, nil }
func (f *fakeApt) Update(context.Context) error                   { f.updates++; return nil }
func (f *fakeApt) Simulate(context.Context, []string) ([]change, error) {
	return nil, errors.New("fake apt: simulate")
}
func (f *fakeApt) Install(context.Context, []string) error { return errors.New("fake apt: install") }
func (f *fakeApt) Download(context.Context, string, []string) error {
	return errors.New("fake apt: download")
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// bookwormApt is Debian 12 as recorded: postgresql-15 installed, no
// pgvector, no PG 17, patroni 3.0.2.
func bookwormApt(t *testing.T) *fakeApt {
	return &fakeApt{
		policy: parsePolicy(fixture(t, "policy-bookworm.txt")),
		names:  strings.Fields(fixture(t, "pkgnames-postgresql.txt")),
	}
}

// trixieSource is the private Debian 13 source as recorded.
func trixieSource(t *testing.T) *privateSource {
	return &privateSource{
		repo: pkgmapRepo("patroni-trixie", "trixie", "patroni", "python3-ydiff"),
		apt:  &fakeApt{policy: parsePolicy(fixture(t, "policy-trixie-private.txt"))},
	}
}
