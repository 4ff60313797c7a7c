package facts

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const policyOutput = `postgresql-13:
  Installed: (none)
  Candidate: (none)
  Version table:
postgresql-15:
  Installed: 15.18-0+deb12u1
  Candidate: 15.20-0+deb12u1
  Version table:
     15.20-0+deb12u1 500
        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
 *** 15.18-0+deb12u1 500
        100 /var/lib/dpkg/status
postgresql-16:
  Installed: 16.4-1.pgdg120+1
  Candidate: (none)
  Version table:
postgresql-18:
  Installed: (none)
  Candidate: 18.1-1.pgdg120+2
  Version table:
     18.1-1.pgdg120+2 500
        500 http://apt.postgresql.org/pub/repos/apt bookworm-pgdg/main amd64 Packages
`

func TestInstallablePGVersionsFake(t *testing.T) {
	var calls []string
	h := host{run: func(_ context.Context, name string, args ...string) ([]byte, error) {
		calls = append(calls, name+" "+strings.Join(args, " "))
		if args[0] == "pkgnames" {
			return []byte("postgresql-15-repack\npostgresql-18\npostgresql-common\npostgresql-15\npostgresql-13\npostgresql-16\npostgresql-9.6\npostgresql-client-15\n"), nil
		}
		return []byte(policyOutput), nil
	}}
	got, err := h.pgVersions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{18, 16, 15}) {
		t.Errorf("got %v, want [18 16 15]", got)
	}
	want := []string{"apt-cache pkgnames postgresql-", "apt-cache policy postgresql-13 postgresql-15 postgresql-16 postgresql-18"}
	if !slices.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
}

func TestInstallablePGVersionsNone(t *testing.T) {
	h := host{run: func(_ context.Context, _ string, args ...string) ([]byte, error) {
		if args[0] != "pkgnames" {
			t.Errorf("policy asked with no server packages")
		}
		return []byte("postgresql-common\n"), nil
	}}
	got, err := h.pgVersions(context.Background())
	if err != nil || len(got) != 0 {
		t.Errorf("got %v, %v; want none", got, err)
	}
}

func TestInstallablePGVersionsError(t *testing.T) {
	h := host{run: func(context.Context, string, ...string) ([]byte, error) {
		return nil, errors.New("apt-cache not found (only Debian-family hosts are supported)")
	}}
	if _, err := h.pgVersions(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "postgresql versions: ") {
		t.Errorf("error %v", err)
	}
	if _, err := runCommand(context.Background(), "no-such-command-here"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing command: error %v", err)
	}
}

func TestInstallablePGVersionsThisHost(t *testing.T) {
	if _, err := exec.LookPath("apt-cache"); err != nil {
		t.Skip("not a Debian-family host")
	}
	got, err := InstallablePGVersions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(got, func(a, b int) int { return b - a }) {
		t.Errorf("not newest first: %v", got)
	}
	for _, v := range got {
		if v < 9 || v > 99 {
			t.Errorf("implausible major %d in %v", v, got)
		}
	}
	t.Logf("installable: %v", got)
}
